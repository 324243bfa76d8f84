import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // `npm run dev -- --both` runs a second `next dev`, which needs a build folder of its own.
  distDir: process.env.LOCKSTEP_DIST_DIR || ".next",
  reactStrictMode: true,
  // `next build` checks the app only; `npm run typecheck` checks everything (gateway, IdP, tests).
  typescript: { tsconfigPath: "tsconfig.next.json" },
  // The native Redis client (lib/store/native.ts, with REDIS_URL) is loaded from node_modules at run
  // time, not bundled: one copy per process (Turbopack otherwise copies it into several route
  // chunks) and nothing of it in the edge bundle, which never imports it.
  serverExternalPackages: ["ioredis"],
};

export default nextConfig;
