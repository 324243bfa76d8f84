import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  // `npm run dev -- --both` runs a second `next dev`, which needs a build folder of its own.
  distDir: process.env.LOCKSTEP_DIST_DIR || ".next",
  reactStrictMode: true,
  // `next build` checks the app only; `npm run typecheck` checks everything (gateway, IdP, tests).
  typescript: { tsconfigPath: "tsconfig.next.json" },
};

export default nextConfig;
