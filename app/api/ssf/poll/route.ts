import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { pollStream, ssfSettings } from "@/lib/ssf/receiver";
import { isSameSecret } from "@/lib/http/constant-time";

export const dynamic = "force-dynamic";

const headers = { "Cache-Control": "no-store" };

/**
 * GET /api/ssf/poll: polls the transmitter once (RFC 8936), for a scheduled job where no process
 * can poll in the background (a Vercel Cron with `Authorization: Bearer <CRON_SECRET>`).
 */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const { config } = server;
  if (!config.CRON_SECRET || !isSameSecret(request.headers.get("authorization") ?? "", `Bearer ${config.CRON_SECRET}`)) {
    return Response.json({ error: "unauthorized" }, { status: 401, headers });
  }
  if (!ssfSettings(config) || config.SSF_DELIVERY !== "poll") return Response.json({ error: "not_configured" }, { status: 404, headers });
  try {
    return Response.json(await pollStream(server), { headers });
  } catch (error) {
    const code = typeof (error as { code?: unknown }).code === "string" ? (error as { code: string }).code : "poll_failed";
    return Response.json({ error: "poll_failed", code }, { status: 502, headers });
  }
});
