import http from "node:http";
import zlib from "node:zlib";
import type { Readable } from "node:stream";

/**
 * The open tabs of `npm run bench:scale`, in a process of their own (so that the app's process and
 * this one each hold their own sockets, and their CPU is told apart): one server-sent events stream
 * (GET /api/session/events) per tab, with its session's cookie and the headers a browser's
 * EventSource sends. Driven over IPC by bench-scale.ts (TabClient there):
 * - `open`: opens the streams, `concurrency` at a time, each counted once its `ready` event is in;
 *   answers `opened` with the counts;
 * - while open, each `ended` event is reported (batched) with the tab, when it arrived here and the
 *   ending's own time (`at` in its data, ms): both on this machine's clock;
 * - `stats`: how many streams are open, ended, closed without `ended`, failed;
 * - `close`: closes every stream and exits.
 */

type OpenCommand = {
  type: "open";
  port: number;
  host: string;
  cookies: string[];
  concurrency: number;
  timeoutMs: number;
  /** Accept-Encoding: what a browser sends, or "identity". */
  acceptEncoding: string;
};
type Command = OpenCommand | { type: "stats" } | { type: "close" };

type Tab = { request: http.ClientRequest; ended: boolean; closed: boolean };

const tabs: Tab[] = [];
let endedCount = 0;
let closedEarly = 0;
let failed = 0;
const statuses: Record<string, number> = {};
/** Content-Encoding of the streams, as the server chose it. */
const encodings: Record<string, number> = {};
/** [tab, arrived at (ms), the ending's `at` (ms), reason] */
let pending: [number, number, number, string][] = [];

function send(message: unknown): void {
  process.send?.(message);
}

setInterval(() => {
  if (pending.length === 0) return;
  send({ type: "ended", events: pending });
  pending = [];
}, 50).unref();

/** Opens one tab's stream; resolves once its `ready` event is in (true), or it failed (false). */
function openTab(index: number, command: OpenCommand): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!ok) failed += 1;
      resolve(ok);
    };
    const request = http.request({
      host: "127.0.0.1",
      port: command.port,
      path: "/api/session/events",
      agent: false,
      headers: {
        host: command.host,
        cookie: command.cookies[index]!,
        accept: "text/event-stream",
        "cache-control": "no-cache",
        "accept-encoding": command.acceptEncoding,
      },
    });
    const tab: Tab = { request, ended: false, closed: false };
    tabs[index] = tab;
    const timer = setTimeout(() => {
      request.destroy();
      settle(false);
    }, command.timeoutMs);
    request.on("error", () => {
      tab.closed = true;
      settle(false);
    });
    request.on("response", (response) => {
      statuses[response.statusCode ?? 0] = (statuses[response.statusCode ?? 0] ?? 0) + 1;
      if (response.statusCode !== 200) {
        response.resume();
        settle(false);
        return;
      }
      // A compressed stream is decoded as it comes, as a browser does (the server flushes each event).
      const encoding = response.headers["content-encoding"];
      if (encoding) encodings[encoding] = (encodings[encoding] ?? 0) + 1;
      const body: Readable =
        encoding === "gzip"
          ? response.pipe(zlib.createGunzip({ finishFlush: zlib.constants.Z_SYNC_FLUSH }))
          : encoding === "deflate"
            ? response.pipe(zlib.createInflate({ finishFlush: zlib.constants.Z_SYNC_FLUSH }))
            : encoding === "br"
              ? response.pipe(zlib.createBrotliDecompress())
              : response;
      body.on("error", () => request.destroy());
      body.setEncoding("utf8");
      let buffer = "";
      body.on("data", (chunk: string) => {
        const arrived = Date.now();
        buffer += chunk;
        // Events end with a blank line; keep only an unfinished one.
        const cut = buffer.lastIndexOf("\n\n");
        if (cut < 0) return;
        const complete = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        if (complete.includes("event: ready")) settle(true);
        const ended = /event: ended\ndata: (.*)/.exec(complete);
        if (ended && !tab.ended) {
          tab.ended = true;
          endedCount += 1;
          const data = JSON.parse(ended[1]!) as { reason: string; at?: number };
          pending.push([index, arrived, data.at ?? NaN, data.reason]);
        }
      });
      body.on("close", () => {
        if (!tab.ended && !tab.closed && settled) closedEarly += 1;
        tab.closed = true;
        settle(false);
      });
    });
    request.end();
  });
}

async function open(command: OpenCommand): Promise<void> {
  let next = 0;
  let opened = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: command.concurrency }, async () => {
      while (next < command.cookies.length) {
        if (await openTab(next++, command)) opened += 1;
      }
    }),
  );
  send({ type: "opened", opened, failed, statuses, encodings, seconds: (performance.now() - start) / 1000 });
}

process.on("message", (message: Command) => {
  if (message.type === "open") void open(message);
  else if (message.type === "stats") {
    const open = tabs.filter((t) => t && !t.closed).length;
    send({ type: "stats", open, ended: endedCount, closedEarly, failed, statuses, encodings });
  } else if (message.type === "close") {
    for (const tab of tabs) tab?.request.destroy();
    process.exit(0);
  }
});
// The benchmark went away: so do the tabs.
process.on("disconnect", () => process.exit(0));
send({ type: "up" });
