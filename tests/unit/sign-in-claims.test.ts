/**
 * The claims a session starts with (lib/session/claims.ts `signInClaims`): the ID token's, and what it
 * lacks from userinfo (OpenID Connect Core §5.4), whose `sub` must be the ID token's (Core §5.3.2).
 * A userinfo failure never fails the sign-in; it logs one line with a code, never a token.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { signInClaims, type FetchUserinfo } from "@/lib/session/claims";
import { UserinfoError } from "@/lib/oidc/userinfo";
import { hashId } from "@/lib/log/security-log";
import { closeServers, serve, stubIdpSettings } from "../support/loopback";

const SUB = "usr_4f1c2a9e7d3b4c60";
const ACCESS_TOKEN = "at-0123456789-secret";

/** The security-log lines written while a test runs (lib/log/security-log.ts writes them to stdout). */
let logged: string[];

beforeEach(() => {
  logged = [];
  const write = process.stdout.write.bind(process.stdout);
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const line = String(chunk);
    if (line.includes('"kind":"security"')) {
      logged.push(line);
      return true;
    }
    return (write as (...args: unknown[]) => boolean)(chunk, ...rest);
  });
});

afterEach(async () => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  await closeServers();
});

const securityLines = () => logged.map((line) => JSON.parse(line) as Record<string, unknown>);

/** A userinfo endpoint that answers `claims` and records what it was asked. */
function userinfoAnswering(claims: Record<string, unknown>) {
  return vi.fn<FetchUserinfo>(async () => claims);
}

describe("signInClaims: the session's name and email at sign-in", () => {
  it("takes both from the ID token when it has them, and does not ask userinfo", async () => {
    const fetchUserinfo = userinfoAnswering({ sub: SUB, name: "Other", email: "other@example.com" });

    const claims = await signInClaims({ sub: SUB, name: "Alice Example", email: "alice@example.com" }, ACCESS_TOKEN, fetchUserinfo);

    expect(claims).toEqual({ name: "Alice Example", email: "alice@example.com" });
    expect(fetchUserinfo).not.toHaveBeenCalled();
  });

  it("takes what the ID token lacks from userinfo, asked with the access token for the ID token's sub (Core §5.4)", async () => {
    const fetchUserinfo = userinfoAnswering({ sub: SUB, name: "Alice Example", email: "alice@example.com", email_verified: true });

    const claims = await signInClaims({ sub: SUB }, ACCESS_TOKEN, fetchUserinfo);

    expect(claims).toEqual({ name: "Alice Example", email: "alice@example.com" });
    expect(fetchUserinfo).toHaveBeenCalledExactlyOnceWith(ACCESS_TOKEN, SUB);
    expect(logged).toEqual([]);
  });

  it("keeps the ID token's value where it has one: userinfo only fills the gaps", async () => {
    const fetchUserinfo = userinfoAnswering({ sub: SUB, name: "Name at userinfo", email: "alice@example.com" });

    const claims = await signInClaims({ sub: SUB, name: "Name in the ID token" }, ACCESS_TOKEN, fetchUserinfo);

    expect(claims).toEqual({ name: "Name in the ID token", email: "alice@example.com" });
  });

  it("counts only string values, in the ID token and at userinfo", async () => {
    const fetchUserinfo = userinfoAnswering({ sub: SUB, name: 42, email: "alice@example.com" });

    const claims = await signInClaims({ sub: SUB, name: { given: "Alice" }, email: null }, ACCESS_TOKEN, fetchUserinfo);

    expect(claims).toEqual({ name: undefined, email: "alice@example.com" });
    expect(fetchUserinfo).toHaveBeenCalledOnce();
  });

  it("without an access token asks nothing: the ID token's claims are all there is", async () => {
    const fetchUserinfo = userinfoAnswering({ sub: SUB, name: "Alice Example" });

    expect(await signInClaims({ sub: SUB, email: "alice@example.com" }, undefined, fetchUserinfo)).toEqual({
      name: undefined,
      email: "alice@example.com",
    });
    expect(fetchUserinfo).not.toHaveBeenCalled();
  });

  it("refuses userinfo claims about another subject (Core §5.3.2): they stay missing, and one line says so", async () => {
    const fetchUserinfo = userinfoAnswering({ sub: "someone-else", name: "Mallory", email: "mallory@example.com" });

    const claims = await signInClaims({ sub: SUB, email: "alice@example.com" }, ACCESS_TOKEN, fetchUserinfo);

    expect(claims).toEqual({ name: undefined, email: "alice@example.com" });
    expect(securityLines()).toEqual([
      expect.objectContaining({ event: "session.claims", outcome: "rejected", code: "userinfo_sub_mismatch", sub: hashId(SUB) }),
    ]);
  });

  it("goes on when userinfo fails: the claims stay missing, and one line gives the code and status, never a token", async () => {
    const fetchUserinfo = vi.fn<FetchUserinfo>(async () => {
      throw new UserinfoError(503);
    });

    const claims = await signInClaims({ sub: SUB }, ACCESS_TOKEN, fetchUserinfo);

    expect(claims).toEqual({ name: undefined, email: undefined });
    expect(securityLines()).toEqual([
      expect.objectContaining({ event: "session.claims", outcome: "error", code: "userinfo_failed", status: 503, sub: hashId(SUB) }),
    ]);
    expect(logged.join("")).not.toContain(ACCESS_TOKEN);
    expect(logged.join("")).not.toContain(SUB);
  });

  it("goes on when the fetch throws something else entirely", async () => {
    const fetchUserinfo = vi.fn<FetchUserinfo>(async () => {
      throw new TypeError(`fetch failed for ${ACCESS_TOKEN}`);
    });

    expect(await signInClaims({ sub: SUB }, ACCESS_TOKEN, fetchUserinfo)).toEqual({ name: undefined, email: undefined });
    expect(securityLines()).toEqual([expect.objectContaining({ outcome: "error", code: "userinfo_failed" })]);
    expect(logged.join("")).not.toContain(ACCESS_TOKEN);
  });

  it("logs nothing when the IdP has no userinfo endpoint: there is nothing to ask", async () => {
    const fetchUserinfo = vi.fn<FetchUserinfo>(async () => {
      throw new UserinfoError(undefined, "no_userinfo_endpoint");
    });

    expect(await signInClaims({ sub: SUB, name: "Alice Example" }, ACCESS_TOKEN, fetchUserinfo)).toEqual({
      name: "Alice Example",
      email: undefined,
    });
    expect(logged).toEqual([]);
  });
});

