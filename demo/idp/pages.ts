import { createHash } from "node:crypto";
import type { UserEventKind } from "./ssf/events";
import type { DeliveryRecord, EmittedSet, StreamSummary } from "./ssf/transmitter";
import type { DemoUser } from "./users";

export const IDP_NAME = "Lockstep Demo IdP";

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Escapes text for use in HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * Serializes `value` as JSON that is safe inside a `<script>` element: `<`, `>` and `&` (so no `</script>`
 * or `<!--`) and the JavaScript line terminators U+2028/U+2029 become \u escapes.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The CSP source expression that allows exactly this inline script. */
export function scriptHash(source: string): string {
  return `'sha256-${createHash("sha256").update(source, "utf8").digest("base64")}'`;
}

/** What a page may do beyond the default (no scripts, no frames, not framed). */
export type PagePolicy = {
  /** Inline scripts, allowed by their hashes. */
  scripts?: readonly string[];
  /** URLs whose origins the page may frame. */
  frameSrc?: readonly string[];
  /** URLs whose origins may frame the page. */
  frameAncestors?: readonly string[];
};

/** The origins of http(s) URLs, once each, in order; anything else is dropped. */
function origins(urls: readonly string[]): string[] {
  const parsed = urls.map((url) => URL.parse(url)).filter((url) => url?.protocol === "http:" || url?.protocol === "https:");
  return [...new Set(parsed.map((url) => url!.origin))];
}

/**
 * Headers for an HTML page the IdP renders. No `form-action`: browsers apply it to the redirects that
 * follow a form post, and those go to the apps' origins.
 */
export function pageHeaders({ scripts = [], frameSrc = [], frameAncestors = [] }: PagePolicy = {}): Record<string, string> {
  const frames = origins(frameSrc);
  const ancestors = origins(frameAncestors);
  const csp = [
    "default-src 'none'",
    "style-src 'unsafe-inline'",
    ...(scripts.length ? [`script-src ${scripts.map(scriptHash).join(" ")}`] : []),
    ...(frames.length ? [`frame-src ${frames.join(" ")}`] : []),
    "base-uri 'none'",
    `frame-ancestors ${ancestors.length ? ancestors.join(" ") : "'none'"}`,
  ];
  return {
    "content-security-policy": csp.join("; "),
    "x-content-type-options": "nosniff",
    // Not "no-referrer": under it Chromium sends `Origin: null` on the pages' own form POSTs, which the
    // admin's cross-site check (admin.ts) then refuses. "same-origin" still sends nothing to other origins.
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
  };
}

/** Headers for every HTML page the IdP renders that has no script and no frames. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = pageHeaders();

const STYLE = `
  :root { color-scheme: light dark; --accent: #2563eb; --muted: #6b7280; --error: #b91c1c; }
  * { box-sizing: border-box; }
  body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1.5rem;
    font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: Canvas; color: CanvasText; }
  main { width: 100%; max-width: 24rem; padding: 2rem; border: 1px solid color-mix(in srgb, CanvasText 15%, transparent);
    border-radius: 0.75rem; }
  main.wide { max-width: 72rem; }
  h1 { font-size: 1.35rem; margin: 0 0 0.5rem; }
  h2 { font-size: 1rem; margin: 1.5rem 0 0.5rem; }
  p { margin: 0 0 1rem; }
  .muted { color: var(--muted); font-size: 0.9rem; }
  label { display: block; font-weight: 600; margin: 1rem 0 0.25rem; }
  input { width: 100%; padding: 0.6rem 0.75rem; font: inherit; border: 1px solid var(--muted); border-radius: 0.5rem; }
  button { width: 100%; margin-top: 1.25rem; padding: 0.65rem; font: inherit; font-weight: 600; border-radius: 0.5rem;
    border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
  button.secondary { margin-top: 0.75rem; background: transparent; color: var(--accent); }
  :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
  .error { color: var(--error); font-weight: 600; }
  table { width: 100%; border-collapse: collapse; font-size: 0.9rem; }
  th, td { text-align: left; padding: 0.25rem 0.5rem 0.25rem 0; }
  code { font-size: 0.9em; overflow-wrap: anywhere; }
  li, p { overflow-wrap: anywhere; }
  /* In a table, "anywhere" would let a column shrink to a letter's width ("alice@exampl / e.com"). */
  td, td li { overflow-wrap: break-word; }
  pre { margin: 0; font-size: 0.8rem; white-space: pre-wrap; word-break: break-all; }
  /* A button's label breaks between words only, and a table's never: "End all sessions" stays whole. */
  button { overflow-wrap: normal; }
  td button { width: auto; margin: 0; padding: 0.35rem 0.75rem; font-size: 0.9rem; white-space: nowrap; }
  tbody tr { border-top: 1px solid color-mix(in srgb, CanvasText 15%, transparent); }
  td, th { vertical-align: top; }
  .warning { padding: 0.75rem; border: 1px solid var(--error); border-radius: 0.5rem; }
  footer { margin-top: 1.5rem; }
  td ul { margin: 0; padding-left: 1.1rem; }
  a { color: var(--accent); }
  form.ssf button { width: auto; margin: 0 0.25rem 0.25rem 0; }
  /* Phones: less padding, and tables become one block per row, each cell under its column's name. */
  @media (max-width: 40rem) {
    body { padding: 0.75rem; place-items: start center; }
    main { padding: 1.25rem 1rem; }
    table.stack, table.stack tbody, table.stack tr, table.stack td { display: block; width: 100%; }
    table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
    table.stack tr { padding: 0.5rem 0; }
    table.stack td { padding: 0.2rem 0; }
    table.stack td[data-label]::before { content: attr(data-label); display: block; font-size: 0.8rem; font-weight: 600; color: var(--muted); }
  }
  td code { word-break: break-all; }
  td li code { word-break: normal; }
  tr.failed td { color: var(--error); }
