/**
 * The Node runtime's REST sender (lib/store/node-requester.ts) against a real HTTP server on
 * loopback, which stands in for Upstash or the gateway so that each failure can be made on purpose.
 */
import type http from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { nodeRequester } from "@/lib/store/node-requester";
import { guardClient, handlerClient } from "@/lib/store/upstash-client";
import { restWire } from "@/lib/store/upstash";
import { closeServers, serve } from "../support/loopback";

afterEach(closeServers);

const policy = { retries: 2, backoff: () => 5, timeoutMs: 1_000 };
const json = (res: http.ServerResponse, status: number, value: unknown) =>
  res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));

describe("the Node runtime's REST requester", () => {
  it("posts the command as JSON with the bearer token, to the path asked for, without base64", async () => {
    const seen: { url?: string; auth?: string; encoding?: string; body: string }[] = [];
    const url = await serve((req, body, res) => {
      seen.push({ url: req.url, auth: req.headers.authorization, encoding: req.headers["upstash-encoding"] as string, body });
      json(res, 200, req.url === "/pipeline" ? [{ result: "PONG" }] : { result: "OK" });
    });
    const requester = nodeRequester({ url, token: "t0ken-of-the-test" }, policy);
    expect(await requester.request({ body: ["SET", "k", "v"] })).toEqual({ result: "OK" });
    expect(await requester.request({ path: ["pipeline"], body: [["PING"]] })).toEqual([{ result: "PONG" }]);
    expect(seen).toEqual([
      { url: "/", auth: "Bearer t0ken-of-the-test", encoding: undefined, body: '["SET","k","v"]' },
      { url: "/pipeline", auth: "Bearer t0ken-of-the-test", encoding: undefined, body: '[["PING"]]' },
    ]);
  });

  it("tries a dropped connection again, up to its retries, and then fails", async () => {
    let attempts = 0;
    const url = await serve((req, _body, res) => {
      attempts += 1;
      if (attempts < 3) req.socket.destroy();
      else json(res, 200, { result: "PONG" });
    });
    expect(await nodeRequester({ url, token: "t" }, policy).request({ body: ["PING"] })).toEqual({ result: "PONG" });
    expect(attempts).toBe(3);

    attempts = -10; // every attempt dropped
    await expect(nodeRequester({ url, token: "t" }, policy).request({ body: ["PING"] })).rejects.toThrow();
    expect(attempts).toBe(-10 + 1 + policy.retries);
  });

  it("does not try an answered error again, and its message has the status and Redis's reply but no argument", async () => {
    let attempts = 0;
    const url = await serve((_req, _body, res) => {
      attempts += 1;
      json(res, 400, { error: "ERR wrong number of arguments" });
    });
    const failure = nodeRequester({ url, token: "t" }, policy).request({ body: ["SET", "secret-session-id-123"] });
    await expect(failure).rejects.toThrow("The REST Redis endpoint answered 400: ERR wrong number of arguments");
    await expect(failure).rejects.not.toThrow(/secret-session-id-123/);
    expect(attempts).toBe(1);
  });

  it("gives up at its deadline when the endpoint does not answer, retries included", async () => {
    let attempts = 0;
    const url = await serve(() => {
      attempts += 1; // never answers
    });
    const started = performance.now();
    await expect(nodeRequester({ url, token: "t" }, { ...policy, timeoutMs: 200 }).request({ body: ["PING"] })).rejects.toThrow();
    const took = performance.now() - started;
    expect(took).toBeGreaterThanOrEqual(190);
    expect(took).toBeLessThan(2_000);
    expect(attempts).toBe(1);
  });

  it("fails clearly on an answer that is not JSON", async () => {
    const url = await serve((_req, _body, res) => res.writeHead(502).end("<html>bad gateway</html>"));
    await expect(nodeRequester({ url, token: "t" }, policy).request({ body: ["PING"] })).rejects.toThrow(
      "The REST Redis endpoint answered 502 with a body that is not JSON.",
    );
  });

  it("sends the guard's client's one attempt (GUARD_RUNTIME=nodejs over REST), bounded by GUARD_REDIS_TIMEOUT_MS", async () => {
    let attempts = 0;
    const url = await serve((req) => {
      attempts += 1;
      if (attempts === 1) req.socket.destroy(); // the second request, below, is never answered
    });
    const redis = restWire(
      guardClient({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: "t", GUARD_REDIS_TIMEOUT_MS: 150 }, nodeRequester),
    );
    await expect(redis.send(["get", "key"])).rejects.toThrow();
    expect(attempts).toBe(1);

    const started = performance.now();
    await expect(redis.send(["get", "key"])).rejects.toThrow();
    expect(performance.now() - started).toBeLessThan(1_500);
    expect(attempts).toBe(2);
  });

  it("gives back values as stored, not parsed, alone or pipelined", async () => {
    const url = await serve((_req, body, res) => {
      const sent = JSON.parse(body) as unknown[];
      const result = { result: '{"a":1}' };
      json(res, 200, Array.isArray(sent[0]) ? sent.map(() => result) : result);
    });
    const redis = restWire(handlerClient({ UPSTASH_REDIS_REST_URL: url, UPSTASH_REDIS_REST_TOKEN: "t" }, nodeRequester));
    expect(await redis.send(["get", "key"])).toBe('{"a":1}');
    // Two in the same tick go to /pipeline together.
    expect(await Promise.all([redis.send(["get", "a"]), redis.send(["get", "b"])])).toEqual(['{"a":1}', '{"a":1}']);
  });

  it("accepts only http: and https: URLs", () => {
    expect(() => nodeRequester({ url: "redis://127.0.0.1:6379", token: "t" }, policy)).toThrow("must be http: or https:");
  });
});
