import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { bank, sessionOf, signIn, startTestStack } from "../support/lockstep";
import { testRedis } from "../support/test-redis";
import type { Stack } from "../../demo/scripts/stack";
import { appKeys } from "@/lib/store/keys";
import type { SessionRecord } from "@/lib/session/record";

/**
 * An IdP that releases `name` and `email` at its userinfo endpoint only, not in the ID token (OpenID
 * Connect Core §5.4, as oidc-provider's `conformIdTokenClaims` does): the demo IdP registers the app
 * with `idTokenClaims: false`. Lockstep reads what the ID token lacks from userinfo at sign-in.
 */
let stack: Stack;
let redis: IORedis;

beforeAll(async () => {
  stack = await startTestStack({ apps: [{ ...bank, registration: { idTokenClaims: false } }] });
  redis = await testRedis();
});

afterAll(async () => {
  redis?.disconnect();
  await stack?.stop();
});

describe("claims from userinfo at sign-in (Core §5.4)", () => {
  it("shows the user's name and email that only the IdP's userinfo endpoint released", async () => {
    const app = stack.apps[0]!.url;
    const browser = new HttpSession();
    const landed = await signIn(browser, app, "alice", "alice-password");
    expect(new URL(landed.url).pathname).toBe("/account");

    const response = await sessionOf(browser, app);
    expect(response.status).toBe(200);
    const { user, session } = (await response.json()) as {
      user: { sub: string; name: string | null; email: string | null };
      session: { id: string };
    };
    expect(user).toMatchObject({ name: "Alice Example", email: "alice@example.com" });

    // The ID token Lockstep kept really lacks them: they came from userinfo.
    const raw = await redis.get(appKeys(stack.keyPrefix, bank.appId).session(session.id));
    const record = JSON.parse(raw!) as SessionRecord;
    const idToken = decodeJwt(record.idToken);
    expect(idToken.sub).toBe(user.sub);
    expect(idToken).not.toHaveProperty("name");
    expect(idToken).not.toHaveProperty("email");
    expect(record.claims).toEqual({ name: "Alice Example", email: "alice@example.com" });
  });
});
