import { timingSafeEqual } from "node:crypto";
import { getContext } from "@/lib/context";
import { pollStream, ssfSettings } from "@/lib/ssf";

export const dynamic = "force-dynamic";

/**
 * GET /api/ssf/poll: polls the transmitter once (RFC 8936), for a scheduled job where no process
 * can poll in the background (a Vercel Cron with `Authorization: Bearer <CRON_SECRET>`).
 */
export async function GET(request: Request): Promise<Response> {
  const { config } = getContext();
  const expected = config.CRON_SECRET ? Buffer.from(`Bearer ${config.CRON_SECRET}`) : undefined;
  const given = Buffer.from(request.headers.get("authorization") ?? "");
  if (!expected || given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return Response.json({ error: "unauthorized" }, { status: 401, headers: { "Cache-Control": "no-store" } });
  }
  if (!ssfSettings() || config.SSF_DELIVERY !== "poll") return Response.json({ error: "not_configured" }, { status: 404 });
  try {
    return Response.json(await pollStream(), { headers: { "Cache-Control": "no-store" } });
  } catch (error) {
    return Response.json({ error: "poll_failed", error_description: (error as Error).message }, { status: 502 });
  }
}