`;

/** `head` is trusted markup (callers escape what goes into it). */
function layout(title: string, body: string, { wide = false, head = "" }: { wide?: boolean; head?: string } = {}): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>${head}
</head>
<body>
<main${wide ? ' class="wide"' : ""}>
${body}
</main>
</body>
</html>`;
}

export type LoginPageInput = {
  action: string;
  clientName?: string;
  username?: string;
  error?: string;
  users: readonly DemoUser[];
};

export function loginPage({ action, clientName, username = "", error, users }: LoginPageInput): string {
  const title = `Sign in to ${IDP_NAME}`;
  const errorId = "login-error";
  const describedBy = error ? ` aria-describedby="${errorId}" aria-invalid="true"` : "";
  const userRows = users
    .map(
      (u) =>
        `<tr><td><code>${escapeHtml(u.username)}</code></td><td><code>${escapeHtml(u.password)}</code></td><td>${escapeHtml(u.name)}</td></tr>`,
    )
    .join("\n");
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${clientName ? `<p class="muted">to continue to <strong>${escapeHtml(clientName)}</strong></p>` : ""}
${error ? `<p class="error" id="${errorId}" role="alert">${escapeHtml(error)}</p>` : ""}
<form method="post" action="${escapeHtml(action)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus value="${escapeHtml(username)}"${describedBy}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${describedBy}>
<button type="submit">Sign in</button>
</form>
<section aria-labelledby="demo-users">
<h2 id="demo-users">Demo users</h2>
<p class="muted">This is a demo identity provider. Sign in as one of these test users:</p>
<table>
<thead><tr><th scope="col">Username</th><th scope="col">Password</th><th scope="col">Name</th></tr></thead>
<tbody>
${userRows}
</tbody>
</table>
</section>
<footer><p class="muted"><a href="/admin">Demo admin: end a user's sessions</a></p></footer>`,
  );
}

export type LogoutPageInput = {
  /** oidc-provider's own form: `<form id="op.logoutForm" ...>` with its hidden xsrf input. */
  providerForm: string;
  clientName?: string;
  userLabel?: string;
};

export function logoutPage({ providerForm, clientName, userLabel }: LogoutPageInput): string {
  const title = `Sign out of the ${IDP_NAME}?`;
  // The buttons sit outside the provider's form and join it through the `form` attribute, so its markup
  // is used exactly as oidc-provider generated it. Only "logout=yes" ends the IdP session for every app.
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${userLabel ? `<p>You are signed in as <strong>${escapeHtml(userLabel)}</strong>.</p>` : ""}
<p class="muted">Signing out ends your session here and signs you out of every app that uses it.</p>
${providerForm}
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Yes, sign me out</button>
${clientName ? `<button type="submit" form="op.logoutForm" class="secondary">Only sign out of ${escapeHtml(clientName)}</button>` : ""}`,
  );
}

export function postLogoutPage(clientName?: string): string {
  const title = `Signed out of the ${IDP_NAME}`;
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
<p>You have been signed out${clientName ? ` of ${escapeHtml(clientName)}` : ""}. You can close this window.</p>`,
  );
}

/** One front-channel logout notice: an app's frontchannel_logout_uri with `iss` and `sid` added. */
export type FrontchannelNotice = { clientId: string; clientName: string; uri: string };

