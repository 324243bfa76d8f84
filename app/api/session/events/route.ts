import { route } from "@/lib/http/route";
import { currentSession, requireSession, sessionCookie } from "@/lib/session/current";
import { getServer } from "@/lib/compose/server";
import { atTime } from "@/lib/live/timer";
import { noteSeen } from "@/lib/session/last-seen";
import { HEARTBEAT_SECONDS } from "@/lib/liveness/plan";
import { hashId, securityLog } from "@/lib/log/security-log";
import type { Admission } from "@/lib/live/limits";
import { streamOpened, tabTold } from "@/lib/telemetry/endings";
import { detached } from "@/lib/telemetry/state";

export const dynamic = "force-dynamic";
export const runtime = "nodejs";

/**
 * Often enough for a tab to notice within seconds that its server is gone (a comment would not reach
 * its script); also the granularity of an open tab's liveness checks.
 */
const HEARTBEAT_MS = HEARTBEAT_SECONDS * 1000;
/**
 * How long a stream that sent `ended` stays open for its tab to close it first. The tab closes its
 * EventSource on `ended`, and closing a streamed response costs Next more than the write: a burst of
 * endings would otherwise wait on each other's closes.
 */
const CLOSE_AFTER_ENDED_MS = 5_000;
/**
 * Fails the stream once what was queued on it has been handed to the response (or after half a
 * second), with an AbortError: Next then destroys the response's connection, quietly.
 */
function dropOnceWritten(controller: ReadableStreamDefaultController<Uint8Array>, triesLeft = 50): void {
  const flushed = (controller.desiredSize ?? 0) > 0;
  setTimeout(() => {
    if (!flushed && triesLeft > 0) return dropOnceWritten(controller, triesLeft - 1);
    try {
      controller.error(new DOMException("The server is stopping", "AbortError"));
    } catch {
      // already closed by the client
    }
  }, 10).unref?.();
}

/** A refusal for a cap: its status and Retry-After, which the tab waits out before it asks again. */
function refused(admission: Exclude<Admission, { admitted: true }>, body: boolean): Response {
  const headers: Record<string, string> = { "Cache-Control": "no-store", "Retry-After": String(admission.retryAfter) };
  // A stopping process: the client's next request should open a connection to another instance.
  if (admission.code === "process_draining") headers.Connection = "close";
  if (!body) return new Response(null, { status: admission.status, headers });
  const descriptions: Record<typeof admission.code, string> = {
    session_streams_full: "This session has too many open live-update streams.",
    process_streams_full: "This server holds as many live-update streams as it may.",
    process_draining: "This server is stopping; ask again and another will answer.",
  };
  const description = descriptions[admission.code];
  return Response.json({ error: admission.code, error_description: description }, { status: admission.status, headers });
}

/**
 * HEAD /api/session/events: whether a stream would be admitted now, without opening one. 204 when it
 * would; otherwise what GET would answer (401 without a live session, 429 or 503 with Retry-After
 * at a cap). The tab asks this after its stream was refused, since EventSource cannot read a status.
 */
export const HEAD = route(async function HEAD(request: Request): Promise<Response> {
  const server = getServer();
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return new Response(null, { status: gate.response.status, headers: gate.response.headers });
  const full = server.liveStreams.peek(gate.session.id);
  return full ? refused(full, false) : new Response(null, { status: 204, headers: { "Cache-Control": "no-store" } });
});

