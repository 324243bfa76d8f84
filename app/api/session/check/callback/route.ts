import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { readCookie, serializeCookie } from "@/lib/http/cookies";
import { finishRecheck, SESSION_CHECK_CALLBACK_PATH } from "@/lib/check-session/recheck";
import { securityLog } from "@/lib/log/security-log";

export const dynamic = "force-dynamic";

/**
 * GET /api/session/check/callback: the IdP's answer to the silent re-check, in the hidden iframe.
 * Answers a tiny page that tells the parent tab (same origin only) what came of it.
 */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const server = getServer();
  const { cookies } = server;
  const sealed = readCookie(request, cookies.sessionCheck);
  const outcome = await finishRecheck(server, new URL(request.url), sealed).catch(() => ({
    result: "error" as const,
    code: "internal_error",
  }));
  securityLog({
    event: "session_management.recheck",
    outcome: outcome.result === "error" ? "error" : "ok",
    code: outcome.result === "error" ? outcome.code : outcome.result,
  });
  const message = JSON.stringify({ type: "lockstep:session-check", ...outcome }).replaceAll("<", "\\u003c");
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Session check</title></head><body><script>parent.postMessage(${message}, location.origin)</script></body></html>`;
  return new Response(html, {
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "frame-ancestors 'self'",
      "Set-Cookie": serializeCookie(cookies.sessionCheck, "", { path: SESSION_CHECK_CALLBACK_PATH, maxAge: 0, secure: cookies.secure }),
    },
  });
});
