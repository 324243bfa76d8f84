import { NextResponse, type NextRequest } from "next/server";
import { getNodeGuardDeps } from "@/lib/compose/node-guard";
import { guard } from "@/lib/guard/guard";
import { isBenchBaseline } from "@/lib/compose/guard-deps";

/**
 * The guard in the Node runtime (GUARD_RUNTIME=nodejs, for Node servers): the same decision as
 * middleware.edge.ts (lib/guard/guard.ts), on the process's native Redis connection when REDIS_URL
 * is set (no gateway needed), else over REST. Next 16 runs a `proxy` in the Node runtime.
 */
export async function proxy(request: NextRequest): Promise<Response> {
  if (isBenchBaseline(request.nextUrl.pathname)) return NextResponse.next();
  return guard(request, getNodeGuardDeps());
}

// Next reads this statically, so it is a literal, the same in middleware.edge.ts (tests/unit/guard-entries.test.ts).
export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|.*\\.(?:svg|png|jpg|jpeg|gif|webp|ico|css|js|txt|map|webmanifest)$).*)"],
};