/** How long the logout page waits for the apps' front-channel pages before it moves on anyway. */
export const FRONTCHANNEL_TIMEOUT_MS = 3000;

/**
 * The logout page's only script (allowed by its hash). It sits in <head> and counts iframe `load` events
 * in the capture phase, so an iframe that loads before the rest of the page is parsed still counts. Once
 * the page is parsed and every iframe has loaded, or 3 s after the page was parsed, it replaces the page
 * with the #continue link's target.
 */
export const FRONTCHANNEL_SCRIPT = `
"use strict";
(() => {
  let loaded = 0;
  let done = false;
  const go = () => {
    if (done) return;
    done = true;
    window.location.replace(document.getElementById("continue").href);
  };
  const check = () => {
    if (document.readyState !== "loading" && loaded >= document.querySelectorAll("iframe").length) go();
  };
  document.addEventListener("load", (event) => {
    if (event.target instanceof HTMLIFrameElement) {
      loaded += 1;
      check();
    }
  }, true);
  document.addEventListener("DOMContentLoaded", () => {
    check();
    setTimeout(go, ${FRONTCHANNEL_TIMEOUT_MS});
  });
})();
`;

function frontchannelFrames(notices: readonly FrontchannelNotice[]): string {
  return notices
    .map(
      (n) =>
        `<iframe hidden src="${escapeHtml(n.uri)}" title="${escapeHtml(`Sign-out notice for ${n.clientName}`)}" data-client-id="${escapeHtml(n.clientId)}"></iframe>`,
    )
    .join("\n");
}

/**
 * The page between the end of an IdP session and the redirect that oidc-provider would have sent:
 * one hidden iframe per app to notify (Front-Channel Logout 1.0), then on to `continueTo`. Without
 * JavaScript a meta refresh moves on after the same timeout.
 */
export function frontchannelLogoutPage({ notices, continueTo }: { notices: readonly FrontchannelNotice[]; continueTo: string }): string {
  const title = `Signing you out — ${IDP_NAME}`;
  const apps = notices.length === 1 ? "1 app" : `${notices.length} apps`;
  const head = `
<noscript><meta http-equiv="refresh" content="${FRONTCHANNEL_TIMEOUT_MS / 1000};url=${escapeHtml(continueTo)}"></noscript>
<script>${FRONTCHANNEL_SCRIPT}</script>`;
  return layout(
    title,
    `<h1>Signing you out…</h1>
<p role="status">Telling ${apps} that you signed out. You will be taken on in a moment.</p>
<p><a id="continue" href="${escapeHtml(continueTo)}">Continue</a></p>
${frontchannelFrames(notices)}`,
    { head },
  );
}

export function errorPage(error: string, description?: string): string {
  const title = `Something went wrong — ${IDP_NAME}`;
  return layout(
    title,
    `<h1>Something went wrong</h1>
<p class="error" role="alert">${escapeHtml(description ?? error)}</p>
<p class="muted">Error code: <code>${escapeHtml(error)}</code>. Go back to the app and try signing in again.</p>`,
  );
}

/** The unauthenticated-admin warning, shown on both admin pages. */
const ADMIN_WARNING = `<p class="warning" role="note"><strong>Demo only.</strong> This admin page has no sign-in because the demo
identity provider only listens on this machine (loopback). Never copy it into a real identity provider.</p>`;

export type AdminUserRow = {
  username: string;
  name: string;
  email: string;
  /** Live IdP sessions of this user. */
  sessionCount: number;
  /** Registered apps the user has a session with. */
  clients: { clientId: string; name: string }[];
};

/** The Shared Signals part of the admin page. */
export type AdminSsfView = {
  /** The per-user event buttons. */
  kinds: readonly { kind: UserEventKind; label: string }[];
  streams: readonly StreamSummary[];
  /** Newest first. */
  deliveries: readonly DeliveryRecord[];
};

/** The last path segment of an event type URI, e.g. "session-revoked"; the full URI goes in a title. */
function eventName(type: string): string {
  return `<span title="${escapeHtml(type)}">${escapeHtml(type.slice(type.lastIndexOf("/") + 1) || type)}</span>`;
}

function ssfActions(username: string, kinds: AdminSsfView["kinds"]): string {
  const buttons = kinds
    .map((k) => `<button type="submit" class="secondary" name="kind" value="${escapeHtml(k.kind)}">${escapeHtml(k.label)}</button>`)
    .join("");
  return `<form method="post" action="/admin/ssf-event" class="ssf"><input type="hidden" name="username" value="${escapeHtml(username)}">${buttons}</form>`;
}

