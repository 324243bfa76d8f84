/**
 * A small browser stand-in for tests that drive login and logout over plain HTTP: a cookie jar,
 * redirects followed by hand (so cookies are collected at every hop), and an HTML form reader.
 *
 * Cookie rules follow RFC 6265 closely enough for OIDC flows:
 * - cookies are keyed by host name, not port, so http://localhost:3000 and http://localhost:4000 share
 *   them, as in browsers;
 * - Domain, Path, Expires and Max-Age are honoured; a Set-Cookie that expires a cookie deletes it;
 * - Secure cookies are sent over https and to loopback hosts (browsers treat those as secure contexts);
 * - SameSite is not enforced: everything the tests touch is on localhost, which is one site.
 */

type StoredCookie = {
  name: string;
  value: string;
  /** Lower-case host name (no port). */
  domain: string;
  /** True when Set-Cookie had no Domain attribute: sent to that exact host only. */
  hostOnly: boolean;
  path: string;
  /** Epoch milliseconds; undefined for session cookies. */
  expiresAt?: number;
  secure: boolean;
  createdAt: number;
};

export type SessionFetchOptions = {
  /** Follow 3xx responses that carry a Location header. Default false. */
  follow?: boolean;
  /** Give up after this many hops. Default 20. */
  maxRedirects?: number;
  /**
   * Called with each redirect target before it is fetched. Return true to stop and get the redirect
   * response itself, e.g. when the target is an app the test does not run.
   */
  stopAt?: (location: URL) => boolean;
};

export type ParsedForm = {
  /** The action attribute as written (entities decoded); "" means the page's own URL. */
  action: string;
  /** Upper case; "GET" when the form has no method attribute. */
  method: string;
  /** Successful controls by name: text-like inputs, hidden inputs, checked boxes, textareas, selects. Buttons are left out. */
  fields: Record<string, string>;
};

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

function defaultPath(url: URL): string {
  const path = url.pathname;
  const lastSlash = path.lastIndexOf("/");
  return lastSlash <= 0 ? "/" : path.slice(0, lastSlash);
}

function domainMatches(host: string, cookie: StoredCookie): boolean {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith("/") || requestPath.charAt(cookiePath.length) === "/";
}

export class HttpSession {
  #jar: StoredCookie[] = [];
  #clock = 0;

  /**
   * Like global fetch, with this session's cookies sent and stored. Redirects are never followed by fetch
   * itself; with `follow`, this method follows them as browsers do (303, and 301/302 after a POST, turn
   * into GET without a body; 307/308 repeat the request, so the body must be re-readable, e.g. a string
   * or URLSearchParams). The Authorization header is dropped when a redirect leaves the origin.
   * The returned response is the last one fetched; its `url` is where it came from.
   */
  async fetch(input: string | URL, init: RequestInit = {}, options: SessionFetchOptions = {}): Promise<Response> {
    const { follow = false, maxRedirects = 20, stopAt } = options;
    let url = new URL(input);
    let method = (init.method ?? "GET").toUpperCase();
    let body = init.body;
    const headers = new Headers(init.headers);

    for (let hops = 0; ; hops++) {
      const requestHeaders = new Headers(headers);
      const jarCookies = this.cookieHeader(url);
      if (jarCookies) {
        const explicit = requestHeaders.get("cookie");
        requestHeaders.set("cookie", explicit ? `${explicit}; ${jarCookies}` : jarCookies);
      }
      const response = await fetch(url, { ...init, method, body, headers: requestHeaders, redirect: "manual" });
      this.storeCookies(url, response.headers.getSetCookie());

      const location = response.headers.get("location");
      if (!follow || !REDIRECT_STATUSES.has(response.status) || location === null) return response;
      const next = new URL(location, url);
      if (stopAt?.(next)) return response;
      if (hops >= maxRedirects) throw new Error(`more than ${maxRedirects} redirects, last to ${next.href}`);
      await response.body?.cancel();

      const becomesGet =
        (response.status === 303 && method !== "HEAD") || ((response.status === 301 || response.status === 302) && method === "POST");
      if (becomesGet) {
        method = "GET";
        body = undefined;
        for (const name of ["content-type", "content-length", "content-encoding", "content-language"]) headers.delete(name);
      }
      if (next.origin !== url.origin) headers.delete("authorization");
      url = next;
    }
  }

