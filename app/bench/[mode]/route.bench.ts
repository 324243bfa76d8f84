import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

const ok = () => new Response("ok", { headers: { "Cache-Control": "no-store", "Content-Type": "text/plain" } });
const notFound = () => new Response("Not found", { status: 404 });

/**
 * `npm run bench`'s baselines, built only into its builds (next.config.ts, LOCKSTEP_BENCH_BUILD):
 * /bench/raw.txt (no middleware: the matcher skips `.txt`), /bench/bare (a pass-through middleware)
 * and /bench/guard (the full guard): the same tiny dynamic response, so that the benchmark measures
 * only the middleware.
 */
export const GET = route(async function GET(_request: Request, { params }: { params: Promise<{ mode: string }> }): Promise<Response> {
  const { mode } = await params;
  if (!["raw.txt", "bare", "guard"].includes(mode)) return notFound();
  return ok();
});

/**
 * POST /bench/post: reads its body and answers 200, the receivers' baseline (a trivial POST route
 * handler, unguarded like the receivers), so that their throughput is reported as a ratio to it.
 */
export const POST = route(async function POST(request: Request, { params }: { params: Promise<{ mode: string }> }): Promise<Response> {
  const { mode } = await params;
  if (mode !== "post") return notFound();
  await request.text();
  return ok();
});
