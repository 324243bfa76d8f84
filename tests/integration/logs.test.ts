import { spawn, type ChildProcess } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis as IORedis } from "ioredis";
import { HttpSession } from "../support/http-client";
import { sessionOf, signIn, startTestStack } from "../support/lockstep";
import { freePort, type Stack } from "../../demo/scripts/stack";
import { appKeys } from "@/lib/store/keys";

/**
 * No token in any log, whatever fails: a Redis of this test's own refuses writes (OOM, as when it is
 * full; READONLY after a failover fails the same way), and everything the apps, the IdP and the
 * gateway print is searched for the tokens. @upstash/redis puts every argument of a failed command
 * into its error message, so an unguarded store error at sign-in would print all three tokens.
 */
let redisServer: ChildProcess;
let redis: IORedis;
let stack: Stack;
const lines: string[] = [];

beforeAll(async () => {
  const port = await freePort();
  redisServer = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  redis = new IORedis(`redis://127.0.0.1:${port}`, { retryStrategy: (n) => (n > 50 ? null : 100) });
  redis.on("error", () => {}); // refused while redis-server starts
  // Bounded: the server starts within a few seconds or the test fails here.
  for (let i = 0; redis.status !== "ready"; i += 1) {
    if (i > 50) throw new Error("redis-server did not start");
    await new Promise((r) => setTimeout(r, 100));
  }
  stack = await startTestStack({ redisUrl: `redis://127.0.0.1:${port}`, log: (source, line) => lines.push(`[${source}] ${line}`) });
});

afterAll(async () => {
  await stack?.stop();
  redis?.disconnect();
  redisServer?.kill("SIGTERM");
});

describe("no token in any log", () => {
  it("a sign-in whose session cannot be written says sign-in is unavailable, and logs no token", async () => {
    const app = stack.apps[0]!.url;
    // A session that works, whose tokens are known, then Redis refuses every write.
    const browser = new HttpSession();
    await signIn(browser, app, "alice", "alice-password");
    const { session } = (await (await sessionOf(browser, app)).json()) as { session: { id: string } };
    const stored = JSON.parse((await redis.get(appKeys(stack.keyPrefix, stack.apps[0]!.appId).session(session.id))) ?? "{}") as Record<
      string,
      string
    >;
    const known = [stored.idToken, stored.accessToken, stored.refreshToken].filter(Boolean);
    expect(known).toHaveLength(3);

    await redis.config("SET", "maxmemory", "1");
    await redis.config("SET", "maxmemory-policy", "noeviction");
    try {
      const other = new HttpSession();
      const landed = await signIn(other, app, "bob", "bob-password");
      expect(landed.url).toContain("/signed-out");
      const page = await landed.text();
      // The same page as a sign-in while the store is down, not Auth.js's generic failure.
      expect(page).toContain('data-reason="sign_in_unavailable"');
      expect(page).toContain("temporarily unavailable");
      expect(page).not.toContain("disabled");
      // A route that writes (here, "sign out this device") answers 503, not 500, when the write is refused.
      const second = new HttpSession();
      const mine = (await (await sessionOf(browser, app)).json()) as { session: { id: string } };
      await redis.config("SET", "maxmemory", "0");
      await signIn(second, app, "alice", "alice-password");
      const secondId = ((await (await sessionOf(second, app)).json()) as { session: { id: string } }).session.id;
      await redis.config("SET", "maxmemory", "1");
      const ended = await browser.fetch(`${app}/api/sessions/end`, {
        method: "POST",
        headers: { origin: app },
        body: new URLSearchParams({ id: secondId }),
      });
      expect(mine.session.id).not.toBe(secondId);
      expect(ended.status).toBe(503);
      expect(ended.headers.get("retry-after")).toBeTruthy();
      // And the known session's refresh path fails to write too.
      await browser.fetch(`${app}/api/logout`, { method: "POST", headers: { origin: app } });
    } finally {
      await redis.config("SET", "maxmemory", "0");
    }
    await new Promise((r) => setTimeout(r, 500));

    const output = lines.join("\n");
    expect(output).toMatch(/store_unavailable|could not complete/);
    // Any JWT (an ID token of the failed sign-in) would start with a base64url JSON header.
    expect(output).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
    for (const token of known) expect(output).not.toContain(token);
  });
});
