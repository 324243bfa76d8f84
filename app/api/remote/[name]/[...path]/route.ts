import { getServer } from "@/lib/compose/server";
import { proxyRemote } from "@/lib/api/proxy";
import { route } from "@/lib/http/route";

export const dynamic = "force-dynamic";

/**
 * `/api/remote/<name>/<path>`, every method: the browser's calls to the remote APIs declared in
 * apis.ts, made on the server with the token each needs (the browser never sees one). Every rule,
 * in order, is in lib/api/proxy.ts: anti-forgery (`X-CSRF: 1`), a declared API, a path that stays
 * under its base URL, the session gate, then the call.
 */
const handle = route(function handle(request: Request): Promise<Response> {
  return proxyRemote(getServer().remote, request);
});

export const GET = handle;
export const HEAD = handle;
export const OPTIONS = handle;
export const POST = handle;
export const PUT = handle;
export const PATCH = handle;
export const DELETE = handle;
