/**
 * One cookie's value from a request's Cookie header, or undefined. When a name comes more than once
 * the last value wins, as in Next's own parser (middleware's `request.cookies` and `cookies()`), so
 * that the guard, route handlers and server components always judge the same cookie.
 */
export function readCookie(request: Request, name: string): string | undefined {
  const header = request.headers.get("cookie");
  if (!header) return undefined;
  let value: string | undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) value = part.slice(eq + 1).trim();
  }
  return value;
}

/** A Set-Cookie value for Lockstep's own cookies: always HttpOnly and SameSite=Lax; Secure on https. Max-Age 0 clears it. */
export function serializeCookie(name: string, value: string, options: { path?: string; maxAge: number; secure: boolean }): string {
  return `${name}=${value}; Path=${options.path ?? "/"}; Max-Age=${options.maxAge}; HttpOnly; SameSite=Lax${options.secure ? "; Secure" : ""}`;
}
