import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { listen } from "../idp/http";
import { demoResources, type DemoResource, type DemoResourceName } from "../idp/resources";
import { hasScope, parseAuthorization, validateAccessToken, type AccessTokenClaims, type Credentials } from "./access-token";
import { headlinesFor, holdingsFor, quotesAt, reportSummary, statementsFor } from "./data";
import { DPOP_ALGORITHMS, DpopNonces, JtiCache, validateDpopProof } from "./dpop";
import { challenges, ResourceError, wireErrors } from "./errors";

/**
 * The demo's resource server: the APIs behind Lockstep's proxy in `npm run demo`, one for each token
 * kind of apis.ts. It trusts nothing but the IdP's signature: a token must be a JWT access token for
 * its resource (RFC 9068), and the portfolio's also DPoP-bound, with a proof of its key (RFC 9449).
 * - statements (`user`): a user's token; portfolio (`user`, DPoP): the same, bound;
 * - reports (`client`): the app's own token from the client credentials grant, never a user's;
 * - news (`user-or-none`): generic headlines without a token, the user's own with one;
 * - market (`none`): public, and a request that carries a token is refused (none should be sent).
 * For local use only.
 */

export type StartResourceServerOptions = {
  /** The IdP's issuer identifier; its keys come from the jwks_uri of its discovery document. */
  issuer: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Listen address. Default 127.0.0.1: it never listens beyond loopback. */
  host?: string;
  /** RFC 9449 §9: refuse DPoP proofs without one of this server's nonces (`use_dpop_nonce`). Default false. */
  requireDpopNonce?: boolean;
  /** The clock, epoch milliseconds. Default Date.now. */
  now?: () => number;
  log?: (line: string) => void;
};

/** One request the server answered, for tests: never a token. */
export type ResourceRequestRecord = {
  resource: DemoMountName | undefined;
  path: string;
  status: number;
  /** The refusal's code, when refused. */
  code?: string;
  scheme?: Credentials["scheme"];
  sub?: string;
  clientId?: string;
  /** The token's `jti` (RFC 9068 §2.2): two requests with the same one carried the same token. */
  jti?: string;
  /** The thumbprint of the key the token was bound to and the proof signed with, for DPoP requests. */
  jkt?: string;
};

export type RunningResourceServer = {
  /** http://127.0.0.1:<port>: each resource is under `<url>/<path>/`, e.g. `<url>/statements/statements`. */
  url: string;
  /** The base URL of one resource, e.g. `<url>/portfolio`: what REMOTE_API_URLS names. */
  urlOf(name: DemoMountName): string;
  /** The last 200 requests, oldest first. */
  requests: ResourceRequestRecord[];
  close(): Promise<void>;
};

/** The validated token's claims, or undefined for a request without one (where the mount allows that). */
type Endpoint = (claims: AccessTokenClaims | undefined, now: number) => unknown;

/**
 * What a mount takes: a token for its resource (a user's, or the app's own), only the app's own
 * (`client`), a token or none (`optional`), or none at all (`none`).
 */
type Access = "token" | "client" | "optional" | "none";
type Mount = { path: string; access: Access; resource?: DemoResource; endpoints: Record<string, Endpoint> };

/** An endpoint for a subject: it is only reached with a validated token. */
const forSubject =
  (serve: (sub: string, now: number) => unknown): Endpoint =>
  (claims, now) => {
    if (!claims) throw new Error("an endpoint for a subject was reached without a token");
    return serve(claims.sub, now);
  };

const mount = (resource: DemoResource, access: Exclude<Access, "none">, endpoints: Record<string, Endpoint>): Mount => ({
  path: resource.path,
  access,
  resource,
  endpoints,
});

/** What the server serves, by mount point and the path below it. */
const mounts = {
  statements: mount(demoResources.statements, "token", { statements: forSubject((sub, now) => statementsFor(sub, now)) }),
  portfolio: mount(demoResources.portfolio, "token", { holdings: forSubject((sub) => holdingsFor(sub)) }),
  reports: mount(demoResources.reports, "client", { summary: (_claims, now) => reportSummary(now) }),
  news: mount(demoResources.news, "optional", { headlines: (claims) => headlinesFor(claims?.sub) }),
  // Public market data: no IdP resource, no token.
  market: { path: "market", access: "none", endpoints: { quotes: (_claims, now) => quotesAt(now) } },
} satisfies Record<DemoResourceName | "market", Mount>;

