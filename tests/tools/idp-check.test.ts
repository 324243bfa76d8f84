/**
 * `npm run idp:check` (scripts/idp-check.ts), run as a child process the way people run it, against
 * the real demo IdP and against discovery documents served by a loopback server of this test's own
 * (tests/unit/fixtures/discovery.ts). It runs in an empty directory, so no .env file of the checkout
 * changes the answer, with an environment that holds only what each test sets.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startIdp, type RunningIdp } from "@/demo/idp/provider";
import type { CoverageReport, EventKind } from "@/lib/liveness/coverage";
import type { LivenessPlan } from "@/lib/liveness/plan";
import { CAEP_EVENTS } from "@/lib/ssf/events";
import { POLL_METHOD } from "@/lib/ssf/streams";
import { closeServers, serve } from "../support/loopback";
import { glewlwyd, googleLike, rebase, type Discovery } from "../unit/fixtures/discovery";

const root = fileURLToPath(new URL("../..", import.meta.url));
/** Each test starts tsx once or twice (about half a second each): room for a slow, shared machine. */
const slow = { timeout: 30_000 };
const SSF_TOKEN = "ssf-management-token-of-the-test-0123456789";
/** Settings the check must never print, though they are in its environment. */
const SECRETS = { AUTH_SECRET: "auth-secret-of-the-test-0123456789abcdef", OIDC_CLIENT_SECRET: "client-secret-of-the-test-0123456789" };

type Output = {
  source: string;
  issuer: { given?: string; document: string; matches?: boolean };
  ssf?: { configuration: string; stream: string; problem?: string };
  report: CoverageReport;
  status: string;
};
type Run = { code: number; stdout: string; stderr: string };

let workdir: string;
let base: string;
let idp: RunningIdp;

/** Runs the check as `npm run idp:check -- …` does (tsx), in an empty directory, with exactly `env` (and PATH, NODE_ENV). */
function check(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const script = path.join(root, "scripts/idp-check.ts");
  const tsx = path.join(root, "node_modules/.bin/tsx");
  return new Promise((resolve) => {
    execFile(
      tsx,
      ["--tsconfig", path.join(root, "tsconfig.json"), script, ...args],
      { cwd: workdir, env: { NODE_ENV: "test", PATH: process.env.PATH ?? "", ...env }, timeout: 60_000 },
      (error, stdout, stderr) => resolve({ code: error ? (typeof error.code === "number" ? error.code : -1) : 0, stdout, stderr }),
    );
  });
}

async function checkJson(args: string[], env: Record<string, string> = {}): Promise<Output> {
  const run = await check([...args, "--json"], env);
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Output;
}

const kind = (output: Output, name: EventKind) => {
  const found = output.report.kinds.find((k) => k.kind === name);
  if (!found) throw new Error(`no ${name}`);
  return found;
};
/** mechanism → worst case in seconds (null when no number can be given), for one kind of event. */
const delays = (output: Output, name: EventKind) =>
  Object.fromEntries(kind(output, name).carriers.map((c) => [c.mechanism, c.delay.seconds ?? null]));
const gaps = (output: Output) =>
  Object.fromEntries(output.report.kinds.map((k) => [k.kind, k.gap ? [k.gap.code, k.gap.boundSeconds] : null]));

beforeAll(async () => {
  workdir = await mkdtemp(path.join(tmpdir(), "idp-check-"));
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
  idp = await startIdp({
    port: 0,
    clients: [
      {
        clientId: "lockstep",
        clientSecret: "demo-secret",
        appUrl: "http://localhost:3000",
        name: "Lockstep",
        ssfManagementToken: SSF_TOKEN,
      },
    ],
  });
}, 30_000);

afterAll(async () => {
  await closeServers();
  await idp?.close();
  await rm(workdir, { recursive: true, force: true });
});

