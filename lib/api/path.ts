import { RemoteApiError } from "./errors";

/** Longer paths are refused: no API needs them, and they cost every check below. */
export const MAX_PATH_LENGTH = 4_096;

const refuse = (rule: string) => new RemoteApiError("invalid_path", rule);

/**
 * The upstream URL of a call: `rawPath` (as received, still percent-encoded: the part after
 * `/api/remote/<name>/`) below the API's base URL, with the query passed on as it came. Never an
 * open proxy: whatever a path holds, the result has the base's origin and lies under its path, or the
 * call is refused (`invalid_path`). Each segment is decoded once to be checked, and sent on as
 * received (so `%3B` stays `%3B`, not `;`). Refused:
 *
 * - dot segments, `.` and `..`, however encoded (RFC 3986 §5.2.4 removes them; the WHATWG URL parser
 *   also reads `%2e` as a dot), and with a `;` parameter (`..;`, which some servers read as `..`);
 * - an encoded slash or backslash (`%2f`, `%5c`), or a backslash (the WHATWG URL parser reads `\`
 *   as `/` in http(s) URLs): a segment must not become two upstream;
 * - empty segments (`//`) but a trailing slash, so that nothing reads as a scheme-relative `//host`;
 * - control characters (C0, DEL, C1) and NUL, once decoded; a `#`;
 * - double encoding (`%252e`: a `%xx` left after decoding once), which an upstream decoding again
 *   would read as the character it hides;
 * - a malformed escape (`%zz`), which is no path at all.
 *
 * The URL is built as `new URL("./" + path, base)` (the `./` keeps a first segment such as
 * `https:` or `//` from reading as a scheme or a host) and then checked: same origin as the base,
 * and its path starts with the base's (which ends in `/`, lib/api/registry.ts).
 */
export function resolveUpstreamUrl(base: URL, rawPath: string, search = ""): URL {
  if (rawPath.length > MAX_PATH_LENGTH) throw refuse("path length");
  if (/%(2f|5c)/i.test(rawPath) || rawPath.includes("\\")) throw refuse("encoded slash or backslash");
  if (rawPath.includes("#") || rawPath.includes("?")) throw refuse("RFC 3986 §3.3");
  const segments = rawPath.split("/");
  for (const [i, segment] of segments.entries()) {
    if (segment === "") {
      if (i === segments.length - 1) continue;
      throw refuse("empty segment");
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw refuse("RFC 3986 §2.1");
    }
    if (/[\u0000-\u001f\u007f-\u009f]/.test(decoded)) throw refuse("control character");
    if (/%[0-9a-f]{2}/i.test(decoded)) throw refuse("double encoding");
    if (/^[.\s]*$/.test(decoded.split(";")[0]!)) throw refuse("RFC 3986 §5.2.4");
  }
  let url: URL;
  try {
    url = new URL(`./${rawPath}`, base);
  } catch {
    throw refuse("WHATWG URL");
  }
  if (!isUnderBase(url, base)) throw refuse("outside the base URL");
  if (search && search !== "?") url.search = search;
  return url;
}

/** The last word on a resolved URL, whatever resolved it: the base's origin, and a path under the base's (which ends in `/`). */
export function isUnderBase(url: URL, base: URL): boolean {
  return url.origin === base.origin && url.pathname.startsWith(base.pathname) && base.pathname.endsWith("/");
}

/**
 * Splits what server code passes to fetchApi (`"accounts/7?expand=1"`) into the raw path and the
 * query, as a request URL would be. A leading `/` is taken as relative to the base, as it reads.
 */
export function splitPathAndQuery(path: string): { rawPath: string; search: string } {
  const at = path.indexOf("?");
  const rawPath = (at === -1 ? path : path.slice(0, at)).replace(/^\/(?!\/)/, "");
  return { rawPath, search: at === -1 ? "" : path.slice(at) };
}
