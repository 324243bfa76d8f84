import type { NextConfig } from "next";

/**
 * The one switch between the two guards, read at build time: `edge` (the default, what Vercel runs)
 * builds middleware.edge.ts, the edge middleware on REST; `nodejs` builds proxy.node.ts, the Node
 * runtime's proxy on REDIS_URL's native connection. Both share lib/guard/guard.ts. Next finds the
 * chosen file through its page extension (`edge.ts` or `node.ts`) and never sees the other.
 */
const guardRuntime = process.env.GUARD_RUNTIME || "edge";
if (guardRuntime !== "edge" && guardRuntime !== "nodejs") {
  throw new Error(`GUARD_RUNTIME must be "edge" or "nodejs" (got "${guardRuntime}").`);
}

const benchBuild = process.env.LOCKSTEP_BENCH_BUILD === "1";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // `npm run dev -- --both` runs a second `next dev`, which needs a build folder of its own.
  distDir: process.env.LOCKSTEP_DIST_DIR || ".next",
  reactStrictMode: true,
  // `npm run bench`'s builds (LOCKSTEP_BENCH_BUILD=1) also take `*.bench.ts`: its baseline routes
  // (app/bench). Any other build has neither them nor the guard entries' pass-through for them.
  pageExtensions: ["tsx", "ts", guardRuntime === "nodejs" ? "node.ts" : "edge.ts", ...(benchBuild ? ["bench.ts"] : [])],
  // Written into the build, so that the configuration (lib/config) knows which guard runs.
  env: { GUARD_RUNTIME: guardRuntime, LOCKSTEP_BENCH_BUILD: benchBuild ? "1" : "" },
  // `next build` checks the app only; `npm run typecheck` checks everything (gateway, IdP, tests).
  typescript: { tsconfigPath: "tsconfig.next.json" },
  // The native Redis client (lib/store/native.ts, with REDIS_URL) is loaded from node_modules at run
  // time, not bundled: one copy per process (Turbopack otherwise copies it into several route
  // chunks) and nothing of it in the edge bundle, which never imports it.
  serverExternalPackages: ["ioredis"],
  // The template serves no images through Next's optimizer: with it off, /_next/image answers 404
  // instead of fetching whatever URL it is given (a page such as /account, through the guard, answered 500).
  images: { unoptimized: true },
  // `next dev` prints every request's URL. The sign-in and sign-out callbacks carry the authorization
  // code, state and session_state, and front-channel logout the IdP's sid: no request with one of
  // those in its query is printed (`next start` prints no requests).
  logging: { incomingRequests: { ignore: [/[?&](code|state|session_state|sid|id_token_hint|logout_hint|token)=/] } },
};

export default nextConfig;
