/**
 * The authorization request pushed (RFC 9126, lib/oidc/par.ts, lib/oidc/sign-in.ts), the response's
 * issuer checked (RFC 9207, lib/oidc/authorization-response.ts), both for Auth.js's sign-in and the
 * silent re-check (lib/check-session/recheck.ts), and the start-up line (lib/oidc/announce.ts).
 * A loopback stand-in for the IdP makes the cases the demo IdP cannot: no PAR endpoint, a push
 * refused or failing. The integration tier signs in through the demo IdP's real PAR endpoint.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { closeServers, serve, stubIdpSettings } from "../support/loopback";
import { memoryStores } from "@/lib/store/memory";
import { record } from "../store/contract";

type Seen = { method?: string; path: string; authorization?: string; body: URLSearchParams };

/** What the stand-in IdP publishes and how its PAR endpoint answers; each test sets what it needs. */
let idp: {
  par: boolean;
  issParameter: boolean;
  parAnswer: (res: import("node:http").ServerResponse) => void;
};
let seen: Seen[];
let issuer: string;
let logs: string[];

const REQUEST_URI = "urn:ietf:params:oauth:request_uri:stand-in-0123";

beforeEach(async () => {
  vi.resetModules();
  seen = [];
  idp = {
    par: true,
    issParameter: true,
    parAnswer: (res) =>
      res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ request_uri: REQUEST_URI, expires_in: 60 })),
  };
  issuer = await serve((req, body, res) => {
    const path = req.url ?? "";
    seen.push({ method: req.method, path, authorization: req.headers.authorization, body: new URLSearchParams(body) });
    const self = `http://${req.headers.host}`;
    if (path === "/.well-known/openid-configuration") {
      res.writeHead(200, { "content-type": "application/json" }).end(
        JSON.stringify({
          issuer: self,
          authorization_endpoint: `${self}/auth`,
          token_endpoint: `${self}/token`,
          ...(idp.par ? { pushed_authorization_request_endpoint: `${self}/par` } : {}),
          authorization_response_iss_parameter_supported: idp.issParameter,
          token_endpoint_auth_methods_supported: ["client_secret_basic", "private_key_jwt"],
        }),
      );
    } else if (path === "/par") idp.parAnswer(res);
    else res.writeHead(500).end();
  });
  stubIdpSettings(vi.stubEnv, issuer);
  logs = [];
  vi.spyOn(process.stdout, "write").mockImplementation((chunk) => (logs.push(String(chunk)), true));
});

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await closeServers();
});

const pushes = () => seen.filter((r) => r.path === "/par");
const logged = (event: string) => logs.filter((l) => l.includes(`"event":"${event}"`)).map((l) => JSON.parse(l) as Record<string, unknown>);

/** The authorization request as Auth.js builds it (authorization-url.js): every parameter in the URL. */
function authjsRedirect(extra: Record<string, string> = {}): URL {
  const url = new URL(`${issuer}/auth`);
  for (const [name, value] of Object.entries({
    response_type: "code",
    client_id: "client",
    redirect_uri: "http://localhost:3000/api/auth/callback/oidc",
    scope: "openid profile email",
    state: "state-value",
    code_challenge: "challenge-value",
    code_challenge_method: "S256",
    nonce: "nonce-value",
    ...extra,
  }))
    url.searchParams.set(name, value);
  return url;
}

