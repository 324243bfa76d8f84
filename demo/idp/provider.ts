import { randomBytes } from "node:crypto";
import { createServer, type RequestListener } from "node:http";
import type { JWK } from "jose";
import Provider, { errors, type ClientMetadata, type Configuration, type KoaContextWithOIDC, type SigningAlgorithm } from "oidc-provider";
import { DemoStore } from "./adapter";
import { createAdmin, matchAdminRoute } from "./admin";
import {
  FRONTCHANNEL_CLIENT_METADATA,
  FRONTCHANNEL_DISCOVERY,
  frontchannelLogoutMiddleware,
  includeSidForFrontchannel,
} from "./frontchannel";
import { listen } from "./http";
import { handleInteraction, matchInteractionRoute } from "./interactions";
import { createSigningKeys, type SignOptions } from "./keys";
import { loopbackDemoFetch } from "./loopback-fetch";
import { errorPage, logoutPage, PAGE_HEADERS, postLogoutPage } from "./pages";
import { findResource } from "./resources";
import {
  clientAuthMethods,
  clientAuthRecorder,
  PRIVATE_JWK_MEMBERS,
  type ClientAuthentication,
  type ClientAuthMethod,
} from "./client-auth";
import { BrowserState, CHECK_SESSION_PATH, createCheckSession, installSessionState, isCheckSessionRequest } from "./session-management";
import { createSsfEndpoints, matchSsfRoute } from "./ssf/endpoints";
import type { UserEventKind } from "./ssf/events";
import type { StreamConfig, StreamStatus } from "./ssf/streams";
import { createTransmitter, type DeliveryRecord, type SsfApi, type SsfTimings, type Transmitter } from "./ssf/transmitter";
import { accountFinder, demoUsers, findUser } from "./users";

/** A relying party registered with the demo IdP. Lockstep's routes decide the URIs derived from `appUrl`. */
export type DemoClient = {
  clientId: string;
  /** Required unless `tokenEndpointAuthMethod` is "private_key_jwt" (then it is not registered at all). */
  clientSecret?: string;
  /** The app's origin (and base path, if any), e.g. http://localhost:3000. */
  appUrl: string;
  name: string;
  /** Register the app's back-channel logout endpoint. Default true. */
  backchannelLogout?: boolean;
  /**
   * Registered as `backchannel_logout_session_required`. Default false: the logout tokens sent to this app
   * then carry no `sid` (sub only: all of the user's sessions).
   */
  backchannelSessionRequired?: boolean;
  /**
   * Register the app's front-channel logout page, `appUrl + "/api/frontchannel-logout"`, with
   * `frontchannel_logout_session_required: true`. Default true. The app's ID tokens carry `sid` when this
   * is on or when it has a back-channel logout URI with backchannelSessionRequired; otherwise they do not.
   */
  frontchannelLogout?: boolean;
  /**
   * Lets the app manage one Shared Signals stream at this IdP's SSF transmitter, sending this value as
   * `Authorization: Bearer <token>` (RFC 6750 token characters only; unique per client). No token: no stream.
   */
  ssfManagementToken?: string;
  /**
   * Whether this app's ID tokens carry the `profile` and `email` claims its scopes ask for. Default true.
   * False: its ID tokens carry `sub` (and the protocol claims) only, and `name`, `email` and
   * `email_verified` come from the userinfo endpoint alone, as from an IdP that follows OpenID Connect
   * Core §5.4 when it issues an access token (oidc-provider's `conformIdTokenClaims`, per client here).
   */
  idTokenClaims?: boolean;
  /**
   * How the app authenticates at the token, PAR, introspection and revocation endpoints (RFC 6749 §2.3.1,
   * RFC 7523 §2.2): "client_secret_basic" (the default), "client_secret_post" or "private_key_jwt"
   * (a client assertion signed with a key of `jwks`, and nothing else). oidc-provider takes
   * client_secret_basic and client_secret_post alike for a client registered with either:
   * `RunningIdp.clientAuthentications` tells which one a request used.
   */
  tokenEndpointAuthMethod?: ClientAuthMethod;
  /** The app's public keys (RFC 7517 JWK Set), for "private_key_jwt". Private members are refused. */
  jwks?: { keys: JWK[] };
  /** RFC 9126 §6: refuse authorization requests that were not pushed first (`request_uri` from PAR). Default false. */
  requirePushedAuthorizationRequests?: boolean;
};

