import { getServer } from "@/lib/compose/node";
import { endSessions } from "@/lib/revocation/end-sessions";
import { requireSession } from "@/lib/session/current";
import { isSameOriginRequest } from "@/lib/http/same-origin";
import { redirectTo } from "@/lib/guard/responses";
import { hashId, securityLog } from "@/lib/log/security-log";

export const dynamic = "force-dynamic";

/**
 * POST /api/sessions/end (form field `id`): "sign out this device" for another session of the
 * signed-in user at this app. Same-origin only; a session of anyone else is never touched.
 */
export async function POST(request: Request): Promise<Response> {
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
  await endSessions(server.ending, [{ kind: "session", id: target.id, record: target.record }], "ended_elsewhere");
  securityLog({ event: "session.ended_by_user", outcome: "ok", session: hashId(target.id), by: hashId(current.id) });
  return redirectTo(new URL("/account", config.AUTH_URL));
}
