import { currentSession, sessionCookie } from "@/lib/session/current";
import { publicView } from "@/lib/session/record";
import { clearCookie, unauthorizedJson, unavailable } from "@/lib/guard/responses";
import { getContext } from "@/lib/context";

export const dynamic = "force-dynamic";

/** GET /api/session: the signed-in user and this session (claims and times, never a token), or 401. */
export async function GET(request: Request): Promise<Response> {
  const { cookies } = getContext();
  let current;
  try {
    current = await currentSession(sessionCookie(request));
  } catch {
    return unavailable(true);
  }
  if (current.state === "none") return unauthorizedJson("no_session");
  if (current.state === "ended") return unauthorizedJson(current.reason, clearCookie(cookies.session, cookies.secure));
  return Response.json(publicView(current.id, current.record), { headers: { "Cache-Control": "no-store" } });
}
