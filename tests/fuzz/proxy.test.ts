/**
 * Fuzz tier: the remote-API proxy (proxyRemote) against seeded paths, headers and bodies.
 *
 * Two loopback servers record every request they get: the declared API's upstream (its base URL
 * has a path, `/base/`) and another server that no API names (the "undeclared host"), whose address
 * the cases try to reach: `//host:port`, `@host:port`, `http://host:port`, backslashes, encoded
 * slashes, dot segments in every encoding, NUL and CR/LF, double encoding, `;` parameters, unicode,
 * huge paths and bodies, forbidden and hop-by-hop headers, Connection naming them. For every case:
 * - the undeclared host gets nothing, and the upstream gets only paths under `/base/`;
 * - the upstream never gets the browser's cookie, its X-CSRF header, an Authorization but the
 *   session's token, or a header the proxy may never send;
 * - nothing the browser gets (status, headers, body) holds a token or the session's refresh token;
 * - the status is below 500, or a documented 502/504 with its JSON code.
 *
 *   npx vitest run --project fuzz tests/fuzz/proxy.test.ts                 1,000 cases (FUZZ_COUNT)
 *   FUZZ_SEED=<n>, FUZZ_CASE=<seed>, FUZZ_VERBOSE=1                          as for the other fuzz files
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyRemote } from "@/lib/api/proxy";
import { isForbiddenRequestHeader } from "@/lib/api/headers";
import { remoteApiErrors } from "@/lib/api/errors";
import { harness, type Harness } from "../unit/api-harness";
import { fuzzSettings, hex } from "./support/harness";
import { caseSeed, Rng } from "./support/prng";

type Got = { url: string; headers: http.IncomingHttpHeaders };
const upstreamSeen: Got[] = [];
const strangerSeen: Got[] = [];
const servers: http.Server[] = [];
let upstreamUrl: string;
let strangerHost: string;
let h: Harness;

async function listen(record: Got[]): Promise<string> {
  const server = http.createServer((req, res) => {
    record.push({ url: req.url ?? "", headers: req.headers });
    req.resume();
    req.on("end", () => {
      if (req.url?.includes("refuse")) res.writeHead(401, { "www-authenticate": 'Bearer error="invalid_token"' }).end();
      else res.writeHead(200, { "content-type": "text/plain", "set-cookie": "x=1" }).end(`path ${req.url}`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  upstreamUrl = `http://${await listen(upstreamSeen)}/base/`;
  strangerHost = await listen(strangerSeen);
  h = await harness({
    apis: { notes: { token: "user", forwardHeaders: ["x-request-id"] } },
    urls: { notes: upstreamUrl },
    limits: { maxRequestBytes: 64 * 1024, maxResponseBytes: 64 * 1024, timeoutMs: 2_000, totalTimeoutMs: 5_000 },
  });
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve).closeAllConnections())));
});

const SECRETS = () => ["at-session-alice", "rt-1", "id-token-of-alice", h.cookie];

/** Pieces a path is made of: the harmless and the hostile. */
function pathPiece(rng: Rng): string {
  const host = strangerHost;
  return rng.pick([
    () => rng.chars(rng.int(1, 12)),
    () => "items",
    () => "..",
    () => ".",
    () => "%2e%2e",
    () => "%2E%2e",
    () => ".%2e",
    () => "%2e",
    () => "%252e%252e",
    () => "..;",
    () => "..;x",
    () => ".;",
    () => "...",
    () => "%2f",
    () => "%2F",
    () => "%5c",
    () => "%5C",
    () => "\\",
    () => "%252f",
    () => `/${host}`,
    () => `//${host}`,
    () => `@${host}`,
    () => `http://${host}`,
    () => `http:%2f%2f${host}`,
    () => `https:${host}`,
    () => `\\\\${host}`,
    () => `%5c%5c${host}`,
    () => "%00",
    () => "%0d%0aHost:%20evil",
    () => "%0a",
    () => "%09",
    () => "%7f",
    () => "%c2%85",
    () => "%e9",
    () => "%zz",
    () => "%",
    () => "%C3%A9t%C3%A9",
    () => "é",
    () => "😀",
    () => "?",
    () => "#frag",
    () => ";a=b",
    () => "a%3Bb",
    () => "~user",
    () => "refuse",
    () => " ",
    () => "%20",
    () => rng.chars(rng.int(1, 3), "./%\\;:@?#"),
  ])();
}

