import nextEnv from "@next/env";

/**
 * `npm run ssf -- <action>`: this app's stream at its SSF transmitter (SSF 1.0 §7–8). Reads the
 * same settings as the app (the environment, then .env.local and .env, as Next.js does).
 *
 *   discover                      show the transmitter's configuration (checks its issuer)
 *   register                      create the stream (or take over the existing one) and ask for verification
 *   read | status | verify | delete
 *   enable | pause | disable      update the stream's status
 *   add-subject '<json>' | remove-subject '<json>'
 *   poll [--loop]                 RFC 8936: fetch, act on and acknowledge SETs (once, or every 2 s)
 */
nextEnv.loadEnvConfig(process.cwd());
// This command runs no guard, so the edge guard's need for REST settings does not apply to it: with a
// native Redis (REDIS_URL or REDIS_CLUSTER_NODES) and no GUARD_RUNTIME given, it uses the Node
// variant's rules, whatever the app's build chose.
if (!process.env.GUARD_RUNTIME && (process.env.REDIS_URL || process.env.REDIS_CLUSTER_NODES)) process.env.GUARD_RUNTIME = "nodejs";
const { streamManager, pollStream, registerStream, ssfSettings } = await import("../lib/ssf/receiver");
const { getServer, closeServer } = await import("../lib/compose/server");
const server = getServer();
const { discoverTransmitter } = await import("../lib/ssf/transmitter-config");

const [action = "help", arg] = process.argv.slice(2);
// One line per result, so that scripts can read it (the security log shares stdout).
const print = (value: unknown) => console.log(typeof value === "string" ? value : JSON.stringify(value));

async function main(): Promise<void> {
  const settings = ssfSettings(server.config);
  if (!settings) throw new Error("SSF_ISSUER is not set: Shared Signals is off.");
  switch (action) {
    case "discover":
      return print(await discoverTransmitter(settings.issuer));
    case "register": {
      const stream = await registerStream(server);
      print({
        stream_id: stream.stream_id,
        aud: stream.aud,
        delivery: stream.delivery.method,
        events_delivered: stream.events_delivered?.length,
      });
      return print("verification requested");
    }
    case "read":
      return print(await streamManager(server).read());
    case "status":
      return print(await streamManager(server).status());
    case "verify":
      await streamManager(server).verify();
      return print("verification requested");
    case "delete":
      await streamManager(server).delete();
      return print("stream deleted");
    case "enable":
    case "pause":
    case "disable":
      await streamManager(server).setStatus(action === "pause" ? "paused" : (`${action}d` as "enabled" | "disabled"));
      return print(`stream ${action === "pause" ? "paused" : `${action}d`}`);
    case "add-subject":
    case "remove-subject": {
      if (!arg) throw new Error(`${action} needs a subject as JSON, e.g. '{"format":"email","email":"a@example.com"}'`);
      const subject = JSON.parse(arg) as Record<string, unknown>;
      await (action === "add-subject" ? streamManager(server).addSubject(subject) : streamManager(server).removeSubject(subject));
      return print(`${action === "add-subject" ? "added" : "removed"}`);
    }
    case "poll": {
      const loop = arg === "--loop";
      do {
        const result = await pollStream(server);
        if (result.received || !loop) print(result);
        if (loop) await new Promise((r) => setTimeout(r, 2000));
      } while (loop);
      return;
    }
    default:
      print(
        "usage: npm run ssf -- discover | register | read | status | verify | delete | enable | pause | disable | add-subject <json> | remove-subject <json> | poll [--loop]",
      );
  }
}

try {
  await main();
} catch (error) {
  console.error(`ssf: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  // With REDIS_URL the stores hold a TCP connection, which would keep this process alive.
  await closeServer();
}
