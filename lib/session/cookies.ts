/**
 * Cookie names are scoped by APP_ID: cookies ignore ports, so two apps on localhost:3000 and
 * localhost:3001 would otherwise overwrite each other's sessions.
 */
export function cookieNames(appId: string, appUrl: string) {
  const secure = appUrl.startsWith("https://");
  const secureName = (name: string) => (secure ? `__Secure-${name}` : name);
  return {
    secure,
    // Host-only, Path=/, no Domain: under https the __Host- prefix makes the browser enforce that.
    session: secure ? `__Host-${appId}.session` : `${appId}.session`,
    callbackUrl: secureName(`${appId}.callback-url`),
    csrf: secure ? `__Host-${appId}.csrf` : `${appId}.csrf`,
    pkce: secureName(`${appId}.pkce`),
    state: secureName(`${appId}.state`),
    nonce: secureName(`${appId}.nonce`),
    logoutState: secureName(`${appId}.logout-state`),
    sessionCheck: secureName(`${appId}.session-check`),
    /** Which session of this browser ended (sealed, short-lived): what the signed-out page reads, in place of a URL parameter. */
    ended: secure ? `__Host-${appId}.ended` : `${appId}.ended`,
    /** A one-off confirmation on the dashboard ("signed out Chrome on Linux"), sealed, a few seconds long. */
    notice: secureName(`${appId}.notice`),
  };
}
