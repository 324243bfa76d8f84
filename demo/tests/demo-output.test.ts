import { describe, expect, it } from "vitest";
import { demoLines, redact, shortSecurityLine, ssfRegisterLines } from "../scripts/output";

/**
 * What `npm run demo` and `npm run dev` print: every line under its process's name, no credential in
 * any of them, the security log one short line per event, and the SSF stream in one sentence
 * (`next dev`'s own request log: tests/unit/dev-request-log.test.ts).
 */
const prefix = (source: string) => `[${source}]`;

describe("redact", () => {
  it("replaces an OAuth callback's code, state and session_state, and keeps the rest of the URL", () => {
    const line = "GET /api/auth/callback/oidc?code=Xy7_secret-code&state=st4te&iss=http%3A%2F%2Flocalhost%3A4000&session_state=abc.def 302";
    const shown = redact(line);
    expect(shown).toBe(
      "GET /api/auth/callback/oidc?code=[redacted]&state=[redacted]&iss=http%3A%2F%2Flocalhost%3A4000&session_state=[redacted] 302",
    );
  });

  it("replaces tokens in URLs, JSON, headers and JWTs anywhere in a line", () => {
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
    const cases: [string, string][] = [
      [`/session/end?id_token_hint=${jwt}&x=1`, "/session/end?id_token_hint=[redacted]&x=1"],
      [
        `{"access_token":"at-123","refresh_token":"rt-456","expires_in":60}`,
        `{"access_token":"[redacted]","refresh_token":"[redacted]","expires_in":60}`,
      ],
      ["Authorization: Bearer abcdefghijklmnop1234", "Authorization: [redacted]"],
      ["Cookie: authjs.session-token=sealedvalue; other=1", "Cookie: [redacted]"],
      [`sent ${jwt} to the app`, "sent [redacted] to the app"],
      ["retrying with DPoP Zm9vYmFyYmF6cXV4cXV1eA", "retrying with DPoP [redacted]"],
    ];
    for (const [line, expected] of cases) expect(redact(line)).toBe(expected);
  });

  it("leaves ordinary lines alone, the security log's result code included", () => {
    for (const line of [
      '{"kind":"security","event":"ssf.set","outcome":"ok","code":"verified"}',
      "back-channel logout sent to lockstep-bank",
      "▲ Next.js 16.4.6",
      "client_secret_basic and Bearer tokens",
    ]) {
      expect(redact(line)).toBe(line);
    }
  });
});

describe("shortSecurityLine", () => {
  it("renders a security-log entry as one short line, without its time", () => {
    const line =
      '{"at":"2026-12-07T02:37:54.746Z","kind":"security","event":"ssf.set","outcome":"ok","code":"verified","via":"push","type":"verification","jti":"98303a7b"}';
    expect(shortSecurityLine(line)).toBe("security ssf.set ok (verified) via=push type=verification jti=98303a7b");
    expect(shortSecurityLine('{"at":"x","kind":"security","event":"logout.idp_return","outcome":"ok"}')).toBe(
      "security logout.idp_return ok",
    );
  });

  it("is undefined for anything that is not a security-log entry", () => {
    for (const line of ["plain text", '{"kind":"other"}', "{not json", '["kind","security"]'])
      expect(shortSecurityLine(line)).toBeUndefined();
  });
});

describe("ssfRegisterLines", () => {
  it("puts the stream and its verification in one sentence, and keeps the script's other lines", () => {
    const output = [
      '{"stream_id":"74dd417c","aud":"http://localhost:3000","delivery":"urn:ietf:rfc:8935","events_delivered":12}',
      '{"at":"x","kind":"security","event":"ssf.stream","outcome":"ok","code":"registered"}',
      "verification requested",
      "",
    ].join("\n");
    expect(ssfRegisterLines(output)).toEqual([
      "Shared Signals stream 74dd417c registered at the IdP (push to http://localhost:3000, 12 event types); verification requested",
      '{"at":"x","kind":"security","event":"ssf.stream","outcome":"ok","code":"registered"}',
    ]);
    expect(ssfRegisterLines('{"stream_id":"s1","aud":"http://a","delivery":"urn:ietf:rfc:8936"}')[0]).toBe(
      "Shared Signals stream s1 registered at the IdP (poll to http://a)",
    );
  });

  it("shows output it does not recognise line by line", () => {
    expect(ssfRegisterLines("ssf: something went wrong\nagain")).toEqual(["ssf: something went wrong", "again"]);
  });
});

describe("demoLines", () => {
  it("prefixes every line of a multi-line piece of output, redacted and shortened", () => {
    const text = '{"stream_id":"s"}\nverification requested\n{"at":"x","kind":"security","event":"session.created","outcome":"ok"}\n';
    expect(demoLines("bank", text, { prefix })).toEqual([
      '[bank] {"stream_id":"s"}',
      "[bank] verification requested",
      "[bank] security session.created ok",
    ]);
    expect(demoLines("app", "GET /api/logout/callback?state=abc 303", { prefix })).toEqual([
      "[app] GET /api/logout/callback?state=[redacted] 303",
    ]);
  });

  it("prints the security log as the app writes it with DEMO_LOG=json (still redacted)", () => {
    const line = '{"kind":"security","event":"x","outcome":"ok","access_token":"at"}';
    expect(demoLines("bank", line, { prefix, format: "json" })).toEqual([
      '[bank] {"kind":"security","event":"x","outcome":"ok","access_token":"[redacted]"}',
    ]);
  });
});
