// Preloaded into the app's process by `npm run bench:scale` (NODE_OPTIONS=--import, see scale-support.ts).
// On SIGUSR2 it does what LOCKSTEP_SCALE_PROBE_FILE + ".cmd" asks:
// - "memory" (or no such file): a full garbage collection, then process.memoryUsage() written to
//   LOCKSTEP_SCALE_PROBE_FILE (and, with LOCKSTEP_SCALE_PROBE_SNAPSHOT=1, a heap snapshot beside it);
// - "profile-start" / "profile-stop": a CPU profile between the two, written beside it (.cpuprofile).
// Plain JavaScript: it runs before any TypeScript loader, inside `next start`.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector";
import { setFlagsFromString, writeHeapSnapshot } from "node:v8";
import { runInNewContext } from "node:vm";

const file = process.env.LOCKSTEP_SCALE_PROBE_FILE;

/** Writes `text` to `target` in one step (the benchmark reads it as soon as it appears). */
function publish(target, text) {
  writeFileSync(`${target}.tmp`, text);
  renameSync(`${target}.tmp`, target);
}

if (file) {
  // gc() for this probe only: the app's own globals do not get it.
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc");
  let session;
  process.on("SIGUSR2", () => {
    const command = existsSync(`${file}.cmd`) ? readFileSync(`${file}.cmd`, "utf8").trim() : "memory";
    if (command === "profile-start") {
      session = new Session();
      session.connect();
      session.post("Profiler.enable", () => session.post("Profiler.start", () => publish(file, JSON.stringify({ profiling: true }))));
    } else if (command === "profile-stop" && session) {
      session.post("Profiler.stop", (error, result) => {
        if (!error) writeFileSync(`${file}.${Date.now()}.cpuprofile`, JSON.stringify(result.profile));
        session.disconnect();
        session = undefined;
        publish(file, JSON.stringify({ profiling: false }));
      });
    } else {
      gc();
      const usage = process.memoryUsage();
      // LOCKSTEP_SCALE_PROBE_SNAPSHOT=1: also a heap snapshot beside the file, to see where the memory goes.
      if (process.env.LOCKSTEP_SCALE_PROBE_SNAPSHOT === "1") writeHeapSnapshot(`${file}.${Date.now()}.heapsnapshot`);
      publish(file, JSON.stringify(usage));
    }
  });
}
