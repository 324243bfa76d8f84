import { NextResponse, type NextRequest } from "next/server";
import { getConfig } from "@/lib/config";
import { getGuardRedis } from "@/lib/store/redis";
import { appKeys } from "@/lib/store/keys";
import { cookieNames } from "@/lib/session/cookies";
import { guard, type GuardDeps } from "@/lib/guard/guard";

// Built once per isolate: the hot path only opens the cookie and makes its one Redis call.
let deps: GuardDeps | undefined;

function guardDeps(): GuardDeps {
  if (!deps) {
    const config = getConfig();
    deps = {
      config,
      redis: getGuardRedis(),
      keys: appKeys(config.LOCKSTEP_KEY_PREFIX, config.APP_ID),
      cookies: cookieNames(config.APP_ID, config.AUTH_URL),
      next: () => NextResponse.next(),
    };
  }
  return deps;
}

/**
 * The edge guard: every page and API request whose session cookie names a revoked or unknown
 * session is stopped here, after one Redis round trip. Edge runtime: Web APIs and jose only.
 * Route handlers check again; a middleware is a filter, not the only gate.
 */
export async function middleware(request: NextRequest): Promise<Response> {
  const { pathname } = request.nextUrl;
  // The bare pass-through baseline of `npm run bench`; inert unless BENCH_ROUTES is on.
  if (pathname === "/bench/bare") return NextResponse.next();
  return guard(request, guardDeps());
}

export const config = {
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico|bench/raw|.*\\.(?:svg|png|jpg|jpeg|gif|webp|ico|css|js|txt|map)$).*)"],
};
