import { NextResponse } from "next/server";
import type { Config } from "@/lib/config";
import type { RevocationList } from "@/lib/store/ports";
import { cookieNames } from "@/lib/session/cookies";
import type { GuardDeps } from "@/lib/guard/guard";

/** The guard's dependencies around a revocation list, the same for both runtimes (edge.ts, node-guard.ts). Edge-safe. */
export function guardDeps(config: Config, revocations: Pick<RevocationList, "check">): GuardDeps {
  return {
    config,
    revocations,
    cookies: cookieNames(config.APP_ID, config.AUTH_URL),
    next: () => NextResponse.next(),
  };
}

/**
 * `npm run bench`'s baselines, which the guard entries pass straight through: /bench/bare (a bare
 * middleware) and /bench/post (a trivial POST route, passed through as the signal receivers are).
 * Inert unless BENCH_ROUTES is on: the routes answer 404 otherwise.
 */
export const isBenchBaseline = (pathname: string) => pathname === "/bench/bare" || pathname === "/bench/post";
