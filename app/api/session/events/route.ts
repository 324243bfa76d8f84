import { currentSession, requireSession, sessionCookie } from "@/lib/session/current";
import { getServer } from "@/lib/compose/node";
import { atTime } from "@/lib/live/timer";
import { noteSeen } from "@/lib/session/last-seen";
import { HEARTBEAT_SECONDS } from "@/lib/liveness/plan";
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
 * GET /api/session/events: server-sent events for the open tabs of a session. `ready`, then `ping`
 * every 5 s (the tab's "live" indicator), and one `ended` with `{"reason","mechanism","at"}` when the
 * session ends anywhere (any instance, any signal), or when it expires. 401 when there is no live session.
 * An open stream keeps the session's "last seen" fresh (at most one write a minute).
 */
export async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  const { id, record } = gate.session;
  const cookie = sessionCookie(server, request);
  const { hub } = server;
  const encoder = new TextEncoder();

  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      let closed = false;
      const cleanups: (() => void)[] = [];
      const close = () => {
        if (closed) return;
        closed = true;
        for (const cleanup of cleanups) cleanup();
        try {
          controller.close();
        } catch {
          // already closed by the client
        }
      };
      const send = (text: string) => {
        if (!closed) controller.enqueue(encoder.encode(text));
      };
      const ended = (event: { reason: string; mechanism?: string; at?: number }) => {
        if (!closed) tabTold(event);
        send(`event: ended\ndata: ${JSON.stringify({ reason: event.reason, mechanism: event.mechanism, at: event.at })}\n\n`);
        close();
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
      request.signal.addEventListener("abort", close);

      // The session may have ended between the check above and the subscription.
      void currentSession(server.gate, cookie)
        .then((again) => {
          if (again.state === "ended") ended({ reason: again.reason });
        })
        .catch(() => {});
    },
  });

  return new Response(stream, {
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-store", "X-Accel-Buffering": "no" },
  });
}
