import { NextResponse, type NextRequest } from "next/server";
import { getGuardDeps } from "@/lib/compose/edge";
import { guard } from "@/lib/guard/guard";

/**
 * The edge guard: every page and API request whose session cookie names a revoked or unknown
 * session is stopped here, after one Redis round trip. Edge runtime: Web APIs and jose only.
 * Route handlers check again; a middleware is a filter, not the only gate.
 */
export async function middleware(request: NextRequest): Promise<Response> {
  const { pathname } = request.nextUrl;
  // The bare pass-through baseline of `npm run bench`; inert unless BENCH_ROUTES is on.
  if (pathname === "/bench/bare") return NextResponse.next();
  return guard(request, getGuardDeps());
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|bench/raw|.*\\.(?:svg|png|jpg|jpeg|gif|webp|ico|css|js|txt|map|webmanifest)$).*)"],
};
