import { route } from "@/lib/http/route";
import { getServer } from "@/lib/compose/server";
import { queueFrontchannelLogout, receiveFrontchannelLogout } from "@/lib/logout/frontchannel/receive";
import { currentSession, sessionCookie } from "@/lib/session/current";
import { openHandle } from "@/lib/session/handle";
import { hashId, securityLog } from "@/lib/log/security-log";

export const dynamic = "force-dynamic";

/**
 * GET /api/frontchannel-logout?iss=…&sid=…: Front-Channel Logout 1.0. Always a small 200 page
 * (FCL §4.1: no redirect, no CSRF token), no-store (FCL §2), frameable by the IdP's origin only
 * (CSP frame-ancestors, and no X-Frame-Options). Its script tells this browser's other tabs.
 */
export const GET = route(async function GET(request: Request): Promise<Response> {
  const ctx = getServer();
  const url = new URL(request.url);
  const iss = url.searchParams.get("iss");
  const sid = url.searchParams.get("sid");
  let status = 200;
  let queued = false;
  let ended: string[] = [];
  const sessionRequired = ctx.config.FCL_SESSION_REQUIRED;
  // Third-party frames usually carry no cookie of the app's (SameSite=Lax): the log says when none came.
  const sealed = sessionCookie(ctx, request);
  try {
    const current = await currentSession(ctx.gate, sealed).catch((error: unknown) => {
      // Only a request without iss and sid needs the cookie's session; not knowing it is then a 503, not "no session".
      if (iss === null && sid === null && !sessionRequired && sealed !== undefined) throw error;
      return undefined;
    });
    const outcome = await receiveFrontchannelLogout(
      { iss, sid, cookieSessionId: current?.state === "active" ? current.id : undefined, cookieSent: sealed !== undefined },
      { ...ctx.ending, issuer: ctx.config.OIDC_ISSUER, sessionRequired },
    );
    if (outcome.result === "ended") ended = outcome.sessionIds;
    securityLog({
      event: "frontchannel_logout",
      outcome: outcome.result === "ended" ? "ok" : "rejected",
      code: outcome.result === "ended" ? "ended" : outcome.code,
      iss: iss?.slice(0, 200),
      sid: hashId(sid ?? undefined),
      sessions_ended: ended.length,
    });
  } catch {
    // The store is down: what was asked is stored once it is back (still only for a session held here).
    status = 503;
    const handle = sealed ? await openHandle(sealed, ctx.config.AUTH_SECRET, ctx.cookies.session).catch(() => undefined) : undefined;
    queued = queueFrontchannelLogout(
      { iss, sid, cookieSessionId: handle?.lsid },
      { ...ctx.ending, issuer: ctx.config.OIDC_ISSUER, sessionRequired },
    );
    securityLog({ event: "frontchannel_logout", outcome: "error", code: "store_unavailable", sid: hashId(sid ?? undefined), queued });
  }

  // The page names no session (the IdP frames it, and anyone may load it): it only asks this
  // browser's open tabs to check their own session, which the server has just ended.
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body>` +
    `<p>${status === 200 ? "Signed out." : queued ? "Signing out: it is recorded as soon as the session store answers." : "Could not sign out right now."}</p>` +
    `<script>(function(){try{var c=new BroadcastChannel(${JSON.stringify(`lockstep:${ctx.config.APP_ID}`)});` +
    `${ended.length > 0 ? 'c.postMessage({type:"check"});' : ""}c.close()}catch(e){}})()</script></body></html>`;
  return new Response(html, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": `frame-ancestors ${new URL(ctx.config.OIDC_ISSUER).origin}`,
    },
  });
});
