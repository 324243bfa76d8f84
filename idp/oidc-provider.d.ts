// oidc-provider 9 ships no type declarations (and @types/oidc-provider stops at v8). These cover only the
// parts the demo IdP touches; extend them here rather than reaching for `any`.
declare module "oidc-provider" {
  import type { EventEmitter } from "node:events";
  import type { IncomingMessage, ServerResponse } from "node:http";
  import type { JWK } from "jose";

  export type ClientMetadata = {
    client_id: string;
    client_secret?: string;
    client_name?: string;
    application_type?: "web" | "native";
    redirect_uris: string[];
    post_logout_redirect_uris?: string[];
    backchannel_logout_uri?: string;
    backchannel_logout_session_required?: boolean;
    grant_types?: string[];
    response_types?: string[];
    token_endpoint_auth_method?: string;
    id_token_signed_response_alg?: string;
    /** Front-Channel Logout 1.0; extra client metadata the demo IdP declares itself (see frontchannel.ts). */
    frontchannel_logout_uri?: string;
    frontchannel_logout_session_required?: boolean;
  };

  /** A registered client as oidc-provider models it (camelCased metadata). */
  export interface Client {
    readonly clientId: string;
    readonly clientName?: string;
    readonly redirectUris: string[];
    readonly backchannelLogoutUri?: string;
    /** Extra client metadata keeps its snake_case name on the client. */
    readonly frontchannel_logout_uri?: string;
    readonly frontchannel_logout_session_required?: boolean;
    grantTypeAllowed(grantType: string): boolean;
    /** Whether `sid` goes into this client's authorization codes and ID tokens. */
    includeSid(): boolean;
  }

  export interface Session {
    readonly accountId?: string;
    /** One entry per client the session has authorized, keyed by client id. */
    readonly authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
    /** During RP-initiated logout: the logout request's client, state and post_logout_redirect_uri. */
    readonly state?: { clientId?: string; [member: string]: unknown };
    /** Set once `destroy()` has removed the session from storage. */
    readonly destroyed?: boolean;
  }

  /** What a model hands its adapter to store. Only the members the demo reads are spelled out. */
  export type AdapterPayload = {
    jti?: string;
    kind?: string;
    exp?: number;
    iat?: number;
    /** Session: the id that tokens bound to the session remember (`sessionUid`). */
    uid?: string;
    userCode?: string;
    grantId?: string;
    consumed?: number;
    /** Session: the signed-in account. */
    accountId?: string;
    /** Session: one entry per client the session has authorized, keyed by client id. */
    authorizations?: Record<string, { sid?: string; grantId?: string; persistsLogout?: boolean }>;
    [member: string]: unknown;
  };

  /** oidc-provider's storage interface; one adapter instance per model name ("Session", "Grant", ...). */
  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export type AdapterConstructor = new (model: string) => Adapter;

  export interface OIDCContext {
    readonly client?: Client;
    readonly session?: Session;
    readonly route: string;
    /** The request's recognized parameters (the authorization request's, at the resume endpoint). */
    readonly params?: Record<string, unknown>;
  }

  /** The slice of Koa's context that custom pages and the demo's middleware use. */
  export interface KoaContextWithOIDC {
    body: unknown;
    type: string;
    status: number;
    readonly method: string;
    readonly path: string;
    readonly req: IncomingMessage;
    readonly res: ServerResponse;
    readonly oidc: OIDCContext;
    /** A request header ("" when absent). */
    get(field: string): string;
    set(field: string, value: string): void;
    append(field: string, value: string): void;
    remove(field: string): void;
    redirect(url: string): void;
    readonly response: { get(field: string): string };
  }

  /**
   * What `provider.use()` middleware sees. `oidc` only exists once oidc-provider's router has matched a
   * route, so before `next()` (and for paths it does not serve) it is undefined.
   */
  export type ProviderMiddlewareContext = Omit<KoaContextWithOIDC, "oidc"> & { readonly oidc?: OIDCContext };
  export type ProviderMiddleware = (ctx: ProviderMiddlewareContext, next: () => Promise<void>) => Promise<void>;

  /** The parameters of a successful authorization response (`authorization.success` hands them out before sending). */
  export type AuthorizationResponseParameters = Record<string, string | number | undefined>;

  export type AccountClaims = { sub: string; [claim: string]: unknown };

  export interface Account {
    accountId: string;
    claims(
      use: "id_token" | "userinfo" | string,
      scope: string,
      claims: Record<string, unknown>,
      rejected: string[],
    ): AccountClaims | Promise<AccountClaims>;
  }

  export type FindAccount = (
    ctx: KoaContextWithOIDC,
    sub: string,
    token?: unknown,
  ) => Account | undefined | Promise<Account | undefined>;

  /** What the hooks receive for codes and tokens; `kind` is the model name, e.g. "AuthorizationCode". */
  export interface BaseToken {
    readonly kind: string;
    readonly clientId?: string;
    readonly scopes: Set<string>;
  }

  export interface Grant {
    readonly jti?: string;
    accountId: string;
    clientId: string;
    addOIDCScope(scope: string): void;
    addOIDCClaims(claims: string[]): void;
    addResourceScope(resource: string, scope: string): void;
    /** Persists the grant and resolves with its id. */
    save(ttl?: number): Promise<string>;
  }

