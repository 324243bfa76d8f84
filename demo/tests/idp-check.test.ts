/**
 * `npm run idp:check` (scripts/idp-check.ts) as a child process (tests/support/idp-check-cli.ts)
 * against the real demo IdP, started here with an SSF transmitter: what it reports for an IdP that
 * offers every logout path. The template's own tests (tests/tools/idp-check.test.ts) cover the same
 * tool against captured discovery documents.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LivenessPlan } from "@/lib/liveness/plan";
import { CAEP_EVENTS } from "@/lib/ssf/events";
import { POLL_METHOD } from "@/lib/ssf/streams";
import { delays, gaps, idpCheckCli, kind, SECRETS, type IdpCheck, type Output } from "../../tests/support/idp-check-cli";
import { startIdp, type RunningIdp } from "../idp/provider";

/** Each test starts tsx once or twice (about half a second each): room for a slow, shared machine. */
const slow = { timeout: 30_000 };
const SSF_TOKEN = "ssf-management-token-of-the-test-0123456789";

let cli: IdpCheck;
let idp: RunningIdp;
const check: IdpCheck["check"] = (...args) => cli.check(...args);
const checkJson: IdpCheck["checkJson"] = (...args) => cli.checkJson(...args);

beforeAll(async () => {
  cli = await idpCheckCli();
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
  await idp?.close();
  await cli?.remove();
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