describe("the sign-in's authorization request, pushed (RFC 9126)", () => {
  it("pushes exactly the parameters Auth.js built, authenticated as this client, and sends the browser with client_id and request_uri only (RFC 9126 §2.1, §4)", async () => {
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    const built = authjsRedirect();
    const location = new URL(await pushSignInLocation(built.href));

    expect(`${location.origin}${location.pathname}`).toBe(`${issuer}/auth`);
    expect([...location.searchParams]).toEqual([
      ["client_id", "client"],
      ["request_uri", REQUEST_URI],
    ]);
    const [push] = pushes();
    expect(push?.method).toBe("POST");
    expect(push?.authorization).toMatch(/^Basic /);
    expect(Object.fromEntries(push!.body)).toEqual(Object.fromEntries(built.searchParams));
  });

  it("pushes with the configured client authentication: a private_key_jwt assertion, no secret (RFC 9126 §2.1)", async () => {
    const { generateKeyPairSync } = await import("node:crypto");
    const jwk = { ...generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({ format: "jwk" }), kid: "k", alg: "ES256" };
    vi.stubEnv("OIDC_CLIENT_AUTH_METHOD", "private_key_jwt");
    vi.stubEnv("OIDC_CLIENT_SECRET", "");
    vi.stubEnv("OIDC_CLIENT_PRIVATE_KEY", JSON.stringify(jwk));
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    await pushSignInLocation(authjsRedirect().href);
    const [push] = pushes();
    expect(push?.authorization).toBeUndefined();
    expect(push?.body.get("client_assertion_type")).toBe("urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    expect(push?.body.has("client_secret")).toBe(false);
  });

  it("keeps the authorization endpoint's own query in the URL and does not push it", async () => {
    const { authorizationRequestUrl } = await import("@/lib/oidc/par");
    const url = await authorizationRequestUrl(
      { issuer, authorization_endpoint: `${issuer}/auth?tenant=t1`, pushed_authorization_request_endpoint: `${issuer}/par` },
      new URLSearchParams({ state: "s" }),
      "auto",
    );
    expect([...url.searchParams]).toEqual([
      ["tenant", "t1"],
      ["client_id", "client"],
      ["request_uri", REQUEST_URI],
    ]);
    expect(Object.fromEntries(pushes()[0]!.body)).toEqual({ state: "s", client_id: "client" });
  });

  it("leaves the request in the URL with OIDC_PAR=auto when the IdP offers no PAR endpoint (RFC 9126 §5)", async () => {
    idp.par = false;
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    const built = authjsRedirect().href;
    expect(await pushSignInLocation(built)).toBe(built);
    expect(pushes()).toHaveLength(0);
  });

  it("never pushes with OIDC_PAR=off, even where the IdP offers it", async () => {
    vi.stubEnv("OIDC_PAR", "off");
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    const built = authjsRedirect().href;
    expect(await pushSignInLocation(built)).toBe(built);
    expect(pushes()).toHaveLength(0);
  });

  it("adds what the app asks for (a resource indicator per API, their scopes) to the pushed request (RFC 8707 §2)", async () => {
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    const complete = (params: URLSearchParams) => {
      const out = new URLSearchParams(params);
      out.set("scope", `${out.get("scope")} statements:read portfolio:read`);
      for (const resource of ["https://api.example/statements", "https://api.example/portfolio"]) out.append("resource", resource);
      return out;
    };
    const location = new URL(await pushSignInLocation(authjsRedirect().href, complete));
    expect([...location.searchParams.keys()]).toEqual(["client_id", "request_uri"]);
    const [push] = pushes();
    expect(push?.body.getAll("resource")).toEqual(["https://api.example/statements", "https://api.example/portfolio"]);
    expect(push?.body.get("scope")).toBe("openid profile email statements:read portfolio:read");
    expect(push?.body.get("state")).toBe("state-value");
  });

  it("adds them to the URL, each resource its own parameter, where nothing is pushed", async () => {
    vi.stubEnv("OIDC_PAR", "off");
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    const complete = (params: URLSearchParams) => {
      const out = new URLSearchParams(params);
      for (const resource of ["https://api.example/statements", "https://api.example/portfolio"]) out.append("resource", resource);
      return out;
    };
    const location = new URL(await pushSignInLocation(authjsRedirect().href, complete));
    expect(location.searchParams.getAll("resource")).toEqual(["https://api.example/statements", "https://api.example/portfolio"]);
    expect(Object.fromEntries([...location.searchParams].filter(([name]) => name !== "resource"))).toEqual(
      Object.fromEntries(authjsRedirect().searchParams),
    );
    expect(pushes()).toHaveLength(0);
  });

  it("refuses the sign-in with OIDC_PAR=require when the IdP offers no PAR endpoint, sends nothing, and logs the setting (RFC 9126 §5)", async () => {
    idp.par = false;
    vi.stubEnv("OIDC_PAR", "require");
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    await expect(pushSignInLocation(authjsRedirect().href)).rejects.toMatchObject({ name: "ParError", code: "par_unsupported" });
    expect(seen.map((r) => r.path)).toEqual(["/.well-known/openid-configuration"]);
    expect(logged("oidc.par")).toEqual([expect.objectContaining({ outcome: "error", code: "par_unsupported", setting: "OIDC_PAR" })]);
  });

  it("leaves any other redirect (Auth.js's error page) as it is, even with OIDC_PAR=require", async () => {
    vi.stubEnv("OIDC_PAR", "require");
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    const elsewhere = "http://localhost:3000/signed-out?error=Configuration";
    expect(await pushSignInLocation(elsewhere)).toBe(elsewhere);
    expect(pushes()).toHaveLength(0);
  });

  it.each([
    [
      "an error answer (RFC 9126 §2.3)",
      (res: import("node:http").ServerResponse) =>
        res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_request" })),
      "par_refused",
      "invalid_request",
    ],
    [
      "401 invalid_client",
      (res: import("node:http").ServerResponse) =>
        res
          .writeHead(401, { "content-type": "application/json", "www-authenticate": 'Basic error="invalid_client"' })
          .end(JSON.stringify({ error: "invalid_client" })),
      "par_refused",
      "invalid_client",
    ],
    ["a 500", (res: import("node:http").ServerResponse) => res.writeHead(500).end(), "par_failed", undefined],
    [
      "201 without request_uri",
      (res: import("node:http").ServerResponse) =>
        res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ expires_in: 60 })),
      "par_failed",
      undefined,
    ],
    ["a dropped connection", (res: import("node:http").ServerResponse) => res.destroy(), "par_failed", undefined],
  ])("fails the push on %s with a code, logged once", async (_what, answer, code, idpError) => {
    idp.parAnswer = answer;
    const { pushSignInLocation } = await import("@/lib/oidc/sign-in");
    await expect(pushSignInLocation(authjsRedirect().href)).rejects.toMatchObject({ code, idpError });
    const lines = logged("oidc.par");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ outcome: "error", code });
    // A refused client names the settings to fix, as a refused code exchange does (sign_in.failed).
    if (idpError === "invalid_client") expect(lines[0]).toMatchObject({ setting: "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET" });
  });
});