const harmless = (rng: Rng) =>
  rng.pick([() => rng.chars(rng.int(1, 12)), () => "items", () => "7", () => "a%3Bb", () => "%C3%A9t%C3%A9"])();

function makePath(rng: Rng): string {
  if (rng.chance(0.02)) return "a".repeat(rng.int(3_000, 9_000));
  // Some cases are harmless paths with at most one hostile piece, so that calls go through too.
  const mostlyHarmless = rng.chance(0.4);
  const parts = Array.from({ length: rng.int(1, 6) }, (_, i) => (mostlyHarmless && i > 0 ? harmless(rng) : pathPiece(rng)));
  if (mostlyHarmless) return parts.join("/");
  const joiner = () => rng.pick(["/", "/", "/", "//", "", "\\", "%2f"]);
  return parts.reduce((path, part, i) => (i === 0 ? part : `${path}${joiner()}${part}`), "");
}

const HEADER_NAMES = [
  "accept",
  "content-type",
  "if-none-match",
  "range",
  "x-request-id",
  "cookie",
  "authorization",
  "host",
  "origin",
  "referer",
  "x-csrf",
  "dpop",
  "connection",
  "keep-alive",
  "te",
  "trailer",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "x-forwarded-for",
  "x-forwarded-host",
  "forwarded",
  "transfer-encoding",
  "expect",
  "sec-fetch-site",
  "x-custom",
];

function makeHeaders(rng: Rng): [string, string][] {
  const out: [string, string][] = [];
  for (let i = rng.int(0, 6); i > 0; i--) {
    const name = rng.pick(HEADER_NAMES);
    if (name === "sec-fetch-site") {
      out.push([name, rng.pick(["same-origin", "same-origin", "none", "cross-site", "same-site"])]);
      continue;
    }
    const value = rng.pick([
      () => rng.chars(rng.int(0, 20)),
      () => `text/plain\r\nX-Injected: 1`,
      () => rng.pick(HEADER_NAMES),
      () => `${rng.pick(HEADER_NAMES)}, ${rng.pick(HEADER_NAMES)}`,
      () => strangerHost,
      () => `http://${strangerHost}`,
      () => "same-origin",
      () => "Bearer forged-token",
      () => "é😀",
    ])();
    out.push([name, value]);
  }
  return out;
}

type Outcome = { status: number; code?: string; failure?: string; platformRefused?: boolean };