export type StartIdpOptions = {
  /** 0 picks a free port. */
  port: number;
  /** Listen address. Default 127.0.0.1: the demo IdP never listens beyond loopback. */
  host?: string;
  /** Host name in the issuer. Default "localhost" (Next.js rewrites 127.0.0.1 to localhost). */
  publicHost?: string;
  clients: DemoClient[];
  /** Default 600. */
  accessTokenTtlSeconds?: number;
  /** IdP session lifetime; grants and refresh tokens live as long. Default 8 hours. */
  sessionTtlSeconds?: number;
  log?: (line: string) => void;
  /** Shared Signals transmitter timings (push retry waits, long-poll bound), e.g. shorter ones for tests. */
  ssf?: SsfTimings;
  /**
   * RFC 9449 §8: the token endpoint refuses DPoP proofs without a server nonce (`use_dpop_nonce`, with a
   * `DPoP-Nonce` header to retry with). Default false: nonces are offered in `DPoP-Nonce` but not required.
   */
  dpopRequireNonce?: boolean;
};

export type RunningIdp = {
  /** http://<publicHost>:<port> */
  issuer: string;
  close(): Promise<void>;
  provider: Provider;
  /**
   * Signs `claims` exactly as given into a compact JWS with the IdP's published key for `options.alg`
   * (default RS256; its kid in the header; no typ unless `options.header` gives one). For tests that
   * build valid and mutated logout tokens which verify against the real jwks_uri.
   */
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /**
   * What the admin page's "End all sessions" does: ends every IdP session of the demo user and sends each
   * app with a back-channel logout URI that the user had a session at one sub-only logout token. Answers
   * each app's HTTP status (0: no answer). Throws for an unknown username.
   */
  endAllSessions(username: string): Promise<{ client: string; status: number }[]>;
  /**
   * POSTs `logout_token=<token>&ignored_parameter=x` to the client's back-channel logout URI (loopback
   * URIs only) and answers the HTTP status. Rejects on network errors and after 2.5 s.
   */
  sendLogoutToken(clientId: string, token: string): Promise<number>;
  /**
   * The SSF 1.0 transmitter (metadata at /.well-known/ssf-configuration): emit CAEP/RISC events, verify,
   * change stream status, and look at streams and delivery attempts.
   */
  ssf: SsfApi;
  /**
   * How clients authenticated at the token, PAR, introspection and revocation endpoints, oldest first
   * (the last 200). oidc-provider takes client_secret_basic and client_secret_post interchangeably for
   * a client registered with either: this is how a test shows which one an app sent.
   */
  clientAuthentications: ClientAuthentication[];
};

export type { ClientAuthentication, ClientAuthMethod };
export type { DeliveryRecord, SsfApi, SsfTimings, StreamConfig, StreamStatus, UserEventKind };

const LOOPBACK_ADDRESSES = new Set(["127.0.0.1", "::1", "localhost"]);
/** RFC 6750 §2.1 b64token: what can travel in `Authorization: Bearer`. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

function checkSsfTokens(clients: readonly DemoClient[]): void {
  const tokens = clients.flatMap((c) => (c.ssfManagementToken === undefined ? [] : [c.ssfManagementToken]));
  if (!tokens.every((token) => BEARER_TOKEN.test(token)))
    throw new Error("an ssfManagementToken must be a bearer token (RFC 6750 token characters)");
  if (new Set(tokens).size !== tokens.length) throw new Error("each demo client needs its own ssfManagementToken");
}

function checkClientAuth(clients: readonly DemoClient[]): void {
  for (const client of clients) {
    const method = client.tokenEndpointAuthMethod ?? "client_secret_basic";
    if (!clientAuthMethods.includes(method)) throw new Error(`demo client ${client.clientId}: unknown tokenEndpointAuthMethod`);
    if (method === "private_key_jwt") {
      if (!client.jwks?.keys.length) throw new Error(`demo client ${client.clientId}: private_key_jwt needs jwks (the app's public keys)`);
    } else if (!client.clientSecret) {
      throw new Error(`demo client ${client.clientId}: ${method} needs a clientSecret`);
    }
    if (client.jwks?.keys.some((key) => PRIVATE_JWK_MEMBERS.some((member) => member in key))) {
      throw new Error(`demo client ${client.clientId}: jwks must hold public keys only`);
    }
  }
}

/** The IdP's cookie names. Browsers share localhost cookies across ports, so they keep clear of the apps' names. */
const COOKIE_NAMES = { session: "idp_session", interaction: "idp_interaction", resume: "idp_resume" };