describe("Auth.js's answer to the sign-in POST, rewritten", () => {
  const cookies = ["app.state=s; Path=/; HttpOnly", "app.pkce=p; Path=/; HttpOnly", "app.nonce=n; Path=/; HttpOnly"];
  const answer = (location: string) => {
    const headers = new Headers({ location });
    for (const cookie of cookies) headers.append("set-cookie", cookie);
    return new Response(null, { status: 302, headers });
  };

  it("replaces only the Location: the state, PKCE and nonce cookies and the status stay as Auth.js set them", async () => {
    const { pushSignInResponse } = await import("@/lib/oidc/sign-in");
    const response = await pushSignInResponse(
      new Request("http://localhost:3000/api/auth/signin/oidc", { method: "POST" }),
      answer(authjsRedirect().href),
    );
    expect(response.status).toBe(302);
    expect(response.headers.get("location")).toBe(`${issuer}/auth?client_id=client&request_uri=${encodeURIComponent(REQUEST_URI)}`);
    expect(response.headers.getSetCookie()).toEqual(cookies);
  });

  it("rewrites the { url } answer of a request with X-Auth-Return-Redirect (next-auth/react) the same way", async () => {
    const { pushSignInResponse } = await import("@/lib/oidc/sign-in");
    const headers = new Headers();
    for (const cookie of cookies) headers.append("set-cookie", cookie);
    const json = Response.json({ url: authjsRedirect().href }, { headers });
    const request = new Request("http://localhost:3000/api/auth/signin/oidc", {
      method: "POST",
      headers: { "x-auth-return-redirect": "1" },
    });
    const response = await pushSignInResponse(request, json);
    expect(await response.json()).toEqual({ url: `${issuer}/auth?client_id=client&request_uri=${encodeURIComponent(REQUEST_URI)}` });
    expect(response.headers.getSetCookie()).toEqual(cookies);
  });

  it("answers a failed push with the sign-in error page and its code, not Auth.js's Configuration page, and without the pending cookies", async () => {
    idp.parAnswer = (res) => res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ error: "invalid_client" }));
    const { pushSignInResponse } = await import("@/lib/oidc/sign-in");
    const response = await pushSignInResponse(
      new Request("http://localhost:3000/api/auth/signin/oidc", { method: "POST" }),
      answer(authjsRedirect().href),
    );
    expect(response.status).toBe(303);
    expect(response.headers.get("location")).toBe("http://localhost:3000/api/auth/sign-in-error?code=par_refused");
    expect(response.headers.getSetCookie()).toEqual([]);
  });
});

