// Shared by the demo IdP tests: a stand-in for the apps' back-channel logout endpoints, and the
// relying-party side of the code flow.
import { createHash, randomBytes } from "node:crypto";
import { SignJWT, exportJWK, generateKeyPair, calculateJwkThumbprint, type CryptoKey, type JWK } from "jose";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { DemoClient } from "../idp/provider";
import { parseForm, type HttpSession } from "../../tests/support/http-client";

export const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";

export type LogoutDelivery = {
  path: string;
  contentType: string | undefined;
  logoutToken: string;
  /** Every form field of the POST. */
  fields: Record<string, string>;
};

export type AppServer = {
  /** http://localhost:<port> */
  origin: string;
  deliveries: LogoutDelivery[];
  /** The status to answer a POST to `path` with. Default: always 200. */
  statusFor: (path: string) => number;
  close(): Promise<void>;
};

/** Stands in for the apps: it only has to take back-channel logout POSTs. */
export async function startAppServer(): Promise<AppServer> {
  const app: AppServer = {
    origin: "",
    deliveries: [],
    statusFor: () => 200,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
  const server: Server = createServer((req, res) => {
    if (req.method !== "POST") {
      res.writeHead(404).end();
      return;
    }
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const fields = Object.fromEntries(new URLSearchParams(body));
      app.deliveries.push({
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        logoutToken: fields.logout_token ?? "",
        fields,
      });
      res.writeHead(app.statusFor(req.url ?? "")).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  app.origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return app;
}

/** A localhost port nothing listens on (for an app that is down). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const random = () => randomBytes(16).toString("base64url");
export const callbackUrl = (client: DemoClient) => `${client.appUrl}/api/auth/callback/oidc`;
/** Where Lockstep's silent (prompt=none) session re-check comes back to. */
export const checkCallbackUrl = (client: DemoClient) => `${client.appUrl}/api/session/check/callback`;

export type PendingAuthorization = { url: URL; verifier: string; state: string; nonce: string; redirectUri: string };

export type AuthorizationOptions = {
  /** Default: the sign-in callback. */
  redirectUri?: string;
  prompt?: string;
  /** Send code_challenge. Default true. */
  pkce?: boolean;
  /** Default "openid profile email", as Lockstep asks. */
  scope?: string;
  /** RFC 8707 §2.1: `resource` parameters, one per resource. */
  resource?: string[];
  /** RFC 9126: push the request to the PAR endpoint first (client_secret_basic) and send only client_id and request_uri. */
  par?: boolean;
};

/** An authorization request as Lockstep sends it: code flow, PKCE S256, state and nonce. */
export function authorizationRequest(issuer: string, client: DemoClient, options: AuthorizationOptions = {}): PendingAuthorization {
  const { redirectUri = callbackUrl(client), prompt, pkce = true, scope = "openid profile email", resource = [] } = options;
  const verifier = randomBytes(32).toString("base64url");
  const state = random();
  const nonce = random();
  const url = new URL(`${issuer}/auth`);
  url.search = authorizationParams(client, {
    redirectUri,
    prompt,
    scope,
    state,
    nonce,
    verifier: pkce ? verifier : undefined,
    resource,
  }).toString();
  return { url, verifier, state, nonce, redirectUri };
}

function authorizationParams(
  client: DemoClient,
  p: { redirectUri: string; prompt?: string; scope: string; state: string; nonce: string; verifier?: string; resource: string[] },
): URLSearchParams {
  const params = new URLSearchParams({
    client_id: client.clientId,
    redirect_uri: p.redirectUri,
    response_type: "code",
    scope: p.scope,
    state: p.state,
    nonce: p.nonce,
    ...(p.verifier ? { code_challenge: createHash("sha256").update(p.verifier).digest("base64url"), code_challenge_method: "S256" } : {}),
    ...(p.prompt ? { prompt: p.prompt } : {}),
  });
  for (const r of p.resource) params.append("resource", r);
  return params;
}

/**
 * RFC 9126 §2: pushes the authorization request of `pending` to the PAR endpoint (client_secret_basic)
 * and answers the authorization URL that carries only `client_id` and the `request_uri` (§4).
 */
export async function pushAuthorizationRequest(issuer: string, client: DemoClient, pending: PendingAuthorization): Promise<URL> {
  const res = await fetch(`${issuer}/request`, {
    method: "POST",
    headers: { authorization: basicAuth(client) },
    body: pending.url.searchParams,
  });
  const body = (await res.json()) as { request_uri?: string };
  if (res.status !== 201 || !body.request_uri) throw new Error(`PAR answered ${res.status}: ${JSON.stringify(body)}`);
  const url = new URL(`${issuer}/auth`);
  url.search = new URLSearchParams({ client_id: client.clientId, request_uri: body.request_uri }).toString();
  return url;
}

/** RFC 6749 §2.3.1: client_secret_basic, with the id and secret form-encoded first. */
export const basicAuth = (client: DemoClient) =>
  `Basic ${Buffer.from(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret ?? "")}`).toString("base64")}`;

/** A token request with client_secret_basic; `headers` adds e.g. a DPoP proof. Repeated `resource` values go as an array. */
export async function tokenRequest(
  issuer: string,
  client: DemoClient,
  params: Record<string, string | string[]>,
  headers: Record<string, string> = {},
) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) for (const v of [value].flat()) body.append(name, v);
  const res = await fetch(`${issuer}/token`, { method: "POST", headers: { authorization: basicAuth(client), ...headers }, body });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

/** A DPoP key pair (RFC 9449 §4), ES256 unless told. */
export type DpopKey = { privateKey: CryptoKey; publicJwk: JWK; thumbprint: string; alg: string };

export async function dpopKey(alg: "ES256" | "EdDSA" = "ES256"): Promise<DpopKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  return { privateKey, publicJwk, thumbprint: await calculateJwkThumbprint(publicJwk), alg };
}

export type DpopProofOptions = {
  htm: string;
  htu: string;
  /** The access token the proof goes with: its hash becomes `ath` (RFC 9449 §4.2). */
  accessToken?: string;
  nonce?: string;
  /** Seconds since the epoch. Default now. */
  iat?: number;
  jti?: string;
  /** Header or claims to change or drop (undefined), for refusal tests. */
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  /** Sign with this key but put `key`'s public key in the header (a proof by the wrong key). */
  signWith?: DpopKey;
};

/** A DPoP proof JWT (RFC 9449 §4.2): typ dpop+jwt, the public key in `jwk`, jti, htm, htu, iat, and ath / nonce when given. */
export async function dpopProof(key: DpopKey, options: DpopProofOptions): Promise<string> {
  const claims: Record<string, unknown> = {
    jti: options.jti ?? random(),
    htm: options.htm,
    htu: options.htu,
    iat: options.iat ?? Math.floor(Date.now() / 1000),
    ...(options.accessToken ? { ath: createHash("sha256").update(options.accessToken).digest("base64url") } : {}),
    ...(options.nonce ? { nonce: options.nonce } : {}),
    ...options.claims,
  };
  const header = { typ: "dpop+jwt", alg: key.alg, jwk: key.publicJwk, ...options.header } as { alg: string };
  const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return new SignJWT(defined(claims)).setProtectedHeader(defined(header) as { alg: string }).sign((options.signWith ?? key).privateKey);
}

export function redeem(issuer: string, client: DemoClient, code: string, verifier: string, redirectUri = callbackUrl(client)) {
  return tokenRequest(issuer, client, { grant_type: "authorization_code", code, redirect_uri: redirectUri, code_verifier: verifier });
}

/**
 * Runs an authorization request in `browser` up to the redirect back to the app. Signs in with
 * `password` when the IdP shows its login page (pass undefined to require single sign-on) and answers
 * the code, or undefined when the IdP stopped at a page (`page` then holds it).
 */
export async function authorize(
  browser: HttpSession,
  issuer: string,
  client: DemoClient,
  credentials?: { username: string; password: string },
  options: AuthorizationOptions = {},
): Promise<{ pending: PendingAuthorization; code?: string; callback?: URL; page?: { url: string; status: number; html: string } }> {
  const pending = authorizationRequest(issuer, client, options);
  const leavesIdp = (url: URL) => url.origin !== issuer;
  const start = options.par ? await pushAuthorizationRequest(issuer, client, pending) : pending.url;
  let res = await browser.fetch(start, {}, { follow: true, stopAt: leavesIdp });
  if (res.status === 200 && credentials) {
    res = await browser.submit(parseForm(await res.text()), res.url, credentials, { follow: true, stopAt: leavesIdp });
  }
  if (res.status !== 303) return { pending, page: { url: res.url, status: res.status, html: await res.text() } };
  const callback = new URL(res.headers.get("location") ?? "");
  if (callback.searchParams.get("state") !== pending.state) throw new Error("the IdP returned another state");
  return { pending, callback, code: callback.searchParams.get("code") ?? undefined };
}

const ATTRIBUTE_ENTITIES: Record<string, string> = { "&amp;": "&", "&quot;": '"', "&#39;": "'", "&lt;": "<", "&gt;": ">" };
const decodeAttribute = (value: string) => value.replace(/&(?:amp|quot|#39|lt|gt);/g, (e) => ATTRIBUTE_ENTITIES[e] ?? e);

function attributesOf(tag: string): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const m of tag.matchAll(/([a-z-]+)(?:="([^"]*)")?/g)) attributes[m[1]!] = decodeAttribute(m[2] ?? "");
  return attributes;
}

export type RenderedIframe = { src: URL; clientId: string; hidden: boolean; title: string };

/** The `<iframe>` elements of a server-rendered page, in order (attributes decoded). */
export function iframesOf(html: string): RenderedIframe[] {
  return [...html.matchAll(/<iframe\b([^>]*)><\/iframe>/g)].map((m) => {
    const attributes = attributesOf(m[1] ?? "");
    return {
      src: new URL(attributes.src ?? ""),
      clientId: attributes["data-client-id"] ?? "",
      hidden: "hidden" in attributes,
      title: attributes.title ?? "",
    };
  });
}

/** The target of the front-channel logout page's "Continue" link, where its script sends the browser. */
export function continueLinkOf(html: string): string {
  const match = /<a id="continue" href="([^"]*)">/.exec(html);
  if (!match) throw new Error("the page has no continue link");
  return decodeAttribute(match[1]!);
}

/** SM 1.0: base64url(sha256(client_id + " " + origin + " " + browser_state + " " + salt)) + "." + salt. */
export function expectedSessionState(clientId: string, origin: string, browserState: string, salt: string): string {
  return `${createHash("sha256").update(`${clientId} ${origin} ${browserState} ${salt}`).digest("base64url")}.${salt}`;
}

/** Whether a session_state matches the browser state for this client and RP origin. */
export function sessionStateMatches(
  sessionState: string | null,
  clientId: string,
  origin: string,
  browserState: string | undefined,
): boolean {
  if (!sessionState || !browserState) return false;
  const salt = sessionState.slice(sessionState.lastIndexOf(".") + 1);
  return sessionState === expectedSessionState(clientId, origin, browserState, salt);
}

/** One request a SetReceiver got. */
export type ReceivedPush = {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Epoch milliseconds. */
  at: number;
};

/** How a SetReceiver answers one request; by default 202 with no body. */
export type PushAnswer = { status: number; body?: string; delayMs?: number };

export type SetReceiver = {
  /** http://localhost:<port> */
  origin: string;
  received: ReceivedPush[];
  answer: (push: ReceivedPush) => PushAnswer;
  close(): Promise<void>;
};

/** Stands in for an RFC 8935 push endpoint: it records every request and answers as `answer` says. */
export async function startSetReceiver(): Promise<SetReceiver> {
  const timers = new Set<NodeJS.Timeout>();
  const receiver: SetReceiver = {
    origin: "",
    received: [],
    answer: () => ({ status: 202 }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const push: ReceivedPush = { path: req.url ?? "", headers: req.headers, body, at: Date.now() };
      receiver.received.push(push);
      const { status, body: answerBody, delayMs = 0 } = receiver.answer(push);
      const send = () => {
        res.writeHead(status, answerBody === undefined ? {} : { "content-type": "application/json" }).end(answerBody);
      };
      if (delayMs <= 0) send();
      else {
        const timer = setTimeout(() => {
          timers.delete(timer);
          send();
        }, delayMs);
        timers.add(timer);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  receiver.origin = `http://localhost:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** Waits, in 20 ms steps, until `check` answers something other than undefined or false; throws after `timeoutMs`. */
export async function eventually<T>(check: () => T | undefined | false, timeoutMs = 3000, what = "the condition"): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