async function runCase(rng: Rng): Promise<Outcome & { label: string }> {
  const path = makePath(rng);
  const method = rng.pick(["GET", "GET", "GET", "HEAD", "DELETE", "PUT", "POST", "PATCH", "OPTIONS"]);
  const headers = makeHeaders(rng);
  const bodySize = ["GET", "HEAD"].includes(method) ? 0 : rng.pick([0, 10, 1_000, 60_000, 70_000, 200_000]);
  const label = `${method} ${JSON.stringify(path.length > 120 ? `${path.slice(0, 120)}…(${path.length})` : path)} ${JSON.stringify(headers)} body ${bodySize}`;
  let request: Request;
  // The platform refuses a header value with CR, LF or NUL (Fetch: a header value): such a header never reaches Lockstep.
  const init = new Headers();
  for (const [name, value] of headers) {
    try {
      init.append(name, value);
    } catch {
      continue;
    }
  }
  try {
    request = h.request(`/api/remote/notes/${path}`, { method, headers: init, body: bodySize ? "b".repeat(bodySize) : undefined });
  } catch {
    // The platform refuses the request (a header value with CR, LF or NUL; a URL it cannot parse): it never reaches Lockstep.
    return { status: 0, platformRefused: true, label };
  }
  const upstreamBefore = upstreamSeen.length;
  const res = await proxyRemote(h.deps, request);
  const text = await res.text().catch((e: unknown) => `stream error ${String(e)}`);
  const failures: string[] = [];
  if (strangerSeen.length > 0) failures.push(`the undeclared host got ${JSON.stringify(strangerSeen.map((s) => s.url))}`);
  for (const got of upstreamSeen.slice(upstreamBefore)) {
    if (!got.url.startsWith("/base/")) failures.push(`the upstream got a path outside the base: ${got.url}`);
    if (got.headers.host !== new URL(upstreamUrl).host) failures.push(`the upstream got Host ${got.headers.host}`);
    if (got.headers.cookie !== undefined) failures.push("the upstream got the cookie");
    if (got.headers["x-csrf"] !== undefined) failures.push("the upstream got X-CSRF");
    if (got.headers.authorization !== "Bearer at-session-alice")
      failures.push(`the upstream got Authorization ${got.headers.authorization}`);
    for (const name of Object.keys(got.headers)) {
      if (["host", "authorization", "connection", "content-length", "transfer-encoding"].includes(name)) continue;
      if (isForbiddenRequestHeader(name)) failures.push(`the upstream got ${name}`);
    }
  }
  const answer = `${res.status} ${JSON.stringify([...res.headers])} ${text}`;
  for (const secret of SECRETS()) if (answer.includes(secret)) failures.push("a token or the cookie is in the answer");
  if (res.headers.getSetCookie().length > 0) failures.push("the answer sets a cookie");
  let code: string | undefined;
  if (res.status >= 500) {
    try {
      code = (JSON.parse(text) as { error?: string }).error;
    } catch {
      code = undefined;
    }
    if (!(res.status === 502 || res.status === 504) || !code || !(code in remoteApiErrors))
      failures.push(`answered ${res.status} ${text.slice(0, 80)}`);
  } else if (res.status >= 400) {
    try {
      code = (JSON.parse(text) as { error?: string }).error;
    } catch {
      code = undefined;
    }
    // Lockstep's refusals carry a documented code; the only upstream refusal here is its 401 to a token it refuses.
    const upstreamRefusal = res.status === 401 && text === "";
    if (!upstreamRefusal && !(code && (code in remoteApiErrors || code === "unauthorized")))
      failures.push(`answered ${res.status} ${text.slice(0, 80)}`);
  }
  return { status: res.status, code, failure: failures.length ? failures.join("; ") : undefined, label };
}

describe("fuzz: the remote-API proxy", () => {
  it("sends nothing outside the API's base, leaks no token, answers no undocumented 5xx", async () => {
    const { count, seed, only } = fuzzSettings();
    const seeds = only !== undefined ? [only] : Array.from({ length: count }, (_, i) => caseSeed(seed, i));
    const statuses = new Map<string, number>();
    const failures: string[] = [];
    const started = performance.now();
    for (const s of seeds) {
      const outcome = await runCase(new Rng(s));
      const key = outcome.platformRefused ? "platform refused" : `${outcome.status}${outcome.code ? ` ${outcome.code}` : ""}`;
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
      if (process.env.FUZZ_VERBOSE) console.log(`${hex(s)} ${key} ${outcome.label}`);
      if (outcome.failure) failures.push(`seed ${hex(s)}: ${outcome.failure}\n    ${outcome.label}`);
    }
    console.log(
      `fuzz proxy: ${seeds.length} cases in ${((performance.now() - started) / 1000).toFixed(1)} s; ${[...statuses]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${k} ×${n}`)
        .join(", ")}; upstream got ${upstreamSeen.length}, the undeclared host ${strangerSeen.length}`,
    );
    expect(failures, failures.slice(0, 10).join("\n")).toEqual([]);
    // The run exercised both sides: calls that went through, and refusals.
    if (only === undefined && seeds.length >= 200) {
      expect(upstreamSeen.length).toBeGreaterThan(0);
      expect(statuses.get("400 invalid_path") ?? 0).toBeGreaterThan(0);
    }
  });
});
