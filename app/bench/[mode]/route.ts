import { route } from "@/lib/http/route";
import { getConfig } from "@/lib/config";

export const dynamic = "force-dynamic";

const ok = () => new Response("ok", { headers: { "Cache-Control": "no-store", "Content-Type": "text/plain" } });
const notFound = () => new Response("Not found", { status: 404 });

/**
 * /bench/raw (no middleware), /bench/bare (a pass-through middleware) and /bench/guard (the full
 * guard): the same tiny dynamic response, so `npm run bench` measures only the middleware.
 */
export const GET = route(async function GET(_request: Request, { params }: { params: Promise<{ mode: string }> }): Promise<Response> {
  const { mode } = await params;
  if (!getConfig().BENCH_ROUTES || !["raw", "bare", "guard"].includes(mode)) return notFound();
  return ok();
});

/**
 * POST /bench/post: reads its body and answers 200, the receivers' baseline (a trivial POST route
 * handler, unguarded like the receivers), so that their throughput is reported as a ratio to it.
 */
export const POST = route(async function POST(request: Request, { params }: { params: Promise<{ mode: string }> }): Promise<Response> {
  const { mode } = await params;
  if (!getConfig().BENCH_ROUTES || mode !== "post") return notFound();
  await request.text();
  return ok();
});
