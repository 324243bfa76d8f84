/**
 * The template as a project made from it runs it: the Node variant (the GUARD_RUNTIME=nodejs build,
 * guard and route handlers on a native connection to plain Redis, REDIS_URL), with no gateway, no
 * REST settings and no demo IdP. `next start` is spawned with a clean environment holding only the
 * settings below; the IdP's issuer is a port nobody listens on, which only warns at start
 * (instrumentation.ts, lib/startup/check.ts). A session is planted in Redis through the template's
 * own store (lib/store/native.ts), as a sign-in would leave it, so that the guard's whole path runs
 * without an IdP. This tier needs only what a project made with `npm run make-it-yours` keeps.
 */
import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { endSessions } from "@/lib/revocation/end-sessions";
import { cookieNames } from "@/lib/session/cookies";
import { sealHandle } from "@/lib/session/handle";
import { appKeys } from "@/lib/store/keys";
import { createNativeClient } from "@/lib/store/native-client";
import { nativeStores } from "@/lib/store/native";
import type { Stores } from "@/lib/store/ports";
import { startClean, type CleanRun } from "../support/next-app";
import { freePort, stopChild, waitForHealth } from "../support/processes";
import { testRedisUrl } from "../support/require-redis";
import { signInTo } from "../support/sessions";
import { deleteByPrefix } from "../support/test-redis";

const APP_ID = "template";
const PREFIX = `lockstep-test:template:${randomBytes(6).toString("hex")}:`;
const AUTH_SECRET = randomBytes(32).toString("base64url");
const redisPassword = "template-test-password-0123";

/** `next start` of the Node build with exactly these settings (and PATH, HOME), on a free loopback port. */
const startApp = (settings: Record<string, string>): Promise<CleanRun> =>
  startClean("nodejs", (port) => ({ AUTH_URL: `http://localhost:${port}`, ...settings }), "template");

/** Settings a project sets (README, "Make it yours"), with an IdP nobody answers for and the test Redis. */
async function projectSettings(): Promise<Record<string, string>> {
  return {
    AUTH_SECRET,
    OIDC_ISSUER: `http://127.0.0.1:${await freePort()}/`,
    OIDC_CLIENT_ID: "template-test",
    OIDC_CLIENT_SECRET: "template-test-secret-0123",
    REDIS_URL: testRedisUrl,
    LOCKSTEP_KEY_PREFIX: PREFIX,
    APP_ID,
    APP_NAME: "My App",
    // The IdP is not there: no re-check at it, so that only the store decides.
    LIVENESS: "off",
  };
}

const ours = (run: CleanRun) => run.output.filter((l) => l.startsWith("Lockstep "));

let app: CleanRun;
let settings: Record<string, string>;
let redis: Redis;
let stores: Stores;

beforeAll(async () => {
  settings = await projectSettings();
  const nonce = randomBytes(8).toString("hex");
  app = await startApp({ ...settings, HEALTH_NONCE: nonce });
  await waitForHealth(`${app.url}/api/health`, app.child, 60_000, nonce);
  redis = createNativeClient(testRedisUrl);
  stores = nativeStores(redis, appKeys(PREFIX, APP_ID), 3600);
});

afterAll(async () => {
  if (app) await stopChild(app.child);
  await redis?.quit();
  await deleteByPrefix(testRedisUrl, PREFIX);
});

describe("the Node variant starts on plain Redis", () => {
  it("an IdP whose discovery cannot be read only warns: the app serves, with one line naming OIDC_ISSUER", async () => {
    await expect.poll(() => ours(app), { timeout: 15_000 }).toContainEqual(expect.stringMatching(/^Lockstep warning: OIDC_ISSUER: /));
    expect(ours(app).some((l) => l.startsWith("Lockstep cannot start"))).toBe(false);
    expect(app.child.exitCode).toBeNull();
  });

  it("answers /api/health with 200, uncached", async () => {
    const response = await fetch(`${app.url}/api/health`);
    expect(response.status).toBe(200);
    expect(response.headers.get("cache-control")).toBe("no-store");
    expect(await response.json()).toEqual({ ok: true });
  });

  it("a REDIS_URL nobody answers stops the start: exit code 1, one line naming REDIS_URL, never its password", async () => {
    const dead = await freePort();
    const run = await startApp({ ...settings, REDIS_URL: `redis://:${redisPassword}@127.0.0.1:${dead}` });
    const timeout = new Promise<"running">((resolve) => setTimeout(() => resolve("running"), 30_000));
    const code = await Promise.race([run.exited, timeout]);
    if (code === "running") await stopChild(run.child);
    expect(code).toBe(1);
    expect(ours(run)).toContainEqual(expect.stringMatching(/^Lockstep cannot start: REDIS_URL: /));
    expect(run.output.join("\n")).not.toContain(redisPassword);
  });
});

