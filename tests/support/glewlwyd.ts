/**
 * glewlwyd (Debian's `glewlwyd` package, 2.7.5 in bookworm) as a real third-party OpenID provider for
 * the thirdparty tier: nobody on this project wrote it, and it runs here without network.
 *
 * `startGlewlwyd` starts one on 127.0.0.1 (a free port) with a sqlite3 database of its own in a temp
 * folder (the package's own init script), configures it through its admin REST API only (an OIDC
 * plugin instance "oidc" with an RS256 key made here, the scopes, a test user, one confidential
 * client per Lockstep app) and stops it by its PID. It fails, naming `apt-get install -y glewlwyd`,
 * when the package is missing.
 *
 * The browser helpers do over HTTP, with the test's cookie jar (HttpSession), what glewlwyd's
 * single-page login app (/usr/share/glewlwyd/webapp/login.js) does in a browser: its REST calls, in the
 * same order. What glewlwyd does on each sign-out is written up in docs/idp/glewlwyd.md.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { startGateway } from "@lockstep/gateway/server";
import { HttpSession } from "./http-client";
import { testRedisUrl } from "./require-redis";
import { startNext, variantEnv } from "./next-app";
import { bounded, freePort, pipeLines, probe, stopChild } from "./processes";
import { deleteByPrefix } from "./test-redis";

export const GLEWLWYD_BINARY = process.env.GLEWLWYD_BINARY ?? "/usr/bin/glewlwyd";
const MODULES = "/usr/lib/glewlwyd";
const WEBAPP = "/usr/share/glewlwyd/webapp/";
/** The package's sqlite3 schema and initial data (admin user, core scopes, user and client module instances "database"). */
const SCHEMA_SOURCES = ["/usr/share/dbconfig-common/data/glewlwyd/install/sqlite3", "/usr/share/doc/glewlwyd/database/init.sqlite3.sql.gz"];
/** The administrator the package's init script creates. */
const ADMIN = { username: "admin", password: "password" };
/** The OIDC plugin instance's name: the issuer is `<url>/api/oidc`. */
export const PLUGIN = "oidc";

/** One Lockstep app registered at glewlwyd as a confidential client. */
export type GlewlwydClient = {
  clientId: string;
  clientSecret: string;
  /** The app's AUTH_URL: every redirect URI is registered under it. */
  appUrl: string;
};

export type GlewlwydOptions = {
  clients: GlewlwydClient[];
  /** Overrides of the OIDC plugin's parameters (e.g. `{ "email-claim": "no" }`). */
  plugin?: Record<string, unknown>;
  log?: (line: string) => void;
  /** How long glewlwyd may take to answer once spawned. Default 15 s. */
  timeoutMs?: number;
  /** Sees how to stop glewlwyd as soon as it is spawned, so that a caller can stop it while it starts. */
  onStarted?: (stop: () => Promise<void>) => void;
};

export type TestUser = { username: string; password: string; name: string; email: string };

export type Glewlwyd = {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  /** The OIDC plugin's issuer: OIDC_ISSUER. */
  issuer: string;
  clients: GlewlwydClient[];
  clientId: string;
  clientSecret: string;
  user: string;
  password: string;
  testUser: TestUser;
  /** glewlwyd's process (stopped by its PID in stop()). */
  process: ChildProcess;
  /** The discovery document as served. */
  discovery: Record<string, unknown>;
  /** Cookie-authenticated admin REST session. */
  admin: HttpSession;
  /** Adds another user (password sign-in, name and email). */
  addUser(user: TestUser): Promise<void>;
  /**
   * Finishes a sign-in on glewlwyd's login page as its script does: password sign-in, grant of the
   * requested scopes to the client, then back to the authorization request with `g_continue`.
   * `loginPage` is the login.html response the browser landed on. Follows redirects back to the app.
   */
  completeLogin(browser: HttpSession, loginPage: Response, user?: Pick<TestUser, "username" | "password">): Promise<Response>;
  /** The glewlwyd OIDC session id (`sid`) this browser holds, from glewlwyd's GLEWLWYD2_OIDC_SID cookie. */
  oidcSid(browser: HttpSession): string | undefined;
  /** The portal's "Log out" (login.html, profile.html): DELETE /api/auth/. Revokes no token. */
  portalSignOut(browser: HttpSession): Promise<Response>;
  /** The portal's "Log out and revoke all tokens": DELETE /api/oidc/token/, then DELETE /api/auth/. */
  portalSignOutRevokingTokens(browser: HttpSession): Promise<Response>;
  /**
   * The end-session page (login.html?prompt=end_session&sid=…&plugin=oidc&client_id=…[&callback_url=…])
   * with its plain "Log out" button, as its script runs it: the front-channel frames of every client of
   * the session (`loadFrame` fetches each, as the browser would load the iframe; default: this browser,
   * without following redirects), DELETE /api/oidc/session/<sid> (back-channel logout tokens, and the
   * session's tokens revoked), DELETE /api/auth/, then the browser goes to callback_url if there is one.
   */
  endSessionPage(
    browser: HttpSession,
    pageUrl: string | URL,
    loadFrame?: (frameUrl: string) => Promise<Response>,
  ): Promise<{ frames: { url: string; status: number }[]; deleted: number; back?: Response }>;
  stop(): Promise<void>;
};

