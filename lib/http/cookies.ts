import { RequestCookies } from "next/dist/compiled/@edge-runtime/cookies";

/**
 * One cookie's value from a request's Cookie header, or undefined: read by the very parser behind
 * Next's `request.cookies` (the guard) and `cookies()` (pages, server actions), so that the guard,
 * route handlers and server components always judge the same value. That parser URL-decodes each
 * value, skips one that fails to decode, and lets the last of a repeated name win. Edge-safe.
 */
export function readCookie(request: Request, name: string): string | undefined {
  return new RequestCookies(request.headers).get(name)?.value;
}

/** A Set-Cookie value for Lockstep's own cookies: always HttpOnly and SameSite=Lax; Secure on https. Max-Age 0 clears it. */
export function serializeCookie(name: string, value: string, options: { path?: string; maxAge: number; secure: boolean }): string {
  return `${name}=${value}; Path=${options.path ?? "/"}; Max-Age=${options.maxAge}; HttpOnly; SameSite=Lax${options.secure ? "; Secure" : ""}`;
}