function ssfStreamsSection(streams: AdminSsfView["streams"]): string {
  if (!streams.length) return `<p class="muted">No app has created a stream yet.</p>`;
  const rows = streams
    .map((s) => {
      const { config } = s;
      const method = config.delivery.method === "urn:ietf:rfc:8935" ? "push" : "poll";
      const events = config.events_delivered.length
        ? `<ul>${config.events_delivered.map((type) => `<li>${eventName(type)}</li>`).join("")}</ul>`
        : `<span class="muted">none</span>`;
      return `<tr>
<td data-label="Stream"><code>${escapeHtml(config.stream_id)}</code><br><span class="muted">${escapeHtml(s.clientId)}</span></td>
<td data-label="aud"><code>${escapeHtml(config.aud)}</code></td>
<td data-label="Delivery">${method}<br><code>${escapeHtml(config.delivery.endpoint_url)}</code></td>
<td data-label="Status">${escapeHtml(s.status)}${s.reason ? `<br><span class="muted">${escapeHtml(s.reason)}</span>` : ""}<br><span class="muted">${s.pending} waiting</span></td>
<td data-label="events_delivered">${events}</td>
</tr>`;
    })
    .join("\n");
  return `<table class="stack">
<thead><tr><th scope="col">Stream</th><th scope="col">aud</th><th scope="col">Delivery</th><th scope="col">Status</th><th scope="col">events_delivered</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

function ssfDeliveriesSection(deliveries: AdminSsfView["deliveries"]): string {
  if (!deliveries.length) return `<p class="muted">No SET has been delivered yet.</p>`;
  const rows = deliveries
    .map((d) => {
      const detail = [d.err, d.description, d.error]
        .filter((x) => x !== undefined)
        .map(escapeHtml)
        .join(": ");
      const failed = d.outcome === "rejected" || d.outcome === "failed";
      return `<tr${failed ? ' class="failed"' : ""}>
<td data-label="Time (UTC)">${escapeHtml(new Date(d.at).toISOString().slice(11, 23))}</td>
<td data-label="Event, jti">${eventName(d.eventType)}<br><code>${escapeHtml(d.jti)}</code></td>
<td data-label="Stream"><code>${escapeHtml(d.streamId)}</code></td>
<td data-label="Try">${escapeHtml(d.method)} #${d.attempt}</td>
<td data-label="Result">${d.status ? `HTTP ${d.status}` : "no answer"}, ${escapeHtml(d.outcome)}${detail ? `<br>${detail}` : ""}</td>
</tr>`;
    })
    .join("\n");
  return `<table class="stack">
<thead><tr><th scope="col">Time (UTC)</th><th scope="col">Event, jti</th><th scope="col">Stream</th><th scope="col">Try</th><th scope="col">Result</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`;
}

export function adminPage(users: readonly AdminUserRow[], ssf: AdminSsfView): string {
  const title = `Sessions — ${IDP_NAME} admin`;
  const rows = users
    .map((u) => {
      const apps = u.clients.length
        ? `<ul>${u.clients.map((c) => `<li>${escapeHtml(c.name)} (<code>${escapeHtml(c.clientId)}</code>)</li>`).join("")}</ul>`
        : `<span class="muted">none</span>`;
      return `<tr>
<td data-label="User"><strong>${escapeHtml(u.username)}</strong><br><span class="muted">${escapeHtml(u.name)}, ${escapeHtml(u.email)}</span></td>
<td data-label="IdP sessions">${u.sessionCount}</td>
<td data-label="Signed in to">${apps}</td>
<td data-label="Action"><form method="post" action="/admin/end-sessions"><input type="hidden" name="username" value="${escapeHtml(u.username)}"><button type="submit">End all sessions</button></form></td>
<td data-label="Shared Signals">${ssfActions(u.username, ssf.kinds)}</td>
</tr>`;
    })
    .join("\n");
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${ADMIN_WARNING}
<p class="muted">"End all sessions" ends every IdP session of the user (the next sign-in asks for the password), sends each app
the user had a session with one back-channel logout token with only <code>sub</code>, meaning every session of the user there,
and loads each of those apps' front-channel logout pages (with <code>iss</code> and the session's <code>sid</code>) in hidden iframes.</p>
<p class="muted">The Shared Signals buttons send one CAEP or RISC event about the user (<code>sub_id</code> in <code>iss_sub</code> format)
to every stream whose <code>events_delivered</code> has its type. They only send the signal: the user's IdP sessions and account stay as they are.</p>
<table class="stack">
<thead><tr><th scope="col">User</th><th scope="col">IdP sessions</th><th scope="col">Signed in to</th><th scope="col"><span class="muted">Action</span></th><th scope="col"><span class="muted">Shared Signals</span></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<h2>Shared Signals streams</h2>
<p class="muted">Transmitter metadata: <a href="/.well-known/ssf-configuration"><code>/.well-known/ssf-configuration</code></a></p>
${ssfStreamsSection(ssf.streams)}
<h2>Latest SET deliveries</h2>
${ssfDeliveriesSection(ssf.deliveries)}`,
    { wide: true },
  );
}

