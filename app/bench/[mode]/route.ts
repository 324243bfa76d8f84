import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";

/**
 * /bench/raw (no middleware), /bench/bare (a pass-through middleware) and /bench/guard (the full
 * guard): the same tiny dynamic response, so `npm run bench` measures only the middleware.
 */
export async function GET(_request: Request, { params }: { params: Promise<{ mode: string }> }): Promise<Response> {
  const { mode } = await params;
  if (!getConfig().BENCH_ROUTES || !["raw", "bare", "guard"].includes(mode)) return new Response("Not found", { status: 404 });
  return new Response("ok", { headers: { "Cache-Control": "no-store", "Content-Type": "text/plain" } });
}