describe("without a session", () => {
  it("a protected page is sent to sign in (303 to the home page)", async () => {
    const response = await fetch(`${app.url}/account`, { redirect: "manual" });
    expect(response.status).toBe(303);
    expect(new URL(response.headers.get("location")!, app.url).href).toBe(`${app.url}/`);
  });

  it("a protected API answers 401 JSON", async () => {
    for (const api of ["/api/session", "/api/sessions"]) {
      const response = await fetch(`${app.url}${api}`);
      expect(response.status, api).toBe(401);
      expect(await response.json(), api).toEqual({ error: "unauthorized", reason: "no_session" });
    }
  });

  it("a forged cookie is refused and cleared", async () => {
    const response = await fetch(`${app.url}/api/session`, {
      headers: { cookie: `${APP_ID}.session=eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..x.y.z` },
    });
    expect(response.status).toBe(401);
    expect(response.headers.getSetCookie().some((c) => c.startsWith(`${APP_ID}.session=;`))).toBe(true);
  });

  it("the home page offers sign-in and the signed-out page shows, claiming nothing in particular", async () => {
    const home = await fetch(`${app.url}/`);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("My App");
    const signedOut = await fetch(`${app.url}/signed-out`);
    expect(signedOut.status).toBe(200);
    expect(await signedOut.text()).toContain('data-reason="none"');
  });
});

describe("a session in the store", () => {
  it("is served while the store holds it, and refused on the very next request once it is ended there; the signed-out page says why", async () => {
    const cookie = cookieNames(APP_ID, app.url).session;
    const session = await signInTo(stores, settings.OIDC_ISSUER!, Date.now(), { sid: `sid-${randomBytes(6).toString("hex")}` });
    const sealed = await sealHandle(session.handle, AUTH_SECRET, cookie, 3600);
    const headers = { cookie: `${cookie}=${sealed}` };

    const served = await fetch(`${app.url}/api/session`, { headers });
    expect(served.status).toBe(200);
    expect(await served.text()).not.toContain(sealed);

    const outcome = await endSessions(
      { sessions: stores.sessions, revocations: stores.revocations, now: () => Date.now() },
      [{ kind: "session", id: session.id }],
      "logout",
    );
    expect(outcome.result).toBe("ended");

    const refused = await fetch(`${app.url}/api/session`, { headers });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { reason: string }).reason).not.toBe("no_session");

    const page = await fetch(`${app.url}/account`, { headers, redirect: "manual" });
    expect(page.status).toBe(303);
    expect(new URL(page.headers.get("location")!, app.url).href).toBe(`${app.url}/signed-out`);
    const note = page.headers
      .getSetCookie()
      .map((c) => c.split(";")[0]!)
      .find((c) => c.startsWith(`${APP_ID}.ended=`));
    expect(note).toBeDefined();
    const shown = await (await fetch(`${app.url}/signed-out`, { headers: { cookie: note! } })).text();
    expect(shown).toMatch(/data-reason="(?!none")[a-z_]+"/);
  });
});

// Last in this file: it stops the app.
describe("a SIGTERM (a process manager's stop, a rolling deploy)", () => {
  it("sends each open tab's stream `renew` and drops it, so that the process exits at once, not at the stream's end of life", async () => {
    const cookie = cookieNames(APP_ID, app.url).session;
    const session = await signInTo(stores, settings.OIDC_ISSUER!, Date.now(), { sid: `sid-${randomBytes(6).toString("hex")}` });
    const sealed = await sealHandle(session.handle, AUTH_SECRET, cookie, 3600);
    const response = await fetch(`${app.url}/api/session/events`, {
      headers: { cookie: `${cookie}=${sealed}`, accept: "text/event-stream" },
    });
    expect(response.status).toBe(200);
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let received = "";
    const readUntil = async (done: (text: string) => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!done(received) && Date.now() < deadline) {
        // A stopping server drops the connection once `renew` is written: the read then fails.
        const read = reader.read().catch(() => ({ done: true as const, value: undefined }));
        const next = await Promise.race([read, new Promise<"late">((r) => setTimeout(() => r("late"), deadline - Date.now()))]);
        if (next === "late" || next.done) return next === "late" ? "open" : "closed";
        received += next.value;
      }
      return done(received) ? "seen" : "open";
    };
    expect(await readUntil((t) => t.includes("event: ready"), 10_000)).toBe("seen");

    const signalled = Date.now();
    app.child.kill("SIGTERM");
    // The stream's life is LIVE_STREAM_MAX_SECONDS (15 minutes here): without the drain it stays open.
    expect(await readUntil(() => false, 10_000)).toBe("closed");
    expect(received).toContain("event: renew");
    const code = await Promise.race([app.exited, new Promise<"running">((r) => setTimeout(() => r("running"), 10_000))]);
    expect(code).not.toBe("running");
    console.log(`template: SIGTERM with one open stream: exited ${Date.now() - signalled} ms after the signal`);
    const drained = app.output.map((l) => l.match(/^\{.*"event":"server\.drain".*\}$/)?.[0]).find(Boolean);
    expect(JSON.parse(drained!)).toMatchObject({ outcome: "ok", streams: 1, pending: 0 });
  });
});