  /**
   * Submits a parsed form the way a browser would: the action is resolved against `pageUrl`, `extra`
   * adds or overrides fields (e.g. the clicked button's name and value), GET forms go in the query string
   * and others as application/x-www-form-urlencoded.
   */
  submit(
    form: ParsedForm,
    pageUrl: string | URL,
    extra: Record<string, string> = {},
    options: SessionFetchOptions = {},
  ): Promise<Response> {
    const target = new URL(form.action || pageUrl, pageUrl);
    const data = new URLSearchParams({ ...form.fields, ...extra });
    if (form.method === "GET") {
      target.search = data.toString();
      return this.fetch(target, {}, options);
    }
    return this.fetch(target, { method: form.method, body: data }, options);
  }

  /** The cookies this session would send to `url`, by name. */
  cookies(url: string | URL): Record<string, string> {
    return Object.fromEntries(this.#matching(new URL(url)).map((c) => [c.name, c.value]));
  }

  /** The Cookie header this session would send to `url`, or undefined when there is none. */
  cookieHeader(url: string | URL): string | undefined {
    const header = this.#matching(new URL(url))
      .map((c) => `${c.name}=${c.value}`)
      .join("; ");
    return header || undefined;
  }

  /** Stores Set-Cookie header values received from `url` (one cookie per value, as `getSetCookie()` returns them). */
  storeCookies(url: string | URL, setCookieHeaders: readonly string[]): void {
    const from = new URL(url);
    for (const header of setCookieHeaders) this.#store(from, header);
  }

  clearCookies(): void {
    this.#jar = [];
  }

  #matching(url: URL): StoredCookie[] {
    const now = Date.now();
    this.#jar = this.#jar.filter((c) => c.expiresAt === undefined || c.expiresAt > now);
    const host = url.hostname.toLowerCase();
    const secureContext = url.protocol === "https:" || LOOPBACK_HOSTS.has(host);
    return this.#jar
      .filter((c) => domainMatches(host, c) && pathMatches(url.pathname, c.path) && (!c.secure || secureContext))
      .sort((a, b) => b.path.length - a.path.length || a.createdAt - b.createdAt);
  }

  #store(from: URL, header: string): void {
    const [pair = "", ...attributes] = header.split(";");
    const eq = pair.indexOf("=");
    if (eq < 0) return;
    const name = pair.slice(0, eq).trim();
    if (!name) return;

    const host = from.hostname.toLowerCase();
    const cookie: StoredCookie = {
      name,
      value: pair.slice(eq + 1).trim(),
      domain: host,
      hostOnly: true,
      path: defaultPath(from),
      secure: false,
      createdAt: this.#clock++,
    };
    let maxAge: number | undefined;
    let expires: number | undefined;
    for (const attribute of attributes) {
      const sep = attribute.indexOf("=");
      const key = (sep < 0 ? attribute : attribute.slice(0, sep)).trim().toLowerCase();
      const value = sep < 0 ? "" : attribute.slice(sep + 1).trim();
      if (key === "max-age" && /^-?\d+$/.test(value)) maxAge = Number(value);
      else if (key === "expires" && !Number.isNaN(Date.parse(value))) expires = Date.parse(value);
      else if (key === "path" && value.startsWith("/")) cookie.path = value;
      else if (key === "secure") cookie.secure = true;
      else if (key === "domain" && value) {
        const domain = value.replace(/^\./, "").toLowerCase();
        // A cookie for a domain the response did not come from is rejected, as browsers do.
        if (host !== domain && !host.endsWith(`.${domain}`)) return;
        cookie.domain = domain;
        cookie.hostOnly = false;
      }
    }
    // Max-Age wins over Expires.
    if (maxAge !== undefined) cookie.expiresAt = maxAge <= 0 ? 0 : Date.now() + maxAge * 1000;
    else if (expires !== undefined) cookie.expiresAt = expires;