describe("signInClaims with the real fetchUserinfo, against a loopback IdP", () => {
  let requests: { url?: string; authorization?: string }[];

  /** An IdP whose discovery has (or lacks) a userinfo endpoint that answers `status` and `body`. */
  async function idp(userinfo: { status: number; body: unknown } | "no endpoint") {
    requests = [];
    const issuer = await serve((req, _body, res) => {
      requests.push({ url: req.url, authorization: req.headers.authorization });
      const self = `http://${req.headers.host}`;
      if (req.url === "/.well-known/openid-configuration") {
        const discovery = { issuer: `${self}/`, token_endpoint: `${self}/token` };
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify(userinfo === "no endpoint" ? discovery : { ...discovery, userinfo_endpoint: `${self}/me` }));
      } else if (req.url === "/me" && userinfo !== "no endpoint") {
        res.writeHead(userinfo.status, { "content-type": "application/json" }).end(JSON.stringify(userinfo.body));
      } else res.writeHead(404).end();
    });
    stubIdpSettings(vi.stubEnv, `${issuer}/`);
    // A fresh configuration and discovery cache for this IdP.
    vi.resetModules();
    const claims = await import("@/lib/session/claims");
    return claims.signInClaims;
  }

  it("fills the claims from the IdP's userinfo endpoint, asked with the access token as a bearer token", async () => {
    const signIn = await idp({ status: 200, body: { sub: SUB, name: "Alice Example", email: "alice@example.com" } });

    expect(await signIn({ sub: SUB }, ACCESS_TOKEN)).toEqual({ name: "Alice Example", email: "alice@example.com" });
    expect(requests.find((r) => r.url === "/me")?.authorization).toBe(`Bearer ${ACCESS_TOKEN}`);
  });

  it("refuses an answer about another subject, with its own code (Core §5.3.2)", async () => {
    const signIn = await idp({ status: 200, body: { sub: "someone-else", name: "Mallory" } });

    expect(await signIn({ sub: SUB }, ACCESS_TOKEN)).toEqual({ name: undefined, email: undefined });
    expect(securityLines()).toEqual([expect.objectContaining({ outcome: "rejected", code: "userinfo_sub_mismatch", status: 200 })]);
  });

  it("goes on without the claims when userinfo answers an error", async () => {
    const signIn = await idp({ status: 500, body: { error: "server_error" } });

    expect(await signIn({ sub: SUB, name: "Alice Example" }, ACCESS_TOKEN)).toEqual({ name: "Alice Example", email: undefined });
    expect(securityLines()).toEqual([expect.objectContaining({ outcome: "error", code: "userinfo_failed", status: 500 })]);
  });

  it("asks nothing when the IdP publishes no userinfo endpoint (Discovery 1.0 §3)", async () => {
    const signIn = await idp("no endpoint");

    expect(await signIn({ sub: SUB, name: "Alice Example" }, ACCESS_TOKEN)).toEqual({ name: "Alice Example", email: undefined });
    expect(requests.map((r) => r.url)).toEqual(["/.well-known/openid-configuration"]);
    expect(logged).toEqual([]);
  });
});
