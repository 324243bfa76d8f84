import next from "eslint-config-next/core-web-vitals";
import nextTs from "eslint-config-next/typescript";

const config = [
  ...next,
  ...nextTs,
  { ignores: [".next/**", "node_modules/**", "next-env.d.ts", "build/**"] },
  {
    // The edge guard and what it imports must stay edge-safe: Web APIs and jose only.
    files: [
      "middleware.edge.ts",
      "lib/guard/**",
      "lib/compose/edge.ts",
      "lib/compose/guard.ts",
      "lib/revocation/**",
      "lib/session/handle.ts",
      "lib/session/cookies.ts",
      "lib/store/keys.ts",
      "lib/store/redis.ts",
      "lib/config/**",
      "lib/http/cookies.ts",
    ],
    rules: {
      "no-restricted-imports": [
        "error",
        { paths: ["fs", "crypto", "path", "net", "http", "https", "oidc-provider"], patterns: ["node:*", "ioredis*"] },
      ],
      "no-restricted-globals": ["error", "Buffer", "require"],
    },
  },
];

export default config;