    const same = (c: StoredCookie) => c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path;
    const previous = this.#jar.find(same);
    if (previous) cookie.createdAt = previous.createdAt;
    this.#jar = this.#jar.filter((c) => !same(c));
    if (cookie.expiresAt === undefined || cookie.expiresAt > Date.now()) this.#jar.push(cookie);
  }
}

const NAMED_ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (entity, body: string) => {
    if (body.startsWith("#")) {
      const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : entity;
    }
    return NAMED_ENTITIES[body.toLowerCase()] ?? entity;
  });
}

function parseAttributes(source: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  const pattern = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of source.matchAll(pattern)) {
    const name = match[1]?.toLowerCase();
    if (name && !(name in attributes)) attributes[name] = decodeEntities(match[2] ?? match[3] ?? match[4] ?? "");
  }
  return attributes;
}

type Control = { index: number; attributes: Record<string, string>; tag: "input" | "textarea" | "select"; content: string };

function controlValue(control: Control): string | undefined {
  const { attributes, tag, content } = control;
  if (tag === "textarea") return decodeEntities(content.replace(/^\r?\n/, ""));
  if (tag === "select") {
    const options = [...content.matchAll(/<option\b([^>]*)>([^<]*)/gi)].map((m) => ({
      attributes: parseAttributes(m[1] ?? ""),
      text: m[2] ?? "",
    }));
    const chosen = options.find((o) => "selected" in o.attributes) ?? options[0];
    return chosen && (chosen.attributes.value ?? decodeEntities(chosen.text).trim());
  }
  const type = (attributes.type ?? "text").toLowerCase();
  if (["submit", "button", "image", "reset", "file"].includes(type)) return undefined;
  if (type === "checkbox" || type === "radio") return "checked" in attributes ? (attributes.value ?? "on") : undefined;
  return attributes.value ?? "";
}

/**
 * Reads the first form in `html`, or the form whose id is `id`. Controls count when they sit inside the
 * form or name it with a `form="<id>"` attribute. Regex-based: meant for the simple, server-rendered
 * pages of an IdP or app, not for arbitrary HTML. Repeated field names keep the last value.
 */
export function parseForm(html: string, id?: string): ParsedForm {
  const forms = [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form\s*>/gi)].map((m) => ({
    attributes: parseAttributes(m[1] ?? ""),
    start: m.index,
    end: m.index + m[0].length,
  }));
  const form = id === undefined ? forms[0] : forms.find((f) => f.attributes.id === id);
  if (!form) throw new Error(id === undefined ? "the page has no form" : `the page has no form with id "${id}"`);

  const controls: Control[] = [];
  for (const m of html.matchAll(/<input\b([^>]*)>/gi)) {
    controls.push({ index: m.index, attributes: parseAttributes(m[1] ?? ""), tag: "input", content: "" });
  }
  for (const m of html.matchAll(/<(textarea|select)\b([^>]*)>([\s\S]*?)<\/\1\s*>/gi)) {
    const tag = m[1]?.toLowerCase() === "select" ? "select" : "textarea";
    controls.push({ index: m.index, attributes: parseAttributes(m[2] ?? ""), tag, content: m[3] ?? "" });
  }
  controls.sort((a, b) => a.index - b.index);

  const fields: Record<string, string> = {};
  for (const control of controls) {
    const owner = control.attributes.form;
    const belongs = owner !== undefined ? owner === form.attributes.id : control.index > form.start && control.index < form.end;
    const name = control.attributes.name;
    if (!belongs || !name || "disabled" in control.attributes) continue;
    const value = controlValue(control);
    if (value !== undefined) fields[name] = value;
  }
  return {
    action: form.attributes.action ?? "",
    method: (form.attributes.method ?? "get").toUpperCase(),
    fields,
  };
}
