import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { endSessions } from "@/lib/revocation/end-sessions";
import { requireSession } from "@/lib/session/current";
import { isSameOriginRequest } from "@/lib/http/same-origin";
import { redirectTo } from "@/lib/http/responses";
import { hashId, securityLog } from "@/lib/log/security-log";
import { serializeCookie } from "@/lib/http/cookies";
import { seal } from "@/lib/session/handle";
import { deviceLabel } from "@/lib/session/record";

export const dynamic = "force-dynamic";

/** How long the confirmation shows on the dashboard (a reload within it shows it again). */
const NOTICE_SECONDS = 10;

/**
 * POST /api/sessions/end (form field `id`): "sign out this device" for another session of the
 * signed-in user at this app. Same-origin only; a session of anyone else is never touched.
 */
export const POST = route(async function POST(request: Request): Promise<Response> {
  const server = getServer();
  const { config } = server;
  if (!isSameOriginRequest(request, config.AUTH_URL)) {
    return Response.json({ error: "forbidden", error_description: "Cross-site requests are refused." }, { status: 403 });
  }
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  const current = gate.session;
  const id = (await request.formData().catch(() => undefined))?.get("id");
  const mine = await server.sessions.find({ iss: current.record.iss, sub: current.record.sub });
  const target = typeof id === "string" ? mine.find((s) => s.id === id && s.id !== current.id) : undefined;
  if (!target) return Response.json({ error: "not_found", error_description: "No such session of yours." }, { status: 404 });
  await endSessions(server.ending, [{ kind: "session", id: target.id, record: target.record }], "ended_elsewhere", {
    detail: { mechanism: "another_device" },
  });
  securityLog({ event: "session.ended_by_user", outcome: "ok", session: hashId(target.id), by: hashId(current.id) });
  // A confirmation for the dashboard, sealed (no URL parameter can fake it) and gone in seconds.
  const started = new Date(target.record.createdAt).toISOString().slice(0, 16).replace("T", " ");
  const text = `Signed out ${deviceLabel(target.record.device)} (started ${started} UTC). Its tabs show it within a second.`;
  const { notice, secure } = server.cookies;
  const sealed = await seal({ text }, config.AUTH_SECRET, notice, NOTICE_SECONDS);
  return redirectTo(
    new URL("/account", config.AUTH_URL),
    serializeCookie(notice, sealed, { path: "/account", maxAge: NOTICE_SECONDS, secure }),
  );
});