/** A mount of the demo resource server: what AppSpec.remoteApis maps an API to. */
export type DemoMountName = keyof typeof mounts;

const LOOPBACK_ADDRESSES = new Set(["127.0.0.1", "::1", "localhost"]);
const RECORD_LIMIT = 200;
const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

/** Finds the IdP's keys through its discovery document once, and again after a failure. */
function issuerKeys(issuer: string): () => Promise<JWTVerifyGetKey> {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  return () => {
    keys ??= (async () => {
      const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(3000) });
      if (!response.ok) throw new Error(`discovery answered ${response.status}`);
      const metadata = (await response.json()) as { issuer?: unknown; jwks_uri?: unknown };
      // RFC 8414 §3.3: the issuer in the document must be the one asked for.
      if (metadata.issuer !== issuer || typeof metadata.jwks_uri !== "string") throw new Error("discovery names another issuer");
      return createRemoteJWKSet(new URL(metadata.jwks_uri), { timeoutDuration: 3000 });
    })().catch((error: unknown) => {
      keys = undefined;
      throw error;
    });
    return keys;
  };
}

export async function startResourceServer(options: StartResourceServerOptions): Promise<RunningResourceServer> {
  const host = options.host ?? "127.0.0.1";
  if (!LOOPBACK_ADDRESSES.has(host)) throw new Error("the demo resource server only listens on a loopback address");
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const keys = issuerKeys(options.issuer);
  const replay = new JtiCache();
  const nonces = options.requireDpopNonce ? new DpopNonces() : undefined;
  const requests: ResourceRequestRecord[] = [];
  const server = createServer((req, res) => void handle(req, res));
  const { port } = await listen(server, options.port ?? 0, host);
  const url = `http://127.0.0.1:${port}`;
  // A proof's htu must name this server as the client reached it (RFC 9449 §4.3 step 9): by either loopback name.
  const hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const record = (entry: ResourceRequestRecord) => {
    requests.push(entry);
    if (requests.length > RECORD_LIMIT) requests.splice(0, requests.length - RECORD_LIMIT);
  };

  async function authenticate(req: IncomingMessage, resource: DemoResource, requestUrl: URL, at: number) {
    const credentials = parseAuthorization(req.headers.authorization);
    const claims = await validateAccessToken(credentials.token, {
      issuer: options.issuer,
      audience: resource.indicator,
      keys: await keys().catch((cause: unknown) => {
        throw new ResourceError("jwks_unavailable", "the issuer's keys could not be fetched", "RFC 9068 §4", { cause });
      }),
      now: at,
    });
    const jkt = claims.cnf?.jkt;
    let proven: string | undefined;
    if (credentials.scheme === "Bearer") {
      // RFC 9449 §7.2: a DPoP-bound token presented as a bearer token is refused.
      if (jkt !== undefined) throw new ResourceError("bound_token_as_bearer", "a DPoP-bound token needs the DPoP scheme", "RFC 9449 §7.2");
      if (resource.dpop) throw new ResourceError("dpop_required", "this resource takes DPoP-bound tokens only", "RFC 9449 §7.1");
    } else {
      // RFC 9449 §7.1: the DPoP scheme is for DPoP-bound tokens.
      if (jkt === undefined) throw new ResourceError("unbound_token_as_dpop", "the token is not DPoP-bound", "RFC 9449 §7.1");
      proven = await validateDpopProof(
        // Repeated header fields may also arrive folded into one, comma-separated (RFC 9110 §5.3); a JWS has no commas.
        (req.headersDistinct.dpop ?? []).flatMap((value) => value.split(",")).map((value) => value.trim()),
        { method: req.method ?? "", url: requestUrl, accessToken: credentials.token, jkt },
        { now: at, replay, nonces },
      );
    }
    // RFC 6750 §3.1 insufficient_scope: "The request requires higher privileges than provided by the access token."
    if (!hasScope(claims, resource.scope))
      throw new ResourceError("insufficient_scope", `the token lacks ${resource.scope}`, "RFC 6750 §3.1");
    return { credentials, claims, jkt: proven };
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const at = now();
    const requestUrl = new URL(req.url ?? "/", `http://${hosts.has(req.headers.host ?? "") ? req.headers.host : `127.0.0.1:${port}`}`);
    const [, mountPath, ...rest] = requestUrl.pathname.split("/");
    const name = (Object.keys(mounts) as DemoMountName[]).find((n) => mounts[n].path === mountPath);
    const path = rest.join("/");
    if (!name) {
      res.writeHead(404, JSON_HEADERS).end(JSON.stringify({ error: "not_found" }));
      record({ resource: undefined, path: requestUrl.pathname, status: 404 });
      return;
    }
    const { access, endpoints, resource }: Mount = mounts[name];
    const schemes = resource?.dpop ? (["DPoP"] as const) : (["Bearer", "DPoP"] as const);
    const nonceHeader: Record<string, string> = nonces ? { "dpop-nonce": nonces.current(at) } : {};
    if (req.method !== "GET") {
      res.writeHead(405, { ...JSON_HEADERS, allow: "GET" }).end(JSON.stringify({ error: "method_not_allowed" }));
      record({ resource: name, path, status: 405 });
      return;
    }
    let scheme: Credentials["scheme"] | undefined;
    try {
      let claims: AccessTokenClaims | undefined;
      let jkt: string | undefined;
      const presented = req.headers.authorization !== undefined;
      if (access === "none" || !resource) {
        // A public resource takes no token: one sent here went where it should not have.
        if (presented) throw new ResourceError("token_not_expected", "this resource is public: it takes no access token", "RFC 6750 §3.1");
      } else if (presented || access !== "optional") {
        const authenticated = await authenticate(req, resource, requestUrl, at);
        ({ claims, jkt } = authenticated);
        scheme = authenticated.credentials.scheme;
        // RFC 9068 §2.2: with the client credentials grant "the value of sub SHOULD correspond to an
        // identifier the authorization server uses to indicate the client application" (oidc-provider:
        // the client_id). A token with a user's sub is not the app's own.
        if (access === "client" && claims.sub !== claims.client_id)
          throw new ResourceError("client_token_required", "this resource serves the app's own token only, not a user's", "RFC 9068 §2.2");
      }
      const endpoint = endpoints[path];
      const status = endpoint ? 200 : 404;
      res
        .writeHead(status, { ...JSON_HEADERS, ...nonceHeader })
        .end(JSON.stringify(endpoint ? endpoint(claims, at) : { error: "not_found" }));
      record({ resource: name, path, status, scheme, sub: claims?.sub, clientId: claims?.client_id, jti: claims?.jti, jkt });
    } catch (error) {
      if (!(error instanceof ResourceError)) {
        log(`resource server: ${error instanceof Error ? error.message : String(error)}`);
        res.writeHead(500, JSON_HEADERS).end(JSON.stringify({ error: "server_error" }));
        record({ resource: name, path, status: 500 });
        return;
      }
      const refusal = error;
      const wire = wireErrors[refusal.code];
      scheme ??= /^dpop /i.test(req.headers.authorization ?? "")
        ? "DPoP"
        : /^bearer /i.test(req.headers.authorization ?? "")
          ? "Bearer"
          : undefined;
      const headers: Record<string, string | string[]> = { ...JSON_HEADERS, ...nonceHeader };
      // A public resource asks for no token: no challenge.
      if (resource && (wire.status === 401 || wire.status === 403 || wire.status === 400)) {
        headers["www-authenticate"] = challenges(refusal.code === "missing_token" ? undefined : refusal, {
          schemes,
          used: scheme,
          dpopAlgs: DPOP_ALGORITHMS,
          scope: resource.scope,
        });
      }
      if (refusal.code === "use_dpop_nonce" && nonces) headers["dpop-nonce"] = nonces.current(at);
      // Without a token there is no error code (RFC 6750 §3.1); a 503 says nothing about the token.
      const body = {
        error: wire.error ?? (wire.status === 503 ? "temporarily_unavailable" : undefined),
        code: refusal.code,
        spec: refusal.spec,
      };
      res.writeHead(wire.status, headers).end(JSON.stringify(body));
      record({ resource: name, path, status: wire.status, code: refusal.code, scheme });
      log(
        JSON.stringify({ at: new Date(at).toISOString(), event: "api.refused", resource: name, code: refusal.code, status: wire.status }),
      );
    }
  }

  let closing: Promise<void> | undefined;
  return {
    url,
    urlOf: (name) => `${url}/${mounts[name].path}`,
    requests,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
