import { cookies } from "next/headers";
import { getServer } from "@/lib/compose/server";
import { callFromServer, type FetchApiInit } from "./proxy";

export type { FetchApiInit } from "./proxy";

/**
 * Calls a remote API declared in apis.ts from server code (a route handler, a server action or a
 * server component), as the signed-in user of this request: the same gate as the proxy (the session
 * cookie, read with `next/headers`, checked against the revocation list), the same path rules and
 * headers, the same token (refreshed, per audience, DPoP-bound, or the app's own, as the API says).
 * No `X-CSRF` here: the caller is server code. Answers with the upstream's Response (its body
 * streamed), or with the proxy's own refusals (401 without a session, 404 `unknown_api`, 400
 * `invalid_path`, 502/504), so check `ok`:
 *
 * ```ts
 * // app/account/statements.tsx (a server component)
 * import { fetchApi } from "@/lib/api/fetch-api";
 *
 * export async function Statements() {
 *   const res = await fetchApi("statements", "statements?limit=5");
 *   if (!res.ok) return <p>Statements are unavailable ({res.status}).</p>;
 *   const { items } = (await res.json()) as { items: { id: string; amount: number }[] };
 *   return <ul>{items.map((s) => <li key={s.id}>{s.amount}</li>)}</ul>;
 * }
 *
 * // In a server action: a POST with a JSON body.
 * await fetchApi("statements", "transfers", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(t) });
 * ```
 *
 * `path` is relative to the API's base URL (a leading `/` is read as relative too) and may carry a
 * query. A token never appears in the Response, its headers or an error.
 */
export async function fetchApi(name: string, path: string, init?: FetchApiInit): Promise<Response> {
  const server = getServer();
  const jar = await cookies();
  return callFromServer(server.remote, jar.get(server.cookies.session)?.value, name, path, init);
}