describe("the demo IdP (started for real)", slow, () => {
  it("advertises every logout path, and the issuer matches exactly (Discovery §4.3)", async () => {
    const output = await checkJson([idp.issuer]);
    expect(output.issuer).toEqual({ given: idp.issuer, document: idp.issuer, matches: true });
    expect(Object.values(output.report.advertised).every(Boolean)).toBe(true);
  });

  it("a sign-out at the IdP: back-channel as soon as sent, front-channel while a browser is at the logout page, the iframe every 3 s, RP-initiated at once", async () => {
    const output = await checkJson([idp.issuer]);
    expect(delays(output, "idp_sign_out")).toEqual({ backchannel: null, frontchannel: null, session_iframe: 3, rp_initiated: 0 });
    expect(kind(output, "idp_sign_out").carriers.map((c) => [c.mechanism, c.delay.text])).toContainEqual([
      "backchannel",
      "seconds, as soon as the IdP sends it",
    ]);
    expect(gaps(output)).toEqual({
      idp_sign_out: null,
      admin_ended: ["idp_dependent", 28_800],
      account_disabled: ["idp_dependent", 28_800],
      password_changed: ["idp_dependent", 28_800],
    });
  });

  it("liveness is off under LIVENESS=auto (back-channel logout is offered), and LIVENESS=on adds it at interval + 5 s", async () => {
    const auto = await checkJson([idp.issuer]);
    expect(auto.report.liveness).toEqual<LivenessPlan>({
      enabled: false,
      because: "backchannel",
      intervalSeconds: 60,
      methods: ["introspection", "refresh", "userinfo"],
    });
    expect(auto.status).toBe(
      "Kept in step by back-channel logout, front-channel logout and the IdP's session iframe in open tabs (if registered at the IdP).",
    );
    const on = await checkJson([idp.issuer], { LIVENESS: "on", LIVENESS_INTERVAL_SECONDS: "30" });
    expect(delays(on, "account_disabled")).toMatchObject({ liveness: 35 });
    expect(on.status).toMatch(/; re-checked at the IdP every 30 s\.$/);
  });

  it("with SSF_ISSUER, reads the transmitter and this receiver's stream: its events_delivered decide (SSF §7.2, §8.1.1), and no secret is printed", async () => {
    const created = await fetch(`${idp.issuer}/ssf/streams`, {
      method: "POST",
      headers: { authorization: `Bearer ${SSF_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({
        events_requested: [CAEP_EVENTS.sessionRevoked, CAEP_EVENTS.credentialChange],
        delivery: { method: POLL_METHOD },
      }),
    });
    expect(created.status).toBe(201);
    const env = { SSF_ISSUER: idp.issuer, SSF_DELIVERY: "poll", SSF_MANAGEMENT_TOKEN: SSF_TOKEN, ...SECRETS };
    const run = await check([idp.issuer, "--json"], env);
    expect(run.code).toBe(0);
    const output = JSON.parse(run.stdout) as Output;
    expect(output.ssf).toMatchObject({ configuration: "read", stream: "read" });
    expect(kind(output, "admin_ended").carriers.find((c) => c.mechanism === "shared_signals")).toMatchObject({ conditions: [] });
    expect(kind(output, "password_changed").carriers.map((c) => c.mechanism)).toContain("shared_signals");
    expect(kind(output, "account_disabled").carriers.map((c) => c.mechanism)).not.toContain("shared_signals");
    expect(output.report.liveness).toMatchObject({ enabled: false, because: "shared_signals" });
    const text = await check([idp.issuer], env);
    for (const secret of [SSF_TOKEN, ...Object.values(SECRETS)]) {
      for (const printed of [run.stdout, run.stderr, text.stdout, text.stderr]) expect(printed).not.toContain(secret);
    }
  });

  it("prints a readable table by default", async () => {
    const run = await check([idp.issuer]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`issuer      ${idp.issuer} (matches exactly)`);
    for (const heading of [
      "What the IdP advertises",
      "How each event reaches this app",
      "What nothing covers",
      "Liveness",
      "Status line:",
    ]) {
      expect(run.stdout).toContain(heading);
    }
    expect(run.stdout).toMatch(/back-channel logout +seconds, as soon as the IdP sends it +if registered/);
  });
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
    const file = path.join(workdir, "glewlwyd.json");
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
