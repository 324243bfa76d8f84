import { route } from "@/lib/http/route";
import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";

/**
 * Liveness only: says nothing about sessions or Redis. Echoes HEALTH_NONCE (when set) in
 * X-Lockstep-Nonce, so that `npm run demo` and `npm run dev` can tell their own app from another
 * server on the same port.
 */
export const GET = route(function GET(): Response {
  const nonce = getConfig().HEALTH_NONCE;
  return Response.json({ ok: true }, { headers: { "Cache-Control": "no-store", ...(nonce ? { "X-Lockstep-Nonce": nonce } : {}) } });
});
