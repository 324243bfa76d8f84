import type { NextConfig } from "next";

const nextConfig: NextConfig = {
  poweredByHeader: false,
  reactStrictMode: true,
  // `next build` checks the app only; `npm run typecheck` checks everything (gateway, IdP, tests).
  typescript: { tsconfigPath: "tsconfig.next.json" },
};

export default nextConfig;
