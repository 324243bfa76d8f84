/**
 * What the remote-API unit tests share (tests/unit/api-*.test.ts): in-memory stores with one signed-in
 * session, its sealed cookie, the proxy's dependencies for APIs pointed at loopback upstreams, a
 * recording upstream, and a stand-in token endpoint (refresh and client credentials grants, DPoP).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as oauth from "oauth4webapi";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { memoryStores } from "@/lib/store/memory";
import { sealHandle, type SessionHandle } from "@/lib/session/handle";
import type { SessionRecord } from "@/lib/session/record";
import { resolveApis, type RemoteApiDefinition } from "@/lib/api/registry";
import type { RemoteApiDeps } from "@/lib/api/proxy";
import { DpopKeys, NonceCache } from "@/lib/api/dpop";
import type { Agents } from "@/lib/api/upstream";
import type { SecurityEvent } from "@/lib/log/security-log";
import type { Stores } from "@/lib/store/ports";
import { nodeFetch } from "@/lib/oidc/node-fetch";

export const APP_URL = "http://localhost:3000";
export const SECRET = "s".repeat(43);
export const COOKIE = "lockstep.session";
export const ISS = "https://idp.example.com";

export type Recorded = { method: string; url: string; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: Buffer };
export type UpstreamHandler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;

const servers: http.Server[] = [];

/** A loopback HTTP server that records every request (body read whole) and answers with `handler` (default: 200 JSON echo). */
export async function recordingUpstream(handler?: UpstreamHandler): Promise<{ url: string; seen: Recorded[]; server: http.Server }> {
  const seen: Recorded[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body });
      if (handler) handler(req, body, res);
      else res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ok: true, path: req.url }));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

export async function closeUpstreams(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve).closeAllConnections())));
}

export type TokenRequest = { params: URLSearchParams; dpop?: string; authorization?: string };

/**
 * A token endpoint: answers each grant with `issue` (default: a fresh opaque token per request,
 * `token_type` DPoP when a proof came, rotated refresh tokens). `requireNonce`: the first proof without
 * its nonce is refused with `use_dpop_nonce` (RFC 9449 §8).
 */
export async function tokenEndpoint(
  options: {
    issue?: (request: TokenRequest, n: number) => { status?: number; body: Record<string, unknown>; headers?: Record<string, string> };
    requireNonce?: string;
    delayMs?: number;
  } = {},
) {
  const requests: TokenRequest[] = [];
  let n = 0;
  const { url } = await recordingUpstream((req, body, res) => {
    const self = `http://${req.headers.host}`;
    if (req.url === "/.well-known/openid-configuration") {
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ issuer: `${self}/`, token_endpoint: `${self}/token`, dpop_signing_alg_values_supported: ["ES256"] }));
      return;
    }
    const request: TokenRequest = {
      params: new URLSearchParams(body.toString("utf8")),
      dpop: req.headers.dpop as string | undefined,
      authorization: req.headers.authorization,
    };
    requests.push(request);
    n += 1;
    const answer = () => {
      if (options.requireNonce && request.dpop && decodeJwt(request.dpop).nonce !== options.requireNonce) {
        res
          .writeHead(400, { "content-type": "application/json", "dpop-nonce": options.requireNonce })
          .end(JSON.stringify({ error: "use_dpop_nonce", error_description: "nonce required" }));
        return;
      }
      const made = options.issue?.(request, n) ?? {
        body: {
          access_token: `at-${request.params.get("grant_type")}-${n}`,
          token_type: request.dpop ? "DPoP" : "Bearer",
          expires_in: 300,
          ...(request.params.get("grant_type") === "refresh_token" ? { refresh_token: `rt-${n + 1}` } : {}),
        },
      };
      res.writeHead(made.status ?? 200, { "content-type": "application/json", ...made.headers }).end(JSON.stringify(made.body));
    };
    if (options.delayMs) setTimeout(answer, options.delayMs);
    else answer();
  });
  return { url, requests };
}

