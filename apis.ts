import { defineApis } from "@/lib/api/registry";

/**
 * The APIs this app's browser code may call through Lockstep, at `/api/remote/<name>/<path>` (with the
 * header `X-CSRF: 1`), and its server code with `fetchApi(name, path)`. Lockstep attaches the token
 * each one needs; the browser never sees it. Edit this list for your app. An API without an upstream
 * here or in REMOTE_API_URLS (JSON: {"<name>": "<base URL>"}) is off.
 *
 * The five below are the demo's resource server (demo/api/), one for each token kind: the Bank's
 * statements (`user`), public market quotes (`none`), the bank-wide report its server fetches with
 * the app's own token (`client`), headlines personalised when signed in (`user-or-none`), and the
 * Brokerage's portfolio (`user`, DPoP). `npm run demo` sets their REMOTE_API_URLS; remove them in your app.
 */
export default defineApis({
  statements: {
    token: "user",
    resource: "https://api.lockstep.example/statements",
    scopes: ["statements:read"],
    dashboard: { title: "Statements", path: "statements" },
  },
  market: {
    token: "none",
    dashboard: { title: "Market quotes", path: "quotes" },
  },
  // No dashboard entry: the signed-in page renders it on the server, with fetchApi (app/account/page.tsx).
  reports: {
    token: "client",
    resource: "https://api.lockstep.example/reports",
    scopes: ["reports:read"],
  },
  news: {
    token: "user-or-none",
    resource: "https://api.lockstep.example/news",
    scopes: ["news:read"],
    dashboard: { title: "Headlines", path: "headlines" },
  },
  portfolio: {
    token: "user",
    resource: "https://api.lockstep.example/portfolio",
    scopes: ["portfolio:read"],
    dpop: true,
    dashboard: { title: "Portfolio", path: "holdings" },
  },
});