describe("the silent re-check (SM §3.1) pushes its request too", () => {
  async function recheckDeps() {
    const { getConfig } = await import("@/lib/config");
    const { cookieNames } = await import("@/lib/session/cookies");
    const config = getConfig();
    const stores = memoryStores({ ttlSeconds: 3600 });
    return { config, cookies: cookieNames(config.APP_ID, config.AUTH_URL), ending: { ...stores, now: Date.now }, stores };
  }

  it("pushes prompt=none with its own state, nonce and PKCE challenge, and goes to the IdP with client_id and request_uri only", async () => {
    const { startRecheck } = await import("@/lib/check-session/recheck");
    const { url, cookie } = await startRecheck(await recheckDeps(), "lsid-1");
    expect([...url.searchParams.keys()]).toEqual(["client_id", "request_uri"]);
    const pushed = pushes()[0]!.body;
    expect(pushed.get("prompt")).toBe("none");
    expect(pushed.get("redirect_uri")).toBe("http://localhost:3000/api/session/check/callback");
    expect(pushed.get("code_challenge_method")).toBe("S256");
    for (const name of ["state", "nonce", "code_challenge"]) expect(pushed.get(name)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie).toMatch(/^lockstep\.session-check=/);
  });

  it("keeps the parameters in the URL when PAR is off", async () => {
    vi.stubEnv("OIDC_PAR", "off");
    const { startRecheck } = await import("@/lib/check-session/recheck");
    const { url } = await startRecheck(await recheckDeps(), "lsid-1");
    expect(url.searchParams.get("prompt")).toBe("none");
    expect(url.searchParams.has("request_uri")).toBe(false);
    expect(pushes()).toHaveLength(0);
  });

  it("does not start with OIDC_PAR=require at an IdP without a PAR endpoint (RFC 9126 §5)", async () => {
    idp.par = false;
    vi.stubEnv("OIDC_PAR", "require");
    const { startRecheck } = await import("@/lib/check-session/recheck");
    await expect(startRecheck(await recheckDeps(), "lsid-1")).rejects.toMatchObject({ code: "par_unsupported" });
  });
});