function clientMetadata(client: DemoClient): ClientMetadata {
  const base = client.appUrl.replace(/\/+$/, "");
  const authMethod = client.tokenEndpointAuthMethod ?? "client_secret_basic";
  return {
    client_id: client.clientId,
    // A private_key_jwt client has no secret: nothing else can authenticate it.
    ...(authMethod === "private_key_jwt" ? {} : { client_secret: client.clientSecret }),
    ...(client.jwks ? { jwks: { keys: client.jwks.keys } } : {}),
    client_name: client.name,
    // "web" with the code flow is what lets oidc-provider accept http://localhost URIs.
    application_type: "web",
    // The second one is where Lockstep's silent re-check (prompt=none, after its Session Management
    // iframe said "changed") comes back to.
    redirect_uris: [`${base}/api/auth/callback/oidc`, `${base}/api/session/check/callback`],
    post_logout_redirect_uris: [`${base}/api/logout/callback`],
    ...(client.backchannelLogout === false ? {} : { backchannel_logout_uri: `${base}/api/backchannel-logout` }),
    backchannel_logout_session_required: client.backchannelSessionRequired ?? false,
    ...(client.frontchannelLogout === false
      ? {}
      : { frontchannel_logout_uri: `${base}/api/frontchannel-logout`, frontchannel_logout_session_required: true }),
    // client_credentials: the app's own tokens for the demo resources (RFC 6749 §4.4).
    grant_types: ["authorization_code", "refresh_token", "client_credentials"],
    response_types: ["code"],
    token_endpoint_auth_method: authMethod,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests ?? false,
    id_token_signed_response_alg: "RS256",
  };
}

/** Every token the IdP signs is RS256; the ES256 key is published but not used by the provider itself. */
const SIGNING_ALGS: SigningAlgorithm[] = ["RS256"];

function sendPage(ctx: KoaContextWithOIDC, html: string): void {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) ctx.set(name, value);
  ctx.type = "html";
  ctx.body = html;
}

/**
 * Starts the demo IdP: a real oidc-provider with a login form, SSO, RP-initiated, back-channel and
 * front-channel logout, and Session Management (check_session_iframe, session_state).
 */