/**
 * GET /api/session/events: server-sent events for the open tabs of a session. `ready`, then `ping`
 * every 5 s (the tab's "live" indicator), and one `ended` with `{"reason","mechanism","at"}` when the
 * session ends anywhere (any instance, any signal), or when it expires. 401 when there is no live session.
 * An open stream keeps the session's "last seen" fresh (at most one write a minute).
 * Limits: at most MAX_STREAMS_PER_SESSION streams per session on this process (429 beyond) and
 * LIVE_MAX_STREAMS in all (503 beyond), each with Retry-After; a stream lives at most
 * LIVE_STREAM_MAX_SECONDS (less up to a tenth), then sends `renew` and closes, and the tab opens another.
 * When the process stops (SIGTERM, lib/compose/shutdown.ts), every stream sends `renew` and its
 * connection is dropped at once, and new ones are answered 503 with Retry-After: 1 and Connection: close.
 */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  const { id, record } = gate.session;
  // Set once the stream has started: how it ends itself when this process stops (StreamLimits.drain).
  let drainNow = () => {};
  const admission = server.liveStreams.admit(id, () => drainNow());
  if (!admission.admitted) {
    securityLog({ event: "live.stream", outcome: "rejected", code: admission.code, session: hashId(id), open: server.liveStreams.open });
    return refused(admission, true);
  }
  const cookie = sessionCookie(server, request);
  const { hub } = server;
  const encoder = new TextEncoder();
  const lifeMs = server.config.LIVE_STREAM_MAX_SECONDS * 1000 * (1 - Math.random() * 0.1);

  // What ends this stream and releases its admission, whoever ends it (the client going away, an ending, its life).
  let stop: () => void = admission.release;
  const stream = new ReadableStream<Uint8Array>({
    cancel() {
      stop();
    },
    start(controller) {
      let closed = false;
      const cleanups: (() => void)[] = [admission.release];
      /** Stops the stream's work (subscription, heartbeat, timers, its admission); nothing more is sent. */
      const halt = () => {
        if (closed) return;
        closed = true;
        for (const cleanup of cleanups) cleanup();
      };
      const close = () => {
        halt();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      stop = close;
      const send = (text: string) => {
        if (closed) return;
        try {
          controller.enqueue(encoder.encode(text));
        } catch {
          close(); // the client is gone
        }
      };
      const ended = (event: { reason: string; mechanism?: string; at?: number }) => {
        if (!closed) tabTold(event);
        send(`event: ended\ndata: ${JSON.stringify({ reason: event.reason, mechanism: event.mechanism, at: event.at })}\n\n`);
        halt();
        setTimeout(close, CLOSE_AFTER_ENDED_MS).unref?.();
      };

      send(`retry: 1000\nevent: ready\ndata: ${JSON.stringify({ expiresAt: record.expiresAt })}\n\n`);
      cleanups.push(hub.subscribe(id, (event) => ended(event)));
      cleanups.push(streamOpened());
      const heartbeat = setInterval(() => {
        send("event: ping\ndata: {}\n\n");
        detached(noteSeen)(server.sessions, id);
        // An open tab keeps its session checked at the IdP (when liveness is on); an ending reaches
        // this stream through the hub like any other.
        void detached(() => server.liveness.ensure(id))();
      }, HEARTBEAT_MS);
      cleanups.push(() => clearInterval(heartbeat));
      cleanups.push(atTime(record.expiresAt, () => ended({ reason: "expired", at: record.expiresAt })));
      // The stream's longest life: the tab opens a new one at once, which passes the gate again.
      const renew = setTimeout(() => {
        send("event: renew\ndata: {}\n\n");
        close();
      }, lifeMs);
      cleanups.push(() => clearTimeout(renew));
      request.signal.addEventListener("abort", close);
      // This process stopping: `renew` as above, then the connection is dropped rather than left idle
      // for the client to reuse, since a stopping server waits for every connection it has. The tab's
      // new stream then reaches another instance.
      drainNow = () => {
        send("event: renew\ndata: {}\n\n");
        halt();
        dropOnceWritten(controller);
      };

      // The session may have ended between the check above and the subscription.
      void currentSession(server.gate, cookie)
        .then((again) => {
          if (again.state === "ended") ended({ reason: again.reason });
        })
        .catch(() => {});
    },
  });

  return new Response(stream, {
    // no-transform: Next leaves the stream uncompressed (a compressor's state per open stream is about 200 KB).
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-store, no-transform", "X-Accel-Buffering": "no" },
  });
});