describe("the authorization response's issuer (RFC 9207 §2.4)", () => {
  const as = (supported: boolean) => ({ issuer: "https://idp.example.com", authorization_response_iss_parameter_supported: supported });
  const params = (query: string) => new URLSearchParams(query);

  it("refuses an iss that is not the issuer, character for character (RFC 9207 §2.4)", async () => {
    const { validateIssuerParameter } = await import("@/lib/oidc/authorization-response");
    for (const iss of ["https://evil.example", "https://idp.example.com/", "https://IDP.example.com"]) {
      expect(() => validateIssuerParameter(as(true), params(`code=c&iss=${encodeURIComponent(iss)}`))).toThrow(
        expect.objectContaining({ code: "iss_mismatch", spec: "RFC 9207 §2.4" }),
      );
    }
    expect(() => validateIssuerParameter(as(false), params("code=c&iss=https%3A%2F%2Fevil.example"))).toThrow(
      expect.objectContaining({ code: "iss_mismatch" }),
    );
  });

  it("refuses a response without iss from an IdP that advertises it, and a repeated iss (RFC 9207 §2.4)", async () => {
    const { validateIssuerParameter } = await import("@/lib/oidc/authorization-response");
    expect(() => validateIssuerParameter(as(true), params("code=c&state=s"))).toThrow(expect.objectContaining({ code: "iss_missing" }));
    expect(() =>
      validateIssuerParameter(as(true), params("code=c&iss=https%3A%2F%2Fidp.example.com&iss=https%3A%2F%2Fidp.example.com")),
    ).toThrow(expect.objectContaining({ code: "iss_repeated" }));
  });

  it("accepts the issuer's own iss, and no iss from an IdP that does not advertise it", async () => {
    const { validateIssuerParameter } = await import("@/lib/oidc/authorization-response");
    expect(() => validateIssuerParameter(as(true), params("code=c&iss=https%3A%2F%2Fidp.example.com"))).not.toThrow();
    expect(() => validateIssuerParameter(as(false), params("code=c"))).not.toThrow();
  });

  it("refuses the sign-in callback with a wrong iss before Auth.js sees it, and logs the code (RFC 9207 §2.4)", async () => {
    const { callbackIssuerProblem } = await import("@/lib/oidc/sign-in");
    expect(await callbackIssuerProblem(params(`code=c&state=s&iss=${encodeURIComponent(issuer)}`))).toBeUndefined();
    expect(await callbackIssuerProblem(params("code=c&state=s&iss=https%3A%2F%2Fevil.example"))).toBe("iss_mismatch");
    expect(await callbackIssuerProblem(params("code=c&state=s"))).toBe("iss_missing");
    expect(logged("sign_in.callback").map((l) => l.code)).toEqual(["iss_mismatch", "iss_missing"]);
  });

  it("refuses the silent re-check's answer with a wrong iss: no code exchange, and the session does not end (RFC 9207 §2.4)", async () => {
    vi.stubEnv("OIDC_PAR", "off");
    const { getConfig } = await import("@/lib/config");
    const { cookieNames } = await import("@/lib/session/cookies");
    const { startRecheck, finishRecheck } = await import("@/lib/check-session/recheck");
    const config = getConfig();
    const stores = memoryStores({ ttlSeconds: 3600 });
    const deps = { config, cookies: cookieNames(config.APP_ID, config.AUTH_URL), ending: { ...stores, now: Date.now } };
    const lsid = await stores.sessions.create(record({ iss: issuer }));
    const { url, cookie } = await startRecheck(deps, lsid);
    const sealed = decodeURIComponent(cookie.split(";")[0]!.split("=").slice(1).join("="));
    const state = url.searchParams.get("state")!;
    const answer = (iss: string | undefined, rest: string) =>
      new URL(
        `http://localhost:3000/api/session/check/callback?${rest}&state=${state}${iss === undefined ? "" : `&iss=${encodeURIComponent(iss)}`}`,
      );

    // Even an error that would end the session (login_required) is not taken from another issuer.
    expect(await finishRecheck(deps, answer("https://evil.example", "error=login_required"), sealed)).toEqual({
      result: "error",
      code: "iss_mismatch",
    });
    expect(await finishRecheck(deps, answer(undefined, "code=abc"), sealed)).toEqual({ result: "error", code: "iss_missing" });
    expect(await finishRecheck(deps, answer("https://evil.example", "code=abc"), sealed)).toEqual({
      result: "error",
      code: "iss_mismatch",
    });
    expect(seen.map((r) => r.path)).not.toContain("/token");
    expect(await stores.sessions.read(lsid)).not.toBeNull();
  });
});

describe("the start-up line (oidc.client)", () => {
  it("says how requests are sent and authenticated, and names OIDC_PAR when sign-in cannot work", async () => {
    const { clientPlan } = await import("@/lib/oidc/announce");
    const basic = { OIDC_CLIENT_AUTH_METHOD: "client_secret_basic" } as const;
    const offered = {
      pushed_authorization_request_endpoint: "https://idp/par",
      token_endpoint_auth_methods_supported: ["client_secret_basic"],
    };
    expect(clientPlan(offered, { ...basic, OIDC_PAR: "auto" })).toEqual({ outcome: "ok", code: "par_on", authMethodAdvertised: true });
    expect(clientPlan({}, { ...basic, OIDC_PAR: "auto" })).toMatchObject({ outcome: "ok", code: "par_not_offered" });
    expect(clientPlan({}, { ...basic, OIDC_PAR: "require" })).toMatchObject({
      outcome: "error",
      code: "par_unsupported",
      setting: "OIDC_PAR",
    });
    expect(clientPlan({ ...offered, require_pushed_authorization_requests: true }, { ...basic, OIDC_PAR: "off" })).toMatchObject({
      outcome: "error",
      code: "par_required_by_idp",
    });
    expect(clientPlan(offered, { OIDC_CLIENT_AUTH_METHOD: "private_key_jwt", OIDC_PAR: "auto" }).authMethodAdvertised).toBe(false);
  });

  it("logs one line at start-up: with OIDC_PAR=require at an IdP without PAR, an error naming the setting", async () => {
    idp.par = false;
    vi.stubEnv("OIDC_PAR", "require");
    const { announceClientPlan } = await import("@/lib/oidc/announce");
    await announceClientPlan();
    expect(logged("oidc.client")).toEqual([
      expect.objectContaining({
        outcome: "error",
        code: "par_unsupported",
        setting: "OIDC_PAR",
        auth_method: "client_secret_basic",
        par: "require",
      }),
    ]);
  });
});
