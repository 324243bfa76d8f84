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
 * `npm run bench`'s baselines, which the guard entries pass straight through in its builds only
 * (LOCKSTEP_BENCH_BUILD, written into the build by next.config.ts: in any other build this is false
 * and the bundler drops the check): /bench/bare (a bare middleware) and /bench/post (a trivial POST
 * route, passed through as the signal receivers are).
 */
export const isBenchBaseline = (pathname: string) =>
  process.env.LOCKSTEP_BENCH_BUILD === "1" && (pathname === "/bench/bare" || pathname === "/bench/post");
