import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { requireSession } from "@/lib/session/current";
import { startRecheck } from "@/lib/check-session/recheck";

export const dynamic = "force-dynamic";

/** GET /api/session/check: loaded in a hidden iframe; starts the silent prompt=none re-check (SM §3.1). */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const gate = await requireSession(server.gate, request);
  if ("response" in gate) return gate.response;
  const { url, cookie } = await startRecheck(server, gate.session.id);
  return new Response(null, { status: 303, headers: { Location: url.toString(), "Set-Cookie": cookie, "Cache-Control": "no-store" } });
});
