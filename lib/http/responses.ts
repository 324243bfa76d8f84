import { serializeCookie } from "@/lib/http/cookies";
import type { EndReason } from "@/lib/session/ending";

/** Answers of the guard and of route handlers that check again. Never more detail than a reason code. */

const noStore = { "Cache-Control": "no-store" };

export function clearCookie(name: string, secure: boolean): string {
  return serializeCookie(name, "", { maxAge: 0, secure });
}

export function unauthorizedJson(reason: EndReason | "no_session", clear?: string): Response {
  const headers = new Headers({ ...noStore, "Content-Type": "application/json" });
  if (clear) headers.append("Set-Cookie", clear);
  return new Response(JSON.stringify({ error: "unauthorized", reason }), { status: 401, headers });
}

export function redirectTo(url: URL, clear?: string): Response {
  const headers = new Headers({ ...noStore, Location: url.toString() });
  if (clear) headers.append("Set-Cookie", clear);
  return new Response(null, { status: 303, headers });
}

export function unavailable(api: boolean): Response {
  const headers = { ...noStore, "Retry-After": "2" };
  if (api) {
    return Response.json(
      { error: "temporarily_unavailable", error_description: "The session store cannot be reached; try again shortly." },
      { status: 503, headers },
    );
  }
  const html =
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<title>Temporarily unavailable</title></head><body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#111">' +
    "<h1>We can't check your sign-in right now</h1>" +
    "<p>The session store is not answering, so this page is held back rather than served to someone who may have been signed out. Try again in a few seconds.</p>" +
    "</body></html>";
  return new Response(html, { status: 503, headers: { ...headers, "Content-Type": "text/html; charset=utf-8" } });
}
