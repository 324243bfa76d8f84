import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { afterAnswer } from "@/lib/http/after-answer";
import { handleSet, queuePushedSet, ssfSettings } from "@/lib/ssf/receiver";
import { SetError, type SetErrorCode } from "@/lib/ssf/errors";
import { isSameSecret } from "@/lib/http/constant-time";

export const dynamic = "force-dynamic";

const MAX_BODY_BYTES = 64 * 1024;
const headers = { "Cache-Control": "no-store" };

/** RFC 8935 §2.3: a refused SET gets 400 with {"err","description"}. */
function refuse(error: SetError): Response {
  return Response.json(error.toJSON(), { status: 400, headers });
}

/** Our failure, not the SET's: 503, so that the transmitter delivers it again (RFC 8935 §2.3). */
const unavailable = () =>
  Response.json({ err: "temporarily_unavailable", description: "The event could not be stored; try again." }, { status: 503, headers });

const refuseWith = (code: SetErrorCode) => refuse(new SetError(code));

/**
 * POST /api/ssf/events: RFC 8935 push delivery of Security Event Tokens (SSF §6.1.1).
 * 202 with an empty body when the SET is accepted (or was already); 400 {"err","description"}
 * with an RFC 8935 code otherwise; 503 when it could not be stored, so the transmitter retries.
 */
export const POST = route(async function POST(request: Request): Promise<Response> {
  const server = getServer();
  const { config } = server;
  if (!ssfSettings(config) || config.SSF_DELIVERY !== "push") return refuseWith("access_denied");
  // SSF §6.1.1: the Authorization value given to the transmitter at stream creation is required.
  if (config.SSF_PUSH_AUTHORIZATION && !isSameSecret(request.headers.get("authorization") ?? "", config.SSF_PUSH_AUTHORIZATION)) {
    return refuseWith("authentication_failed");
  }
  // RFC 8935 §2.1: Content-Type application/secevent+jwt, the body a compact SET.
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/secevent+jwt") return refuseWith("unsupported_content_type");
  const body = (await request.text()).trim();
  if (body.length > MAX_BODY_BYTES) return refuseWith("body_too_large");

  // 202 once the revocation is stored; deleting the ended sessions' tokens follows the answer.
  const handled = await handleSet({ ...server, defer: afterAnswer }, body, "push");
  if (handled.status === "accepted") return new Response(null, { status: 202 });
  if (handled.status === "unavailable") {
    // Answered 503 all the same (the transmitter may retry); also handled here once the store is back.
    queuePushedSet(server, body);
    return unavailable();
  }
  return refuse(handled.error);
});