/** Throws, naming the package, when glewlwyd is not installed. */
export function requireGlewlwyd(): void {
  if (existsSync(GLEWLWYD_BINARY) && existsSync(`${MODULES}/plugin/libprotocol_oidc.so`)) return;
  throw new Error(
    `The thirdparty tier needs Debian's glewlwyd (${GLEWLWYD_BINARY}) and it is not installed.\n` +
      `Install it: apt-get install -y glewlwyd\n` +
      `(or point GLEWLWYD_BINARY at another glewlwyd 2.7 binary with its modules in ${MODULES}).`,
  );
}

function schemaSql(): string {
  for (const source of SCHEMA_SOURCES) {
    if (!existsSync(source)) continue;
    const raw = readFileSync(source);
    return (source.endsWith(".gz") ? gunzipSync(raw) : raw).toString("utf8");
  }
  throw new Error(`glewlwyd's sqlite3 schema is missing (looked for ${SCHEMA_SOURCES.join(", ")}): apt-get install -y glewlwyd`);
}

/** A libconfig file like /etc/glewlwyd/glewlwyd.conf, for loopback and this database. */
function configFile(port: number, url: string, database: string): string {
  return `# Written by tests/support/glewlwyd.ts
port=${port}
bind_address="127.0.0.1"
external_url="${url}"
login_url="login.html"
api_prefix="api"
static_files_path="${WEBAPP}"
allow_origin="*"
log_mode="console"
log_level="INFO"
cookie_secure=0
cookie_same_site="empty"
session_expiration=3600
session_key="GLEWLWYD2_SESSION_ID"
admin_session_authentication="cookie"
profile_session_authentication="cookie"
allow_multiple_user_per_session=true
login_api_enabled=true
plugin_api_run_enabled=""
add_x_frame_option_header_deny=true
admin_scope="g_admin"
profile_scope="g_profile"
user_module_path="${MODULES}/user"
client_module_path="${MODULES}/client"
user_auth_scheme_module_path="${MODULES}/scheme"
plugin_module_path="${MODULES}/plugin"
hash_algorithm="SHA512"
database = { type = "sqlite3" path = "${database}" };
static_files_mime_types = (
  { extension = ".html" mime_type = "text/html" },
  { extension = ".css" mime_type = "text/css" },
  { extension = ".js" mime_type = "application/javascript" },
  { extension = ".json" mime_type = "application/json" },
  { extension = ".png" mime_type = "image/png" },
  { extension = ".ico" mime_type = "image/x-icon" }
)
`;
  // (No use_secure_connection line: 2.7.5 reads the template's "=false" as a request for TLS and exits.)
}