  export interface GrantConstructor {
    new (properties: { accountId: string; clientId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export type PromptDetails = {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };

  export interface Interaction {
    readonly uid: string;
    readonly returnTo: string;
    readonly prompt: { name: "login" | "consent" | (string & {}); reasons: string[]; details: PromptDetails };
    readonly params: Record<string, unknown>;
    readonly session?: { accountId: string; uid?: string };
    readonly grantId?: string;
  }

  export type InteractionResults = {
    login?: { accountId: string; remember?: boolean; acr?: string; amr?: string[]; ts?: number };
    consent?: { grantId?: string };
    error?: string;
    error_description?: string;
  };

  export type TTL = number | ((ctx: KoaContextWithOIDC, token: unknown, client?: Client) => number);

  /** `fetch` hook options: oidc-provider puts its SSRF-guarded undici dispatcher in `dispatcher`. */
  export type FetchOptions = RequestInit & { dispatcher?: unknown };

  export type ErrorOut = { error: string; error_description?: string; state?: string; scope?: string };

  type Hook<Args extends unknown[], Result = void> = (...args: Args) => Result | Promise<Result>;

  /** Algorithm allow-lists; each replaces oidc-provider's default list for that purpose. */
  export type EnabledJWA = Partial<
    Record<
      "idTokenSigningAlgValues" | "userinfoSigningAlgValues" | "introspectionSigningAlgValues" | "authorizationSigningAlgValues",
      string[]
    >
  >;

  export interface Configuration {
    adapter?: AdapterConstructor;
    clients?: ClientMetadata[];
    jwks?: { keys: JWK[] };
    enabledJWA?: EnabledJWA;
    cookies?: {
      keys?: string[];
      names?: { session?: string; interaction?: string; resume?: string };
    };
    claims?: Record<string, string[] | null>;
    scopes?: string[];
    responseTypes?: string[];
    conformIdTokenClaims?: boolean;
    pkce?: { required?: (ctx: KoaContextWithOIDC, client: Client) => boolean };
    features?: {
      devInteractions?: { enabled: boolean };
      backchannelLogout?: { enabled: boolean };
      userinfo?: { enabled: boolean };
      revocation?: {
        enabled: boolean;
        allowedPolicy?: Hook<[ctx: KoaContextWithOIDC, client: Client, token: BaseToken], boolean>;
      };
      rpInitiatedLogout?: {
        enabled: boolean;
        logoutSource?: Hook<[ctx: KoaContextWithOIDC, form: string]>;
        postLogoutSuccessSource?: Hook<[ctx: KoaContextWithOIDC]>;
      };
    };
    findAccount?: FindAccount;
    issueRefreshToken?: Hook<[ctx: KoaContextWithOIDC, client: Client, source: BaseToken], boolean>;
    clientBasedCORS?: (ctx: KoaContextWithOIDC, origin: string, client: Client) => boolean;
    ttl?: Partial<Record<"AccessToken" | "AuthorizationCode" | "IdToken" | "Interaction" | "Session" | "Grant" | "RefreshToken", TTL>>;
    renderError?: Hook<[ctx: KoaContextWithOIDC, out: ErrorOut, error: Error]>;
    fetch?: (url: string, options: FetchOptions) => Promise<Response>;
    /** Extra members for the discovery document. */
    discovery?: Record<string, unknown>;
    /**
     * Client metadata beyond what oidc-provider knows. `validator` runs synchronously for each property of
     * each client (`value` may be undefined); it may set `metadata[key]` and throws InvalidClientMetadata.
     */
    extraClientMetadata?: {
      properties: string[];
      validator?: (ctx: KoaContextWithOIDC | undefined, key: string, value: unknown, metadata: Record<string, unknown>) => void;
    };
  }

  /** The provider is itself a Koa application (and so an EventEmitter). */
  export class Provider extends EventEmitter {
    constructor(issuer: string, configuration?: Configuration);
    readonly issuer: string;
    /** Koa: trust X-Forwarded-* headers. */
    proxy: boolean;
    readonly Grant: GrantConstructor;
    readonly Client: { find(id: string): Promise<Client | undefined>; readonly prototype: Client };
    readonly Session: {
      /** The session the request's session cookie names (a new, empty one without it). Only reads. */
      get(ctx: { req: IncomingMessage; res: ServerResponse }): Promise<Session>;
    };
    /** Koa middleware that runs before oidc-provider's router (and so around every route). */
    use(middleware: ProviderMiddleware): this;
    /** Koa: a Node.js request listener. */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    urlFor(name: string, options?: Record<string, string>): string;
    interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<Interaction>;
    interactionResult(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<string>;
    /** Stores the result and answers 303 to the authorization resume endpoint. */
    interactionFinished(
      req: IncomingMessage,
      res: ServerResponse,
      result: InteractionResults,
      options?: { mergeWithLastSubmission?: boolean },
    ): Promise<void>;
  }

  export namespace errors {
    class OIDCProviderError extends Error {
      readonly error: string;
      readonly error_description?: string;
      readonly status: number;
    }
    /** The interaction or session cookie is missing, expired or no longer matches. */
    class SessionNotFound extends OIDCProviderError {}
    class InvalidClientMetadata extends OIDCProviderError {
      constructor(description: string);
    }
  }

  export default Provider;
}
