import { defineApis } from "@/lib/api/registry";

/**
 * The APIs this app's browser code may call through Lockstep, at `/api/remote/<name>/<path>` (with the
 * header `X-CSRF: 1`), and its server code with `fetchApi(name, path)`. Lockstep attaches the token
 * each one needs; the browser never sees it. Edit this list for your app. An API without an upstream
 * here or in REMOTE_API_URLS (JSON: {"<name>": "<base URL>"}) is off.
 *
 * The two below are the demo's resource server (demo/api/): the Bank's statements and the
 * Brokerage's portfolio. `npm run demo` sets their REMOTE_API_URLS; remove them in your app.
 */
export default defineApis({
  statements: {
    token: "user",
    resource: "https://api.lockstep.example/statements",
    scopes: ["statements:read"],
    dashboard: { title: "Statements", path: "statements" },
  },
  portfolio: {
    token: "user",
    resource: "https://api.lockstep.example/portfolio",
    scopes: ["portfolio:read"],
    dpop: true,
    dashboard: { title: "Portfolio", path: "holdings" },
  },
});
