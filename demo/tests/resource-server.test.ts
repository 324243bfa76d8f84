// The demo resource server (demo/api/): every refusal of RFC 6750 §3, RFC 9068 §4 and RFC 9449 §4.3,
// §7 and §9, each from a valid token or proof with one thing changed, and the happy paths with tokens
// from the real demo IdP.
import { randomBytes } from "node:crypto";
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startResourceServer, type RunningResourceServer } from "../api/server";
import { startIdp, type DemoClient, type RunningIdp } from "../idp/provider";
import { demoResources } from "../idp/resources";
import { demoUsers } from "../idp/users";
import { HttpSession } from "../../tests/support/http-client";
import { authorize, closedPort, dpopKey, dpopProof, redeem, startAppServer, tokenRequest, type AppServer, type DpopKey } from "./support";

const { statements, portfolio, reports, news } = demoResources;

describe("the demo resource server", () => {
  const alice = demoUsers.find((u) => u.username === "alice")!;
  const bob = demoUsers.find((u) => u.username === "bob")!;
  let app: AppServer;
  let idp: RunningIdp;
  let rs: RunningResourceServer;
  let strict: RunningResourceServer;
  let client: DemoClient;
  let key: DpopKey;
  let otherKey: DpopKey;

  beforeAll(async () => {
    app = await startAppServer();
    client = { clientId: "bank", clientSecret: "bank-secret", appUrl: app.origin, name: "Bank" };
    idp = await startIdp({ port: 0, clients: [client] });
    [rs, strict] = await Promise.all([
      startResourceServer({ issuer: idp.issuer }),
      startResourceServer({ issuer: idp.issuer, requireDpopNonce: true }),
    ]);
    [key, otherKey] = await Promise.all([dpopKey(), dpopKey("EdDSA")]);
  });

  afterAll(async () => {
    await Promise.all([rs?.close(), strict?.close()]);
    await idp?.close();
    await app?.close();
  });

  const statementsUrl = () => `${rs.urlOf("statements")}/statements`;
  const holdingsUrl = (server = rs) => `${server.urlOf("portfolio")}/holdings`;

  /** A valid access token as the IdP issues them for `resource` (RFC 9068 §2.2), with `change` applied (undefined drops a claim). */
  async function accessToken(resource: { indicator: string; scope: string }, change: Record<string, unknown> = {}, header = {}) {
    const now = Math.floor(Date.now() / 1000);
    const claims: Record<string, unknown> = {
      iss: idp.issuer,
      sub: alice.sub,
      aud: resource.indicator,
      client_id: client.clientId,
      scope: resource.scope,
      iat: now,
      exp: now + 300,
      jti: randomBytes(12).toString("base64url"),
      ...change,
    };
    return idp.sign(Object.fromEntries(Object.entries(claims).filter(([, v]) => v !== undefined)), {
      header: { typ: "at+jwt", ...header },
    });
  }

  /** A portfolio token bound to `bound` (cnf.jkt, RFC 9449 §6.1). */
  const boundToken = (bound: DpopKey = key, change: Record<string, unknown> = {}) =>
    accessToken(portfolio, { cnf: { jkt: bound.thumbprint }, ...change });

  async function get(url: string, headers: Record<string, string> | [string, string][] = {}) {
    const res = await fetch(url, { headers });
    const body = (await res.json()) as Record<string, unknown>;
    return { status: res.status, body, challenge: res.headers.get("www-authenticate") ?? "", nonce: res.headers.get("dpop-nonce") };
  }

  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  /** GETs the holdings with a DPoP-bound token and a proof, as a client would. */
  async function getHoldings(token: string, proof: Partial<Parameters<typeof dpopProof>[1]> = {}, server = rs, signer = key) {
    const htu = holdingsUrl(server);
    const dpop = await dpopProof(signer, { htm: "GET", htu, accessToken: token, ...proof });
    return get(htu, { authorization: `DPoP ${token}`, dpop });
  }

  describe("bearer tokens (the statements)", () => {
    it("asks for a token with no error code when the request has none (RFC 6750 §3.1)", async () => {
      const { status, challenge, body } = await get(statementsUrl());
      expect(status).toBe(401);
      expect(body).toEqual({ code: "missing_token", spec: "RFC 6750 §3.1" });
      expect(challenge).toMatch(/^Bearer realm="lockstep-demo-api", DPoP algs="ES256 EdDSA Ed25519"$/);
      expect(challenge).not.toContain("error=");
    });

    it("refuses a malformed Authorization header with invalid_request (RFC 6750 §2.1)", async () => {
      for (const authorization of ["Bearer", "Basic abc", "Bearer two tokens", 'Bearer "quoted"']) {
        const { status, body, challenge } = await get(statementsUrl(), { authorization });
        expect(status).toBe(400);
        expect(body).toMatchObject({ error: "invalid_request", code: "invalid_authorization" });
        expect(challenge).toContain('error="invalid_request"');
      }
    });

    it("serves alice's statements for her token from the real IdP's sign-in (RFC 8707 §2.2), and bob's for his", async () => {
      const [aliceToken, bobToken] = await Promise.all([userToken(alice, statements), userToken(bob, statements)]);
      const forAlice = await get(statementsUrl(), bearer(aliceToken));
      const forBob = await get(statementsUrl(), bearer(bobToken));
      expect(forAlice.status).toBe(200);
      const items = forAlice.body.items as Record<string, unknown>[];
      expect(items).toHaveLength(3);
      expect(Object.keys(items[0]!)).toEqual(["id", "period", "account", "opening_balance", "closing_balance"]);
      expect(forBob.body).not.toEqual(forAlice.body);
      expect(rs.requests.at(-1)).toMatchObject({ resource: "statements", status: 200, scheme: "Bearer", clientId: client.clientId });
    });

    it("serves the app's own token from the client credentials grant (sub = the client)", async () => {
      const { body } = await tokenRequest(idp.issuer, client, {
        grant_type: "client_credentials",
        resource: statements.indicator,
        scope: statements.scope,
      });
      const { status } = await get(statementsUrl(), bearer(String(body.access_token)));
      expect(status).toBe(200);
    });

    it("refuses a token for another resource: invalid_aud (RFC 9068 §4)", async () => {
      const { status, body, challenge } = await get(statementsUrl(), bearer(await accessToken(portfolio, { scope: statements.scope })));
      expect(status).toBe(401);
      expect(body).toMatchObject({ error: "invalid_token", code: "invalid_aud" });
      expect(challenge).toMatch(
        /^Bearer realm="lockstep-demo-api", error="invalid_token", error_description="invalid_aud: .* \(RFC 9068 section 4\)", DPoP algs=/,
      );
    });

    it("refuses an expired token: expired (RFC 9068 §4)", async () => {
      const past = Math.floor(Date.now() / 1000) - 600;
      const { status, body } = await get(statementsUrl(), bearer(await accessToken(statements, { iat: past, exp: past + 300 })));
      expect(status).toBe(401);
      expect(body.code).toBe("expired");
    });

    it("refuses a token whose signature does not verify: invalid_signature (RFC 9068 §4)", async () => {
      const [header, payload] = (await accessToken(statements)).split(".");
      const [, , otherSignature] = (await accessToken(statements, { sub: "someone-else" })).split(".");
      const { status, body } = await get(statementsUrl(), bearer(`${header}.${payload}.${otherSignature}`));
      expect(status).toBe(401);
      expect(body.code).toBe("invalid_signature");
    });

    it("refuses a token signed by a key the IdP does not publish: unknown_key (RFC 9068 §4)", async () => {
      const { body } = await get(statementsUrl(), bearer(await accessToken(statements, {}, { kid: "not-a-published-key" })));
      expect(body.code).toBe("unknown_key");
    });

    it("refuses another algorithm even with a real signature by a published key: alg_not_allowed (RFC 9068 §4)", async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await idp.sign(
        {
          iss: idp.issuer,
          sub: alice.sub,
          aud: statements.indicator,
          client_id: client.clientId,
          scope: statements.scope,
          iat: now,
          exp: now + 60,
          jti: "x",
        },
        { alg: "ES256", header: { typ: "at+jwt" } },
      );
      const { body } = await get(statementsUrl(), bearer(token));
      expect(body.code).toBe("alg_not_allowed");
    });

    it("refuses another issuer: invalid_iss (RFC 9068 §4)", async () => {
      const { body } = await get(statementsUrl(), bearer(await accessToken(statements, { iss: `${idp.issuer}/` })));
      expect(body.code).toBe("invalid_iss");
    });

    it("refuses a JWT that is not typ at+jwt, such as the IdP's own ID token: invalid_typ (RFC 9068 §4)", async () => {
      const { body } = await get(statementsUrl(), bearer(await accessToken(statements, {}, { typ: "JWT" })));
      expect(body.code).toBe("invalid_typ");
      const result = await authorize(new HttpSession(), idp.issuer, client, alice);
      const signIn = await redeem(idp.issuer, client, result.code!, result.pending.verifier);
      expect((await get(statementsUrl(), bearer(String(signIn.body.id_token)))).body.code).toBe("invalid_typ");
    });

    it("refuses a token without a required claim: missing_claim (RFC 9068 §2.2)", async () => {
      for (const claim of ["client_id", "jti", "sub"]) {
        const { body } = await get(statementsUrl(), bearer(await accessToken(statements, { [claim]: undefined })));
        expect(body.code, claim).toBe("missing_claim");
      }
    });

    it("refuses an opaque token (the userinfo one): malformed_token (RFC 9068 §2.1)", async () => {
      const { body } = await get(statementsUrl(), bearer("opaque-token-of-the-userinfo-kind"));
      expect(body.code).toBe("malformed_token");
    });

    it("answers a token without the resource's scope 403 insufficient_scope, naming the scope (RFC 6750 §3.1)", async () => {
      const { status, body, challenge } = await get(statementsUrl(), bearer(await accessToken(statements, { scope: "openid profile" })));
      expect(status).toBe(403);
      expect(body).toMatchObject({ error: "insufficient_scope", code: "insufficient_scope" });
      expect(challenge).toContain(`error="insufficient_scope"`);
      expect(challenge).toContain(`scope="${statements.scope}"`);
    });

    it("refuses a DPoP-bound token presented as a bearer token (RFC 9449 §7.2)", async () => {
      const token = await accessToken(statements, { cnf: { jkt: key.thumbprint } });
      const { status, body } = await get(statementsUrl(), bearer(token));
      expect(status).toBe(401);
      expect(body.code).toBe("bound_token_as_bearer");
    });

    it("also serves a DPoP-bound statements token with its proof (RFC 9449 §7.1)", async () => {
      const token = await accessToken(statements, { cnf: { jkt: key.thumbprint } });
      const dpop = await dpopProof(key, { htm: "GET", htu: statementsUrl(), accessToken: token });
      const { status } = await get(statementsUrl(), { authorization: `DPoP ${token}`, dpop });
      expect(status).toBe(200);
    });

    it("answers 404 for an unknown path (after the token) and 405 for another method", async () => {
      const token = await accessToken(statements);
      expect((await get(`${rs.urlOf("statements")}/nothing-here`, bearer(token))).status).toBe(404);
      expect((await get(`${rs.url}/elsewhere`)).status).toBe(404);
      expect((await fetch(statementsUrl(), { method: "POST", headers: bearer(token) })).status).toBe(405);
    });

    it("answers 503 and says nothing about the token when the IdP's keys cannot be fetched", async () => {
      const orphan = await startResourceServer({ issuer: `http://localhost:${await closedPort()}` });
      try {
        const { status, body, challenge } = await get(`${orphan.urlOf("statements")}/statements`, bearer(await accessToken(statements)));
        expect(status).toBe(503);
        expect(body).toMatchObject({ error: "temporarily_unavailable", code: "jwks_unavailable" });
        expect(challenge).toBe("");
      } finally {
        await orphan.close();
      }
    });
  });

  describe("DPoP-bound tokens (the portfolio)", () => {
    it("serves alice's holdings for a DPoP-bound token from the real IdP and a proof of its key (RFC 9449 §7.1)", async () => {
      const token = await userToken(alice, portfolio, key);
      const { status, body } = await getHoldings(token);
      expect(status).toBe(200);
      expect(body.items).toEqual(expect.arrayContaining([expect.objectContaining({ symbol: "LKSP", quantity: expect.any(Number) })]));
      expect(rs.requests.at(-1)).toMatchObject({ resource: "portfolio", status: 200, scheme: "DPoP", sub: alice.sub, jkt: key.thumbprint });
    });

    it("refuses an unbound bearer token with a DPoP challenge: dpop_required (RFC 9449 §7.1)", async () => {
      const { status, body, challenge } = await get(holdingsUrl(), bearer(await accessToken(portfolio)));
      expect(status).toBe(401);
      expect(body).toMatchObject({ error: "invalid_token", code: "dpop_required" });
      expect(challenge).toMatch(/^DPoP algs="ES256 EdDSA Ed25519", error="invalid_token", error_description="dpop_required: /);
    });

    it("asks for a token with a DPoP challenge only when the request has none (RFC 9449 §7.1)", async () => {
      const { status, challenge } = await get(holdingsUrl());
      expect(status).toBe(401);
      expect(challenge).toBe('DPoP algs="ES256 EdDSA Ed25519"');
    });

    it("refuses an unbound token under the DPoP scheme: unbound_token_as_dpop (RFC 9449 §7.1)", async () => {
      const { body } = await getHoldings(await accessToken(portfolio));
      expect(body.code).toBe("unbound_token_as_dpop");
    });

    it("refuses a DPoP token without a proof: missing_proof (RFC 9449 §7.1)", async () => {
      const { status, body, challenge } = await get(holdingsUrl(), { authorization: `DPoP ${await boundToken()}` });
      expect(status).toBe(401);
      expect(body).toMatchObject({ error: "invalid_dpop_proof", code: "missing_proof" });
      expect(challenge).toContain('error="invalid_dpop_proof"');
    });

    it("refuses two DPoP headers: multiple_proofs (RFC 9449 §4.3)", async () => {
      const token = await boundToken();
      const proof = () => dpopProof(key, { htm: "GET", htu: holdingsUrl(), accessToken: token });
      const { body } = await get(holdingsUrl(), [
        ["authorization", `DPoP ${token}`],
        ["dpop", await proof()],
        ["dpop", await proof()],
      ]);
      expect(body.code).toBe("multiple_proofs");
    });

    it("refuses a proof by another key than the token is bound to: jkt_mismatch (RFC 9449 §7.1)", async () => {
      const { body } = await getHoldings(await boundToken(key), {}, rs, otherKey);
      expect(body.code).toBe("jkt_mismatch");
    });

    it("refuses a proof whose signature is not by the key in its header: proof_signature (RFC 9449 §4.3)", async () => {
      const { body } = await getHoldings(await boundToken(), { signWith: await dpopKey() });
      expect(body.code).toBe("proof_signature");
    });

    it("refuses a replayed proof: replayed_jti (RFC 9449 §11.1)", async () => {
      const token = await boundToken();
      const dpop = await dpopProof(key, { htm: "GET", htu: holdingsUrl(), accessToken: token });
      const headers = { authorization: `DPoP ${token}`, dpop };
      expect((await get(holdingsUrl(), headers)).status).toBe(200);
      const replay = await get(holdingsUrl(), headers);
      expect(replay.status).toBe(401);
      expect(replay.body.code).toBe("replayed_jti");
    });

    it("refuses a proof for another method: htm_mismatch (RFC 9449 §4.3)", async () => {
      const { body } = await getHoldings(await boundToken(), { htm: "POST" });
      expect(body.code).toBe("htm_mismatch");
    });

    it("refuses a proof for another URI, and ignores only the query and fragment: htu_mismatch (RFC 9449 §4.3)", async () => {
      const token = await boundToken();
      for (const htu of [`${rs.urlOf("statements")}/statements`, `${holdingsUrl()}/more`, holdingsUrl().replace("http:", "https:")]) {
        expect((await getHoldings(token, { htu })).body.code, htu).toBe("htu_mismatch");
      }
      expect((await getHoldings(token, { htu: `${holdingsUrl()}?page=2#top` })).status).toBe(200);
      expect((await getHoldings(token, { htu: holdingsUrl().replace("127.0.0.1", "LOCALHOST") })).body.code).toBe("htu_mismatch");
    });

    it("refuses a proof whose iat is outside the window: iat_out_of_window (RFC 9449 §4.3)", async () => {
      const token = await boundToken();
      for (const iat of [Math.floor(Date.now() / 1000) - 600, Math.floor(Date.now() / 1000) + 600]) {
        expect((await getHoldings(token, { iat })).body.code).toBe("iat_out_of_window");
      }
    });

    it("refuses a proof without ath, or for another token: ath_mismatch (RFC 9449 §4.3)", async () => {
      const token = await boundToken();
      expect((await getHoldings(token, { claims: { ath: undefined } })).body.code).toBe("ath_mismatch");
      expect((await getHoldings(token, { accessToken: await boundToken() })).body.code).toBe("ath_mismatch");
    });

    it("refuses a proof that is not typ dpop+jwt, uses an algorithm it does not take, or carries a private key (RFC 9449 §4.3)", async () => {
      const token = await boundToken();
      expect((await getHoldings(token, { header: { typ: "JWT" } })).body.code).toBe("proof_typ");
      const rsa = await generateKeyPair("RS256", { extractable: true });
      const rsaJwk = await exportJWK(rsa.publicKey);
      const rsaKey: DpopKey = {
        privateKey: rsa.privateKey,
        publicJwk: rsaJwk,
        thumbprint: await calculateJwkThumbprint(rsaJwk),
        alg: "RS256",
      };
      expect((await getHoldings(await boundToken(rsaKey), {}, rs, rsaKey)).body.code).toBe("proof_alg");
      expect((await getHoldings(token, { header: { jwk: { ...key.publicJwk, d: "AAAA" } } })).body.code).toBe("proof_jwk");
      expect((await get(holdingsUrl(), { authorization: `DPoP ${token}`, dpop: "not.a-jwt" })).body.code).toBe("malformed_proof");
    });

    it("refuses a proof without jti, htm, htu or iat: proof_claims (RFC 9449 §4.2)", async () => {
      const token = await boundToken();
      for (const claim of ["jti", "iat"]) {
        expect((await getHoldings(token, { claims: { [claim]: undefined } })).body.code, claim).toBe("proof_claims");
      }
    });

    it("with nonces required, answers use_dpop_nonce and a DPoP-Nonce, then serves the retry that carries it (RFC 9449 §9)", async () => {
      const token = await boundToken();
      const first = await getHoldings(token, {}, strict);
      expect(first.status).toBe(401);
      expect(first.body).toMatchObject({ error: "use_dpop_nonce", code: "use_dpop_nonce" });
      expect(first.challenge).toContain('error="use_dpop_nonce"');
      expect(first.nonce).toEqual(expect.any(String));
      const forged = await getHoldings(token, { nonce: `${first.nonce!}x` }, strict);
      expect(forged.body.code).toBe("use_dpop_nonce");
      const retry = await getHoldings(token, { nonce: first.nonce! }, strict);
      expect(retry.status).toBe(200);
      expect(retry.nonce).toEqual(expect.any(String));
    });
  });

  describe("no token (the market: a `none` API)", () => {
    const quotesUrl = () => `${rs.urlOf("market")}/quotes`;

    it("serves the quotes to a request without Authorization, and asks for nothing", async () => {
      const { status, body, challenge } = await get(quotesUrl());
      expect(status).toBe(200);
      expect(body.items).toEqual(expect.arrayContaining([expect.objectContaining({ symbol: "LKSP", price: expect.any(String) })]));
      expect(challenge).toBe("");
      expect(rs.requests.at(-1)).toEqual({ resource: "market", path: "quotes", status: 200 });
    });

    it("refuses a request that carries any token, even a valid one: token_not_expected (RFC 6750 §3.1 invalid_request)", async () => {
      for (const authorization of [`Bearer ${await accessToken(statements)}`, "Bearer x", "DPoP x", ""]) {
        const { status, body, challenge } = await get(quotesUrl(), { authorization });
        expect(status, authorization).toBe(400);
        expect(body).toMatchObject({ error: "invalid_request", code: "token_not_expected" });
        expect(challenge).toBe("");
      }
    });
  });

  describe("the app's own token (the reports: a `client` API)", () => {
    const summaryUrl = () => `${rs.urlOf("reports")}/summary`;
    const clientToken = async (resource: { indicator: string; scope: string } = reports) => {
      const { status, body } = await tokenRequest(idp.issuer, client, {
        grant_type: "client_credentials",
        resource: resource.indicator,
        scope: resource.scope,
      });
      expect(status).toBe(200);
      return String(body.access_token);
    };

    it("serves the summary for a token from the client credentials grant (RFC 6749 §4.4), whose sub is the client (RFC 9068 §2.2)", async () => {
      const { status, body } = await get(summaryUrl(), bearer(await clientToken()));
      expect(status).toBe(200);
      expect(body).toMatchObject({
        period: expect.any(String),
        items: expect.arrayContaining([expect.objectContaining({ figure: "Customers" })]),
      });
      expect(rs.requests.at(-1)).toMatchObject({
        resource: "reports",
        status: 200,
        scheme: "Bearer",
        sub: client.clientId,
        clientId: client.clientId,
        jti: expect.any(String),
      });
    });

    it("refuses a user's token for the reports audience: client_token_required (RFC 9068 §2.2)", async () => {
      const { status, body, challenge } = await get(summaryUrl(), bearer(await accessToken(reports)));
      expect(status).toBe(403);
      expect(body).toMatchObject({ code: "client_token_required", spec: "RFC 9068 §2.2" });
      expect(challenge).not.toContain("error=");
    });

    it("refuses no token (RFC 6750 §3.1), the app's token for another resource (invalid_aud) and one without reports:read", async () => {
      expect((await get(summaryUrl())).body.code).toBe("missing_token");
      expect((await get(summaryUrl(), bearer(await clientToken(statements)))).body.code).toBe("invalid_aud");
      const unscoped = await accessToken(reports, { sub: client.clientId, scope: "statements:read" });
      expect((await get(summaryUrl(), bearer(unscoped))).body.code).toBe("insufficient_scope");
    });

    it("is never issued at a user's grant: the IdP answers invalid_target to a refresh naming it (RFC 8707 §2)", async () => {
      const result = await authorize(new HttpSession(), idp.issuer, client, alice, {
        scope: `openid ${statements.scope}`,
        resource: [statements.indicator],
      });
      const signIn = await redeem(idp.issuer, client, result.code!, result.pending.verifier);
      const { status, body } = await tokenRequest(idp.issuer, client, {
        grant_type: "refresh_token",
        refresh_token: String(signIn.body.refresh_token),
        resource: reports.indicator,
      });
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_target");
    });
  });

  describe("a user's token or none (the news: a `user-or-none` API)", () => {
    const headlinesUrl = () => `${rs.urlOf("news")}/headlines`;

    it("serves generic headlines without a token", async () => {
      const { status, body } = await get(headlinesUrl());
      expect(status).toBe(200);
      expect(body).toMatchObject({ personalised: false });
      expect(body.items).toHaveLength(3);
      expect(rs.requests.at(-1)).toEqual({ resource: "news", path: "headlines", status: 200 });
    });

    it("serves alice's own headlines for her token from the real IdP (RFC 8707 §2.2), and bob's for his", async () => {
      const [aliceToken, bobToken] = await Promise.all([userToken(alice, news), userToken(bob, news)]);
      const forAlice = await get(headlinesUrl(), bearer(aliceToken));
      const forBob = await get(headlinesUrl(), bearer(bobToken));
      expect(forAlice.status).toBe(200);
      expect(forAlice.body).toMatchObject({ personalised: true });
      expect(forBob.body).not.toEqual(forAlice.body);
      expect(rs.requests.at(-1)).toMatchObject({ resource: "news", status: 200, sub: bob.sub });
    });

    it("refuses a token that does not validate rather than serve it as none: expired, invalid_aud (RFC 9068 §4)", async () => {
      const past = Math.floor(Date.now() / 1000) - 600;
      expect((await get(headlinesUrl(), bearer(await accessToken(news, { iat: past, exp: past + 300 })))).body.code).toBe("expired");
      expect((await get(headlinesUrl(), bearer(await accessToken(statements, { scope: news.scope })))).body.code).toBe("invalid_aud");
    });

    it("is never issued at the client credentials grant: invalid_target (RFC 8707 §2)", async () => {
      const { status, body } = await tokenRequest(idp.issuer, client, {
        grant_type: "client_credentials",
        resource: news.indicator,
        scope: news.scope,
      });
      expect(status).toBe(400);
      expect(body.error).toBe("invalid_target");
    });
  });

  /**
   * Signs `user` in at the real IdP, asking for `resource`, and gets its token at the refresh-token grant
   * with `resource` (RFC 8707 §2.2), DPoP-bound to `bound` when given.
   */
  async function userToken(user: { username: string; password: string }, resource: { indicator: string; scope: string }, bound?: DpopKey) {
    const result = await authorize(new HttpSession(), idp.issuer, client, user, {
      scope: `openid ${resource.scope}`,
      resource: [resource.indicator],
    });
    const signIn = await tokenRequest(idp.issuer, client, {
      grant_type: "authorization_code",
      code: result.code!,
      redirect_uri: `${client.appUrl}/api/auth/callback/oidc`,
      code_verifier: result.pending.verifier,
    });
    const proof = bound ? { dpop: await dpopProof(bound, { htm: "POST", htu: `${idp.issuer}/token` }) } : undefined;
    const { status, body } = await tokenRequest(
      idp.issuer,
      client,
      { grant_type: "refresh_token", refresh_token: String(signIn.body.refresh_token), resource: resource.indicator },
      proof,
    );
    expect(status).toBe(200);
    return String(body.access_token);
  }
});
