import { currentSession, sessionCookie } from "@/lib/session/current";
import { unauthorizedJson } from "@/lib/guard/responses";
import { startRecheck } from "@/lib/session-management/recheck";

export const dynamic = "force-dynamic";

/** GET /api/session/check: loaded in a hidden iframe; starts the silent prompt=none re-check (SM-06). */
export async function GET(request: Request): Promise<Response> {
  const current = await currentSession(sessionCookie(request));
  if (current.state !== "active") return unauthorizedJson(current.state === "none" ? "no_session" : current.reason);
  const { url, cookie } = await startRecheck(current.id, current.record);
  return new Response(null, { status: 303, headers: { Location: url.toString(), "Set-Cookie": cookie, "Cache-Control": "no-store" } });
}
