import { timingSafeEqual } from "node:crypto";
import { getContext } from "@/lib/context";
import { handleSet, ssfSettings } from "@/lib/ssf";

export const dynamic = "force-dynamic";

const MAX_BODY_BYTES = 64 * 1024;

function error(err: string, description: string, status = 400): Response {
  return Response.json({ err, description }, { status, headers: { "Cache-Control": "no-store" } });
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * POST /api/ssf/events: RFC 8935 push delivery of Security Event Tokens (SSF 1.0 §6.1.1).
 * 202 with an empty body when the SET is accepted (or was already); 400 {"err","description"}
 * with an RFC 8935 code otherwise; 503 when it could not be stored, so the transmitter retries.
 */
export async function POST(request: Request): Promise<Response> {
  const { config } = getContext();
  if (!ssfSettings() || config.SSF_DELIVERY !== "push") return error("access_denied", "This receiver takes no pushed SETs.");
  // PUSH-01: the Authorization value given to the transmitter at stream creation is required.
  if (config.SSF_PUSH_AUTHORIZATION && !sameSecret(request.headers.get("authorization") ?? "", config.SSF_PUSH_AUTHORIZATION)) {
    return error("authentication_failed", "The push request could not be authenticated.");
  }
  // PUSH-02: Content-Type application/secevent+jwt, the body a compact SET.
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/secevent+jwt") return error("invalid_request", "Send the SET as application/secevent+jwt (RFC 8935 §2.1).");
  const body = (await request.text()).trim();
  if (body.length > MAX_BODY_BYTES) return error("invalid_request", "The request body is too large.");

  const handled = await handleSet(body, "push");
  if (handled.status === "accepted") return new Response(null, { status: 202 });
  if (handled.status === "unavailable") return error("temporarily_unavailable", "The event could not be stored; try again.", 503);
  return error(handled.error.err, handled.error.message);
}
