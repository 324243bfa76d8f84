/**
 * `npm run idp:check` (scripts/idp-check.ts), run as a child process the way people run it
 * (tests/support/idp-check-cli.ts), against discovery documents served by a loopback server of this
 * test's own (tests/unit/fixtures/discovery.ts). The same against the real demo IdP is in the demo's
 * tests (demo/tests/idp-check.test.ts).
 */
import { writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LivenessPlan } from "@/lib/liveness/plan";
import { closeServers, serve } from "../support/loopback";
import { delays, gaps, idpCheckCli, kind, type IdpCheck, type Output } from "../support/idp-check-cli";
import { glewlwyd, googleLike, rebase, type Discovery } from "../unit/fixtures/discovery";

/** Each test starts tsx once or twice (about half a second each): room for a slow, shared machine. */
const slow = { timeout: 30_000 };

let cli: IdpCheck;
let base: string;
const check: IdpCheck["check"] = (...args) => cli.check(...args);
const checkJson: IdpCheck["checkJson"] = (...args) => cli.checkJson(...args);

beforeAll(async () => {
  cli = await idpCheckCli();
  const documents: Record<string, Discovery> = {};
  base = await serve((req, _body, res) => {
    const url = req.url ?? "/";
    const suffix = "/.well-known/openid-configuration";
    const prefix = url.endsWith(suffix) ? url.slice(0, -suffix.length) : undefined;
    if (prefix === "/silent") return; // never answers
    if (prefix === "/not-json") return void res.writeHead(200, { "content-type": "text/html" }).end("<html>sign in</html>");
    const document = prefix === undefined ? undefined : documents[prefix];
    if (!document) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(document));
  });
  documents["/glewlwyd/api/oidc"] = rebase(glewlwyd, `${base}/glewlwyd/api/oidc`);
  documents["/google"] = rebase(googleLike, `${base}/google`);
  // The issuer of this one ends in "/": fetched for ".../slash", it names another issuer.
  documents["/slash"] = { ...rebase(googleLike, `${base}/slash`), issuer: `${base}/slash/` };
}, 30_000);

afterAll(async () => {
  await closeServers();
  await cli?.remove();
});

describe("glewlwyd 2.7.5 (its real document, served here)", slow, () => {
  it("no *_logout_supported fields: liveness on (introspection first) at 65 s, the session iframe at 3 s, and every kind left to the IdP's revoking the grant", async () => {
    const issuer = `${base}/glewlwyd/api/oidc`;
    const output = await checkJson([issuer]);
    expect(output.issuer.matches).toBe(true);
    expect(output.report.advertised).toMatchObject({
      backchannelLogout: false,
      frontchannelLogout: false,
      checkSessionIframe: true,
      endSession: true,
    });
    expect(output.report.liveness).toEqual<LivenessPlan>({
      enabled: true,
      because: "no_push",
      intervalSeconds: 60,
      methods: ["introspection", "refresh", "userinfo"],
    });
    expect(delays(output, "idp_sign_out")).toEqual({ liveness: 65, session_iframe: 3, rp_initiated: 0 });
    expect(delays(output, "password_changed")).toEqual({ liveness: 65, session_iframe: 3 });
    expect(kind(output, "password_changed").carriers.find((c) => c.mechanism === "liveness")?.conditions).toEqual([
      "grant_revoked",
      "idp_dependent",
    ]);
    expect(Object.values(gaps(output))).toEqual(Array(4).fill(["idp_dependent", 28_800]));
    expect(output.status).toBe("Kept in step by the IdP's session iframe in open tabs; re-checked at the IdP every 60 s.");
  });

  it("SESSION_MANAGEMENT=off leaves its check_session_iframe unused", async () => {
    const output = await checkJson([`${base}/glewlwyd/api/oidc`], { SESSION_MANAGEMENT: "off" });
    expect(delays(output, "idp_sign_out")).toEqual({ liveness: 65, rp_initiated: 0 });
  });

  it("reads the same document from a file (--file), offline", async () => {
    const file = path.join(cli.workdir, "glewlwyd.json");
    await writeFile(file, JSON.stringify(glewlwyd));
    const output = await checkJson(["--file", file, glewlwyd.issuer]);
    expect(output).toMatchObject({ source: `file ${file}`, issuer: { matches: true } });
    expect(delays(output, "idp_sign_out")).toEqual({ liveness: 65, session_iframe: 3, rp_initiated: 0 });
  });
});

describe("a Google-like IdP (no logout support)", slow, () => {
  it("only the liveness check, by refresh then userinfo, carries any event", async () => {
    const output = await checkJson([`${base}/google`]);
    expect(output.report.liveness.methods).toEqual(["refresh", "userinfo"]);
    for (const name of ["idp_sign_out", "admin_ended", "account_disabled", "password_changed"] as const) {
      expect(delays(output, name)).toEqual({ liveness: 65 });
    }
  });

  it("with LIVENESS=off nothing does: every kind lasts until SESSION_TTL_SECONDS", async () => {
    const output = await checkJson([`${base}/google`], { LIVENESS: "off", SESSION_TTL_SECONDS: "3600" });
    expect(gaps(output)).toEqual({
      idp_sign_out: ["nothing", 3600],
      admin_ended: ["nothing", 3600],
      account_disabled: ["nothing", 3600],
      password_changed: ["nothing", 3600],
    });
    expect(output.status).toBe("Nothing tells this app of a sign-out at the IdP: a session ends when signed out here or after 1 h.");
  });

  it("takes the issuer from OIDC_ISSUER when none is given, needing none of the other settings", async () => {
    const output = await checkJson([], { OIDC_ISSUER: `${base}/google` });
    expect(output.issuer).toMatchObject({ given: `${base}/google`, matches: true });
  });
});

describe("failures: one line, a non-zero exit code", slow, () => {
  it("an issuer that differs from the document's, even by a trailing slash, is named and fails (Discovery §4.3)", async () => {
    const run = await check([`${base}/slash`, "--json"]);
    expect(run.code).toBe(1);
    expect((JSON.parse(run.stdout) as Output).issuer).toEqual({ given: `${base}/slash`, document: `${base}/slash/`, matches: false });
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it.each([
    ["no document (HTTP 404)", "/missing", /HTTP 404$/],
    ["an answer that is not JSON", "/not-json", /not JSON$/],
  ])("%s", async (_name, prefix, message) => {
    const run = await check([`${base}${prefix}`]);
    expect(run).toMatchObject({ code: 1, stdout: "" });
    expect(run.stderr.trim()).toMatch(/^idp:check: /);
    expect(run.stderr.trim()).toMatch(message);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });

  it("an IdP that does not answer within --timeout", async () => {
    const run = await check([`${base}/silent`, "--timeout", "1"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe(`idp:check: ${base}/silent/.well-known/openid-configuration: no answer within 1 s`);
  });

  it("an IdP that refuses the connection", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const run = await check([`http://127.0.0.1:${port}`]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toMatch(/could not connect \(ECONNREFUSED\)$/);
  });

  it("an http issuer that is not on loopback is refused before any request (Discovery §2)", async () => {
    const run = await check(["http://idp.example.com"]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(/^idp:check: the issuer must be an https URL/);
  });

  it("a bad setting is named, its value is not printed", async () => {
    const run = await check([`${base}/google`], { LIVENESS: "sometimes-secret" });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^idp:check: invalid settings: LIVENESS: /);
    expect(run.stderr).not.toContain("sometimes-secret");
  });
});