export type AdminSsfResult = { username: string; label: string; sets: readonly EmittedSet[] };

const DISPOSITIONS: Record<EmittedSet["disposition"], string> = {
  sent: "pushing (see the deliveries on the admin page)",
  queued: "queued for the app's next poll",
  held: "held: the stream is paused",
  dropped: "dropped: the stream is disabled",
};

export function adminSsfResultPage({ username, label, sets }: AdminSsfResult): string {
  const title = `Shared Signals: ${label} for ${username} — ${IDP_NAME} admin`;
  const rows = sets
    .map(
      (set) => `<tr>
<td data-label="Stream"><code>${escapeHtml(set.streamId)}</code></td>
<td data-label="SET claims"><pre>${escapeHtml(JSON.stringify(set.claims, null, 2))}</pre></td>
<td data-label="Delivery">${escapeHtml(DISPOSITIONS[set.disposition])}</td>
</tr>`,
    )
    .join("\n");
  const body = sets.length
    ? `<table class="stack">
<thead><tr><th scope="col">Stream</th><th scope="col">SET claims (RS256, <code>typ: secevent+jwt</code>)</th><th scope="col">Delivery</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`
    : `<p>No stream delivers this event type, so no SET was sent.</p>`;
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${ADMIN_WARNING}
<p role="status">Signed ${sets.length} SET${sets.length === 1 ? "" : "s"} about <strong>${escapeHtml(username)}</strong>.</p>
${body}
<p><a href="/admin">Back to the admin page</a></p>`,
    { wide: true },
  );
}

export type AdminDelivery = {
  clientId: string;
  clientName: string;
  uri: string;
  /** The logout token's claims. */
  claims: Record<string, unknown>;
  /** The app's HTTP status; 0 when there was no answer. */
  status: number;
  /** Why there was no answer. */
  error?: string;
};

export type AdminResult = {
  username: string;
  sessionsEnded: number;
  deliveries: readonly AdminDelivery[];
  /** Front-channel logout pages of the apps in the ended sessions, rendered as hidden iframes. */
  frontchannel: readonly FrontchannelNotice[];
};

export function adminResultPage({ username, sessionsEnded, deliveries, frontchannel }: AdminResult): string {
  const title = `Ended ${username}'s sessions — ${IDP_NAME} admin`;
  const rows = deliveries
    .map((d) => {
      const answer = d.status ? `HTTP ${d.status}` : `no answer${d.error ? `: ${escapeHtml(d.error)}` : ""}`;
      return `<tr>
<td data-label="App">${escapeHtml(d.clientName)}<br><code>${escapeHtml(d.uri)}</code></td>
<td data-label="Token claims"><pre>${escapeHtml(JSON.stringify(d.claims, null, 2))}</pre></td>
<td data-label="Answer"${d.status >= 200 && d.status < 300 ? "" : ' class="error"'}>${answer}</td>
</tr>`;
    })
    .join("\n");
  const sent = deliveries.length
    ? `<h2>Back-channel logout tokens sent</h2>
<table class="stack">
<thead><tr><th scope="col">App</th><th scope="col">Token claims (RS256, <code>typ: logout+jwt</code>)</th><th scope="col">Answer</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`
    : `<p>No app with a back-channel logout URI had a session of this user, so no logout token was sent.</p>`;
  const loaded = frontchannel.length
    ? `<h2>Front-channel logout pages loaded</h2>
<p class="muted">Loaded here in hidden iframes: they only reach the apps' sessions when this is the user's own browser.</p>
<ul>
${frontchannel.map((n) => `<li>${escapeHtml(n.clientName)}: <code>${escapeHtml(n.uri)}</code></li>`).join("\n")}
</ul>
${frontchannelFrames(frontchannel)}`
    : "";
  return layout(
    title,
    `<h1>${escapeHtml(title)}</h1>
${ADMIN_WARNING}
<p role="status">Ended ${sessionsEnded} IdP session${sessionsEnded === 1 ? "" : "s"} of <strong>${escapeHtml(username)}</strong>.</p>
${sent}
${loaded}
<p><a href="/admin">Back to the admin page</a></p>`,
    { wide: true },
  );
}
