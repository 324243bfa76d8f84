import { NextResponse, type NextRequest } from "next/server";
import { getGuardDeps } from "@/lib/compose/edge-guard";
import { guard } from "@/lib/guard/guard";
import { isBenchBaseline } from "@/lib/compose/guard-deps";

/**
 * The guard in the edge runtime (GUARD_RUNTIME=edge, the default; what Vercel runs): every page and
 * API request whose session cookie names a revoked or unknown session is stopped here, after one
 * Redis round trip over REST. Web APIs and jose only. Its twin for Node servers is proxy.node.ts
 * (GUARD_RUNTIME=nodejs); next.config.ts builds exactly one of the two. Route handlers check
 * again: a middleware is a filter, not the only gate.
 */
export async function middleware(request: NextRequest): Promise<Response> {
  if (isBenchBaseline(request.nextUrl.pathname)) return NextResponse.next();
  return guard(request, getGuardDeps());
}

// Next reads this statically, so it is a literal, the same in proxy.node.ts (tests/unit/guard-entries.test.ts).
export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|.*\\.(?:svg|png|jpg|jpeg|gif|webp|ico|css|js|txt|map|webmanifest)$).*)"],
};