/** An RS256 signing key as the JWKS the plugin's `jwks-private` parameter takes. */
function signingJwks(kid: string): string {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return JSON.stringify({ keys: [{ ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" }] });
}

async function waitUntilUp(url: string, child: ChildProcess, timeoutMs: number, output: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`glewlwyd exited (${child.exitCode ?? child.signalCode}) before it answered:\n${output.slice(-20).join("\n")}`);
    }
    if ((await probe(`${url}/config`, 1000))?.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`glewlwyd did not answer at ${url} within ${timeoutMs} ms:\n${output.slice(-20).join("\n")}`);
}

/** A JSON call on the admin or a user session; throws with the answer unless the status is `expect`. */
async function call(session: HttpSession, method: string, url: string, body?: unknown, expect = 200): Promise<Response> {
  const response = await session.fetch(url, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.status !== expect) {
    throw new Error(`glewlwyd ${method} ${new URL(url).pathname}: expected ${expect}, got ${response.status} ${await response.text()}`);
  }
  return response;
}

/** The OIDC plugin's parameters (names as in the admin app, /usr/share/glewlwyd/webapp/admin.js). */
function pluginParameters(issuer: string, overrides: Record<string, unknown>): Record<string, unknown> {
  return {
    iss: issuer,
    "jwt-type": "rsa",
    "jwt-key-size": "256",
    "jwks-private": signingJwks("lockstep-test"),
    "default-kid": "lockstep-test",
    "jwks-show": true,
    "access-token-duration": 3600,
    "refresh-token-duration": 1209600,
    "code-duration": 600,
    "refresh-token-rolling": true,
    "allow-non-oidc": false,
    "auth-type-code-enabled": true,
    "auth-type-token-enabled": false,
    "auth-type-id-token-enabled": true,
    "auth-type-none-enabled": false,
    "auth-type-password-enabled": false,
    "auth-type-client-enabled": false,
    "auth-type-device-enabled": false,
    "auth-type-refresh-enabled": true,
    "secret-type": "public",
    scope: [],
    "additional-parameters": [],
    claims: [],
    "address-claim": { type: "no", mandatory: false },
    // OpenID Connect Core §5.4: name with the profile scope, email with the email scope.
    "name-claim": "on-demand",
    "name-claim-scope": ["profile"],
    "email-claim": "on-demand",
    "email-claim-scope": ["email"],
    "scope-claim": "no",
    "allowed-scope": ["openid", "profile", "email"],
    "pkce-allowed": true,
    "pkce-method-plain-allowed": false,
    "request-parameter-allow": true,
    // RFC 7662: the client may introspect its own tokens with its client_id and secret.
    "introspection-revocation-allowed": true,
    "introspection-revocation-auth-scope": [],
    "introspection-revocation-allow-target-client": true,
    // sid in ID tokens, session_state, check_session_iframe, end_session_endpoint.
    "session-management-allowed": true,
    "session-cookie-name": "GLEWLWYD2_OIDC_SID",
    "session-cookie-expiration": 3600,
    "front-channel-logout-allowed": true,
    "back-channel-logout-allowed": true,
    ...overrides,
  };
}

function clientRegistration(client: GlewlwydClient): Record<string, unknown> {
  const at = (p: string) => new URL(p, client.appUrl).toString();
  return {
    client_id: client.clientId,
    name: `Lockstep (${client.clientId})`,
    description: "Lockstep, registered by tests/support/glewlwyd.ts",
    enabled: true,
    confidential: true,
    client_secret: client.clientSecret,
    redirect_uri: [at("/api/auth/callback/oidc"), at("/api/session/check/callback")],
    post_logout_redirect_uris: [at("/api/logout/callback")],
    authorization_type: ["code", "refresh_token"],
    token_endpoint_auth_method: ["client_secret_basic"],
    frontchannel_logout_uri: at("/api/frontchannel-logout"),
    frontchannel_logout_session_required: "true",
    backchannel_logout_uri: at("/api/backchannel-logout"),
    backchannel_logout_session_required: "true",
    scope: [],
  };
}

export const defaultUser: TestUser = {
  username: "gwen",
  password: "gwen-password-0123",
  name: "Gwen Glewlwyd",
  email: "gwen@example.org",
};

export async function startGlewlwyd(options: GlewlwydOptions): Promise<Glewlwyd> {
  requireGlewlwyd();
  const [first] = options.clients;
  if (!first) throw new Error("startGlewlwyd: register at least one client");
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(path.join(tmpdir(), "lockstep-glewlwyd-"));
  const database = path.join(dir, "glewlwyd.sqlite3");
  const loaded = spawnSync("sqlite3", [database], { input: schemaSql(), encoding: "utf8", timeout: 30_000 });
  if (loaded.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `sqlite3 could not load glewlwyd's schema (${loaded.error?.message ?? loaded.stderr}); apt-get install -y glewlwyd brings sqlite3`,
    );
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const issuer = `${url}/api/${PLUGIN}`;
  const configPath = path.join(dir, "glewlwyd.conf");
  writeFileSync(configPath, configFile(port, url, database));

  const child = spawn(GLEWLWYD_BINARY, ["-c", configPath], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  pipeLines(child, "glewlwyd", (_source, line) => {
    output.push(line);
    if (output.length > 200) output.shift();
    log(line);
  });
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  options.onStarted?.(stop);

  try {
    await waitUntilUp(url, child, options.timeoutMs ?? 15_000, output);
    const api = `${url}/api`;
    const admin = new HttpSession();
    await call(admin, "POST", `${api}/auth/`, ADMIN);

    // The package's init script made the user and client module instances "database"; check them.
    await call(admin, "GET", `${api}/mod/user/database`);
    // The OIDC plugin reads the client property post_logout_redirect_uris, which the shipped client
    // module's data-format lacks (it stores only what it declares): declare it, then reload the module.
    const clientModule = (await (await call(admin, "GET", `${api}/mod/client/database`)).json()) as {
      display_name: string;
      order_rank: number;
      readonly: boolean;
      parameters: { "data-format": Record<string, unknown> };
    };
    clientModule.parameters["data-format"].post_logout_redirect_uris = { multiple: true, read: true, write: true };
    await call(admin, "PUT", `${api}/mod/client/database`, {
      display_name: clientModule.display_name,
      order_rank: clientModule.order_rank,
      readonly: clientModule.readonly,
      parameters: clientModule.parameters,
    });
    await call(admin, "PUT", `${api}/mod/client/database/reset`);

    for (const name of ["profile", "email"]) {
      await call(admin, "POST", `${api}/scope/`, {
        name,
        display_name: name,
        description: `OpenID Connect ${name} claims`,
        password_required: false,
        password_max_age: 0,
        scheme: {},
      });
    }
    await call(admin, "POST", `${api}/mod/plugin/`, {
      module: "oidc",
      name: PLUGIN,
      display_name: "OpenID Connect",
      parameters: pluginParameters(issuer, options.plugin ?? {}),
    });
    for (const client of options.clients) await call(admin, "POST", `${api}/client/`, clientRegistration(client));

    const addUser = async (user: TestUser) => {
      await call(admin, "POST", `${api}/user/`, {
        username: user.username,
        password: user.password,
        name: user.name,
        email: user.email,
        enabled: true,
        scope: ["g_profile", "openid", "profile", "email"],
      });
    };
    await addUser(defaultUser);

    const discoveryAnswer = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (!discoveryAnswer.ok) throw new Error(`glewlwyd's discovery answered ${discoveryAnswer.status}`);
    const discovery = (await discoveryAnswer.json()) as Record<string, unknown>;

    const completeLogin: Glewlwyd["completeLogin"] = async (browser, loginPage, user = defaultUser) => {
      const page = new URL(loginPage.url);
      if (loginPage.status !== 200 || page.origin !== url || page.pathname !== "/login.html") {
        throw new Error(`completeLogin: expected glewlwyd's login page, got HTTP ${loginPage.status} from ${loginPage.url}`);
      }
      await loginPage.body?.cancel();
      const callback = page.searchParams.get("callback_url");
      const clientId = page.searchParams.get("client_id");
      const scope = page.searchParams.get("scope");
      if (!callback || !clientId || !scope)
        throw new Error(`completeLogin: the login page's URL lacks callback_url, client_id or scope: ${page.href}`);
      // login.js: POST /auth/ (password), PUT /auth/grant/<client>/ (the consent, space-separated), then
      // the "Continue" button: back to the authorization request with g_continue.
      await call(browser, "POST", `${api}/auth/`, { username: user.username, password: user.password });
      await call(browser, "PUT", `${api}/auth/grant/${encodeURIComponent(clientId)}/`, { scope });
      const back = new URL(callback);
      back.search += `${back.search ? "&" : "?"}g_continue`;
      return browser.fetch(back, { signal: AbortSignal.timeout(30_000) }, { follow: true });
    };

    const oidcSid = (browser: HttpSession) => browser.cookies(url).GLEWLWYD2_OIDC_SID;

    const endSessionPage: Glewlwyd["endSessionPage"] = async (browser, pageUrl, loadFrame) => {
      const page = new URL(pageUrl);
      const sid = page.searchParams.get("sid");
      const plugin = page.searchParams.get("plugin");
      const clientId = page.searchParams.get("client_id");
      const callback = page.searchParams.get("callback_url");
      const postRedirect = page.searchParams.get("post_redirect_to");
      if (page.searchParams.get("prompt") !== "end_session" || !sid || !plugin || !clientId) {
        throw new Error(`endSessionPage: not glewlwyd's end-session page: ${page.href}`);
      }
      const listUrl = new URL(`${api}/${plugin}/session/${encodeURIComponent(sid)}/${encodeURIComponent(clientId)}`);
      if (postRedirect) listUrl.searchParams.set("post_redirect_to", postRedirect);
      const list = (await (await call(browser, "GET", listUrl.href)).json()) as {
        iss: string;
        sid: string;
        client: { frontchannel_logout_uri?: string; frontchannel_logout_session_required?: boolean }[];
      };
      // login.js builds each frame's URL by concatenation: iss is not URL-encoded.
      const frameUrls = list.client
        .filter((c) => c.frontchannel_logout_uri)
        .map((c) => `${c.frontchannel_logout_uri}?iss=${list.iss}${c.frontchannel_logout_session_required ? `&sid=${list.sid}` : ""}`);
      const load = loadFrame ?? ((frame: string) => browser.fetch(frame, { signal: AbortSignal.timeout(10_000) }));
      const frames: { url: string; status: number }[] = [];
      for (const frame of frameUrls) {
        const answer = await load(frame);
        await answer.body?.cancel();
        frames.push({ url: frame, status: answer.status });
      }
      // "Log out" (neither "all sessions" nor "all tokens"): completeRevocation() in login.js.
      const deleted = await browser.fetch(`${api}/${plugin}/session/${encodeURIComponent(sid)}`, {
        method: "DELETE",
        signal: AbortSignal.timeout(10_000),
      });
      await deleted.body?.cancel();
      await call(browser, "DELETE", `${api}/auth/`);
      const back = callback ? await browser.fetch(callback, { signal: AbortSignal.timeout(30_000) }, { follow: true }) : undefined;
      return { frames, deleted: deleted.status, back };
    };

    return {
      url,
      issuer,
      clients: options.clients,
      clientId: first.clientId,
      clientSecret: first.clientSecret,
      user: defaultUser.username,
      password: defaultUser.password,
      testUser: defaultUser,
      process: child,
      discovery,
      admin,
      addUser,
      completeLogin,
      oidcSid,
      portalSignOut: (browser) => call(browser, "DELETE", `${api}/auth/`),
      async portalSignOutRevokingTokens(browser) {
        await call(browser, "DELETE", `${api}/${PLUGIN}/token/`);
        return call(browser, "DELETE", `${api}/auth/`);
      },
      endSessionPage,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A client secret of letters and digits only. glewlwyd compares the client_secret_basic client id and secret
 * without form-decoding them (RFC 6749 §2.3.1 says they are form-encoded before Basic), and
 * oauth4webapi, which Lockstep's own IdP requests use, encodes "-", "_", ".", "~" and the like: a secret
 * with any of them fails introspection, refresh and the session re-check at glewlwyd with 401/400.
 */
export function testSecret(): string {
  return randomBytes(24).toString("hex");
}

/** A client id of letters and digits only, for the same reason as testSecret(). */
export function clientIdFor(appId: string): string {
  return `lockstep${appId.replace(/[^A-Za-z0-9]/g, "")}`;
}

/** One Lockstep app to run against glewlwyd: its id (cookie names, keys) and settings of its own. */
export type ThirdpartyApp = { appId: string; env?: Record<string, string> };

export type RunningThirdpartyApp = ThirdpartyApp & GlewlwydClient & { url: string; port: number; process: ChildProcess };

export type GlewlwydStack = {
  glewlwyd: Glewlwyd;
  apps: RunningThirdpartyApp[];
  keyPrefix: string;
  /** Everything the apps and glewlwyd printed, as `[source] line`, for tests that read the security log. */
  lines: string[];
  stop(): Promise<void>;
};

/** How long the whole stack may take to come up (the thirdparty tier's hooks wait 300 s). */
const STACK_START_MS = 240_000;

/**
 * glewlwyd, the Redis gateway in front of the test Redis, and one `next start` (the last build, edge
 * variant) per app, each registered at glewlwyd as a client of its own, with keys under a prefix of
 * this stack's own (deleted in stop()). As startStack in demo/scripts/stack.ts, with glewlwyd instead of
 * the demo IdP. LOCKSTEP_TEST_LOGS=1 prints every process's output.
 */
export async function startGlewlwydStack(options: { apps: ThirdpartyApp[]; plugin?: Record<string, unknown> }): Promise<GlewlwydStack> {
  requireGlewlwyd();
  const lines: string[] = [];
  const print = process.env.LOCKSTEP_TEST_LOGS === "1";
  const log = (source: string, line: string) => {
    lines.push(`[${source}] ${line}`);
    if (print) console.log(`[${source}] ${line}`);
  };
  const keyPrefix = `lockstep-thirdparty:${randomBytes(6).toString("hex")}:`;
  const gatewayToken = randomBytes(24).toString("base64url");
  const apps = await Promise.all(
    options.apps.map(async (app) => {
      const port = await freePort();
      return {
        ...app,
        port,
        url: `http://localhost:${port}`,
        appUrl: `http://localhost:${port}`,
        clientId: clientIdFor(app.appId),
        clientSecret: testSecret(),
      };
    }),
  );
  const gateway = await startGateway({
    port: await freePort(),
    token: gatewayToken,
    redisUrl: testRedisUrl,
    keyPrefix,
    log: (l) => log("gateway", l),
  });
  const running: RunningThirdpartyApp[] = [];
  const stops: (() => Promise<void>)[] = [];
  let stopped = false;
  /** Each process is stopped as soon as it is spawned if the stack is stopping, or else remembered. */
  const started = (stopProcess: () => Promise<void>) => {
    if (stopped) void stopProcess();
    else stops.push(stopProcess);
  };
  const stop = async () => {
    stopped = true;
    await Promise.all(stops.splice(0).map((s) => s()));
    await gateway.close();
    await deleteByPrefix(testRedisUrl, keyPrefix);
  };
  let step = "glewlwyd's start and set-up";
  const start = async (): Promise<Glewlwyd> => {
    const idp = await startGlewlwyd({ clients: apps, plugin: options.plugin, log: (l) => log("glewlwyd", l), onStarted: started });
    if (stopped) return idp;
    step = `the apps' health (${apps.map((a) => a.appId).join(", ")})`;
    await Promise.all(
      apps.map((app) =>
        startNext({
          mode: "start",
          port: app.port,
          source: app.appId,
          log,
          timeoutMs: 90_000,
          onStarted: (next) => {
            started(next.stop);
            running.push({ ...app, process: next.process });
          },
          env: {
            AUTH_SECRET: randomBytes(32).toString("base64url"),
            AUTH_URL: app.url,
            APP_ID: app.appId,
            APP_NAME: `Lockstep (${app.appId})`,
            OIDC_ISSUER: idp.issuer,
            OIDC_CLIENT_ID: app.clientId,
            OIDC_CLIENT_SECRET: app.clientSecret,
            OIDC_ID_TOKEN_ALG: "RS256",
            UPSTASH_REDIS_REST_URL: gateway.url,
            UPSTASH_REDIS_REST_TOKEN: gatewayToken,
            LOCKSTEP_KEY_PREFIX: keyPrefix,
            REDIS_URL: "",
            REDIS_CLUSTER_NODES: "",
            ...variantEnv("edge"),
            ...app.env,
          },
        }),
      ),
    );
    return idp;
  };
  let idp: Glewlwyd;
  try {
    // Each step has its own timeout; this bounds the whole, below the tiers' hook timeout, so that
    // whatever hangs is named and nothing this started outlives the test.
    idp = await bounded(start(), STACK_START_MS, () => {
      throw new Error(`the glewlwyd stack did not start within ${STACK_START_MS} ms, at ${step}`);
    });
  } catch (error) {
    await stop();
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`${message}; the last lines:\n${lines.slice(-30).join("\n") || "(none)"}`, { cause: error });
  }
  // In the order asked for, whatever order they started in.
  const ordered = apps.map((a) => running.find((r) => r.appId === a.appId)!);
  return { glewlwyd: idp, apps: ordered, keyPrefix, lines, stop };
}

/**
 * Signs in to a Lockstep app as a browser would, through glewlwyd: Auth.js's sign-in POST, the redirect
 * to glewlwyd's authorization endpoint and on to its login page, the login page's REST calls
 * (completeLogin), and the code flow back to the app. Returns where the browser lands.
 */
export async function signInThroughGlewlwyd(
  browser: HttpSession,
  glewlwyd: Glewlwyd,
  appUrl: string,
  user: Pick<TestUser, "username" | "password"> = defaultUser,
): Promise<Response> {
  const csrf = (await (await browser.fetch(`${appUrl}/api/auth/csrf`)).json()) as { csrfToken: string };
  const toIdp = await browser.fetch(
    `${appUrl}/api/auth/signin/oidc`,
    { method: "POST", body: new URLSearchParams({ csrfToken: csrf.csrfToken, callbackUrl: `${appUrl}/account` }) },
    { follow: true },
  );
  // Signed in at glewlwyd already and the scopes granted: no login page (single sign-on).
  if (toIdp.url.startsWith(appUrl)) return toIdp;
  return glewlwyd.completeLogin(browser, toIdp, user);
}