export type Harness = {
  stores: Stores;
  record: SessionRecord;
  sessionId: string;
  cookie: string;
  deps: RemoteApiDeps;
  logs: SecurityEvent[];
  /** A browser's call through the proxy: the session cookie and `X-CSRF: 1` unless told otherwise. */
  request(path: string, init?: RequestInit & { csrf?: string | null; cookie?: string | null }): Request;
};

export async function harness(options: {
  apis: Record<string, RemoteApiDefinition>;
  urls?: Record<string, string>;
  tokenUrl?: string;
  /** Token requests through lib/oidc/client.ts (getIdpMetadata, getOidcClient), as composed in lib/compose/server.ts: the test stubs OIDC_* first. */
  idpFromSettings?: boolean;
  record?: Partial<SessionRecord>;
  limits?: Partial<RemoteApiDeps["limits"]>;
  skewSeconds?: number;
}): Promise<Harness> {
  const stores = memoryStores({ ttlSeconds: 3600 });
  const now = Date.now();
  const record: SessionRecord = {
    iss: ISS,
    sub: `alice-${Math.random().toString(36).slice(2, 8)}`,
    sid: `sid-${Math.random().toString(36).slice(2, 8)}`,
    createdAt: now,
    expiresAt: now + 3_600_000,
    claims: { name: "Alice" },
    idToken: "id-token-of-alice",
    accessToken: "at-session-alice",
    accessTokenExpiresAt: now + 600_000,
    refreshToken: "rt-1",
    ...options.record,
  };
  const sessionId = await stores.sessions.create(record);
  const handle: SessionHandle = { lsid: sessionId, iss: record.iss, sub: record.sub, sid: record.sid, createdAt: record.createdAt };
  const cookie = await sealHandle(handle, SECRET, COOKIE, 3600);
  const logs: SecurityEvent[] = [];
  const cookies = { session: COOKIE, ended: "lockstep.ended", secure: false };
  const gate = { config: { AUTH_SECRET: SECRET }, cookies, sessions: stores.sessions, revocations: stores.revocations };
  const refresh = {
    ending: { sessions: stores.sessions, revocations: stores.revocations, now: Date.now },
    skewSeconds: options.skewSeconds ?? 60,
  };
  const tokenUrl = options.tokenUrl ?? "http://127.0.0.1:9/token";
  const deps: RemoteApiDeps = {
    apis: resolveApis(options.apis, options.urls ?? {}),
    gate,
    appUrl: APP_URL,
    log: (e) => logs.push(e),
    agents: new Map() as Agents,
    nonces: new NonceCache(),
    tokens: {
      refresh,
      idp: options.idpFromSettings
        ? async () => {
            const { getIdpMetadata, getOidcClient } = await import("@/lib/oidc/client");
            return { as: await getIdpMetadata(), ...getOidcClient() };
          }
        : async () => ({
            as: { issuer: ISS, token_endpoint: tokenUrl },
            client: { client_id: "lockstep-test" },
            clientAuth: oauth.ClientSecretBasic("client-secret-of-the-test"),
            options: { [oauth.customFetch]: nodeFetch(), [oauth.allowInsecureRequests]: true },
          }),
      dpop: new DpopKeys(),
      log: (e) => logs.push(e),
    },
    limits: { maxRequestBytes: 1024 * 1024, maxResponseBytes: 1024 * 1024, timeoutMs: 2_000, totalTimeoutMs: 5_000, ...options.limits },
  };
  return {
    stores,
    record,
    sessionId,
    cookie,
    deps,
    logs,
    request(path, init = {}) {
      const { csrf = "1", cookie: cookieValue = cookie, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (csrf !== null) headers.set("x-csrf", csrf);
      if (cookieValue !== null) headers.append("cookie", `${COOKIE}=${cookieValue}`);
      return new Request(`${APP_URL}${path}`, { ...rest, headers, duplex: "half" } as RequestInit);
    },
  };
}

/** The claims and header of a DPoP proof (RFC 9449 §4.2). */
export function proofOf(jwt: string) {
  return { header: decodeProtectedHeader(jwt), claims: decodeJwt(jwt) };
}

/** A token endpoint URL for `harness` from `tokenEndpoint`. */
export const tokenUrlOf = (t: { url: string }) => `${t.url}/token`;