export async function startIdp(opts: StartIdpOptions): Promise<RunningIdp> {
  const host = opts.host ?? "127.0.0.1";
  if (!LOOPBACK_ADDRESSES.has(host)) throw new Error("the demo IdP only listens on a loopback address");
  checkSsfTokens(opts.clients);
  checkClientAuth(opts.clients);
  const log = opts.log ?? (() => {});
  const accessTokenTtl = opts.accessTokenTtlSeconds ?? 600;
  const sessionTtl = opts.sessionTtlSeconds ?? 8 * 3600;

  const keys = await createSigningKeys();
  const store = new DemoStore();
  // Requests that arrive while the provider is still being set up get a 503.
  let handle: RequestListener = (_req, res) => res.writeHead(503, { "retry-after": "1" }).end();
  const server = createServer((req, res) => handle(req, res));
  // The issuer names the port, so the port has to be known before the provider exists.
  const { port } = await listen(server, opts.port, host);
  const issuer = `http://${opts.publicHost ?? "localhost"}:${port}`;
  const browserState = new BrowserState({ secure: issuer.startsWith("https:"), maxAgeSeconds: sessionTtl });
  const metadata = opts.clients.map(clientMetadata);
  const idTokenClaims = new Map(opts.clients.map((c) => [c.clientId, c.idTokenClaims ?? true]));

  const configuration: Configuration = {
    adapter: store.Adapter,
    clients: metadata,
    extraClientMetadata: FRONTCHANNEL_CLIENT_METADATA,
    jwks: keys.providerJwks,
    // Without this, a key without `alg` advertises every algorithm it could do (PS256, ES256, ...).
    enabledJWA: {
      idTokenSigningAlgValues: SIGNING_ALGS,
      userinfoSigningAlgValues: SIGNING_ALGS,
      introspectionSigningAlgValues: SIGNING_ALGS,
      authorizationSigningAlgValues: SIGNING_ALGS,
    },
    cookies: {
      keys: [randomBytes(32).toString("base64url")],
      names: COOKIE_NAMES,
    },
    // Front-Channel Logout and Session Management are the demo's own (frontchannel.ts, session-management.ts).
    discovery: { ...FRONTCHANNEL_DISCOVERY, check_session_iframe: `${issuer}${CHECK_SESSION_PATH}` },
    claims: { openid: ["sub"], profile: ["name"], email: ["email", "email_verified"] },
    // Put profile and email claims in the ID token too: Auth.js builds its profile from the ID token.
    // A client registered with `idTokenClaims: false` gets them at userinfo only (findAccount below).
    conformIdTokenClaims: false,
    responseTypes: ["code"],
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      // RFC 8707: the demo resources get JWT access tokens (RFC 9068, RS256, aud = the resource) at the
      // code, refresh-token and client credentials grants when the token request names one with
      // `resource`. Without it the code and refresh grants keep issuing the opaque userinfo token
      // (oidc-provider's rule for an openid grant), so sign-in and userinfo work as before.
      resourceIndicators: {
        enabled: true,
        getResourceServerInfo: (ctx, indicator) => {
          const resource = findResource(indicator);
          // RFC 8707 §2: a resource the client may not have at this grant is invalid_target. The
          // client credentials grant is the app's own (`client`); any other request is for a user.
          const grant = ctx.oidc.route === "token" && ctx.oidc.params?.grant_type === "client_credentials" ? "client" : "user";
          if (!resource || !resource.grants.includes(grant)) throw new errors.InvalidTarget();
          return {
            scope: resource.scope,
            audience: resource.indicator,
            accessTokenFormat: "jwt",
            accessTokenTTL: accessTokenTtl,
            jwt: { sign: { alg: "RS256" } },
          };
        },
      },
      clientCredentials: { enabled: true },
      // RFC 9449. A nonce is always offered (DPoP-Nonce), and demanded only with dpopRequireNonce (§8).
      dPoP: { enabled: true, nonceSecret: randomBytes(32), requireNonce: () => opts.dpopRequireNonce ?? false },
      // RFC 9126: per client (require_pushed_authorization_requests), never for everyone.
      pushedAuthorizationRequests: { enabled: true, requirePushedAuthorizationRequests: false },
      backchannelLogout: { enabled: true },
      userinfo: { enabled: true },
      revocation: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      // RFC 7662: a client may introspect only its own tokens (§4: the server decides who may ask about
      // what; any other client gets `active: false`). A refresh token issued without offline_access is
      // bound to the IdP session (expiresWithSession) and inactive once it ends; the logout also revokes
      // its grant. With offline_access it outlives the session (persistsLogout): still active.
      introspection: { enabled: true, allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          const accountId = ctx.oidc.session?.accountId;
          const user = accountId ? findUser(accountId) : undefined;
          sendPage(ctx, logoutPage({ providerForm: form, clientName: ctx.oidc.client?.clientName, userLabel: user?.email }));
        },
        postLogoutSuccessSource: (ctx) => sendPage(ctx, postLogoutPage(ctx.oidc.client?.clientName)),
      },
    },
    findAccount: accountFinder({ idTokenClaims: (clientId) => idTokenClaims.get(clientId) ?? true }),
    // Refresh tokens without offline_access: Lockstep refreshes while the IdP session lives, and the
    // tokens still expire with that session (oidc-provider's expiresWithSession default).
    issueRefreshToken: (_ctx, client, source) => source.kind === "AuthorizationCode" && client.grantTypeAllowed("refresh_token"),
    clientBasedCORS: (_ctx, origin, client) => (client.redirectUris ?? []).some((uri) => URL.parse(uri)?.origin === origin),
    ttl: {
      AccessToken: accessTokenTtl,
      ClientCredentials: accessTokenTtl,
      IdToken: accessTokenTtl,
      Interaction: 10 * 60,
      Session: sessionTtl,
      Grant: sessionTtl,
      RefreshToken: sessionTtl,
    },
    renderError: (ctx, out) => sendPage(ctx, errorPage(out.error, out.error_description)),
    fetch: loopbackDemoFetch,
  };

  let provider: Provider;
  try {
    provider = new Provider(issuer, configuration);
    includeSidForFrontchannel(provider);
    // oidc-provider validates static clients on first use; a bad appUrl should stop the start instead.
    for (const { clientId } of opts.clients) {
      await provider.Client.find(clientId).catch((error: unknown) => {
        const detail = error instanceof errors.OIDCProviderError ? (error.error_description ?? error.error) : String(error);
        throw new Error(`demo client ${clientId} is invalid: ${detail}`, { cause: error });
      });
    }
  } catch (error) {
    server.close();
    throw error;
  }
  provider.proxy = false;
  provider.on("server_error", (_ctx: unknown, error: Error) => log(`server error: ${error.message}`));
  provider.on("backchannel.error", (_ctx: unknown, error: Error, client: { clientId: string }) =>
    log(`back-channel logout to ${client.clientId} failed: ${error.message}`),
  );
  provider.on("backchannel.success", (_ctx: unknown, client: { clientId: string }) =>
    log(`back-channel logout sent to ${client.clientId}`),
  );

  let transmitter: Transmitter;
  try {
    transmitter = createTransmitter({
      issuer,
      receivers: opts.clients.flatMap((c) =>
        c.ssfManagementToken === undefined ? [] : [{ clientId: c.clientId, appUrl: c.appUrl, managementToken: c.ssfManagementToken }],
      ),
      // SET-02/SET-04: typ secevent+jwt, RS256 with the RSA key published at jwks_uri.
      signSet: (claims) => keys.sign(claims, { alg: "RS256", header: { typ: "secevent+jwt" } }),
      findUserByName: (username) => demoUsers.find((u) => u.username === username.trim().toLowerCase()),
      log,
      timings: opts.ssf,
    });
  } catch (error) {
    server.close();
    throw error;
  }
  const ssfEndpoints = createSsfEndpoints({ issuer, transmitter, log });

  const clientAuthentications: ClientAuthentication[] = [];
  provider.use(clientAuthRecorder(clientAuthentications));
  installSessionState(provider, browserState);
  provider.use(frontchannelLogoutMiddleware({ provider, browserState, log }));

  const admin = createAdmin({
    provider,
    store,
    keys,
    browserState,
    sessionCookie: COOKIE_NAMES.session,
    clientIds: opts.clients.map((c) => c.clientId),
    ssf: transmitter,
    log,
  });
  const checkSession = createCheckSession(
    opts.clients.map((client, i) => ({ clientId: client.clientId, appUrl: client.appUrl, redirectUris: metadata[i]!.redirect_uris ?? [] })),
  );
  const oidc = provider.callback();
  handle = (req, res) => {
    const route = matchInteractionRoute(req.method, req.url);
    const adminRoute = route ? undefined : matchAdminRoute(req.method, req.url);
    const ssfRoute = route || adminRoute ? undefined : matchSsfRoute(req.method, req.url);
    if (route) void handleInteraction(provider, req, res, route, { browserState, log });
    else if (adminRoute) void admin.handle(req, res, adminRoute);
    else if (ssfRoute) void ssfEndpoints.handle(req, res, ssfRoute);
    else if (isCheckSessionRequest(req.url)) checkSession.handle(req, res);
    else void oidc(req, res);
  };

  let closing: Promise<void> | undefined;
  return {
    issuer,
    provider,
    sign: (claims, options) => keys.sign(claims, options),
    async endAllSessions(username) {
      const { deliveries } = await admin.endAllSessions(username);
      return deliveries.map(({ clientId, status }) => ({ client: clientId, status }));
    },
    sendLogoutToken: (clientId, token) => admin.sendLogoutToken(clientId, token),
    ssf: transmitter.api,
    clientAuthentications,
    close() {
      // The transmitter first: it stops retries and ends long polls, whose connections the server then closes.
      closing ??= transmitter.close().then(
        () =>
          new Promise<void>((resolve, reject) => {
            server.close((error) => (error ? reject(error) : resolve()));
            server.closeAllConnections();
          }),
      );
      return closing;
    },
  };
}
