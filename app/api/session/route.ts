import { route } from "@/lib/http/route";
import { requireSession } from "@/lib/lockstep";
import { publicView } from "@/lib/session/record";

export const dynamic = "force-dynamic";

/** GET /api/session: the signed-in user and this session (claims and times, never a token), or 401. */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const gate = await requireSession(request);
  if ("response" in gate) return gate.response;
  const { id, record } = gate.session;
  return Response.json(publicView(id, record), { headers: { "Cache-Control": "no-store" } });
});
