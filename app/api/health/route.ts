export const dynamic = "force-dynamic";

/** Liveness only: says nothing about sessions or Redis. */
export function GET(): Response {
  return Response.json({ ok: true }, { headers: { "Cache-Control": "no-store" } });
}
