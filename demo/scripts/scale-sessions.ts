import { randomBytes } from "node:crypto";
import { Redis as IORedis } from "ioredis";
import { nativeStores } from "../../lib/store/native";
import { appKeys } from "../../lib/store/keys";
import type { Stores } from "../../lib/store/ports";
import type { SessionRecord } from "../../lib/session/record";
import { sealHandle, type SessionHandle } from "../../lib/session/handle";

/**
 * `npm run bench:scale`'s sessions: written through the app's store (`create`, as a sign-in writes
 * them) with their cookies sealed as auth.ts seals them. Light on purpose (no stack, no IdP): the
 * session writer processes (scale-writer.ts) load it.
 */

/** The app's stores, from this process: what another instance of the app would write. */
export function storesFor(redisUrl: string, keyPrefix: string, appId: string, ttlSeconds: number): { stores: Stores; client: IORedis } {
  // The app's own client options (no auto-pipelining); a longer command timeout, for the bulk writes.
  const client = new IORedis(redisUrl, { maxRetriesPerRequest: 1, commandTimeout: 30_000 });
  return { stores: nativeStores(client, appKeys(keyPrefix, appId), ttlSeconds, 60_000), client };
}

/** A session of the benchmark: its id and the handle its cookie carries. */
export type ScaleSession = { id: string; handle: SessionHandle };

/** Token sizes of a written session (characters, base64url like a JWT), from SCALE_* settings. */
export type TokenSizes = { accessToken: number; refreshToken: number };

const filler = (length: number) =>
  randomBytes(Math.ceil((length * 3) / 4))
    .toString("base64url")
    .slice(0, length);

/**
 * A session record for user `i` of a run: the template's ID token and device (a real sign-in's), the
 * access and refresh tokens at the given sizes, and a user, IdP session and email of its own.
 */
export function recordMaker(template: SessionRecord, sizes: TokenSizes, run: string, ttlSeconds: number): (i: number) => SessionRecord {
  const accessToken = filler(sizes.accessToken);
  const refreshToken = filler(sizes.refreshToken);
  return (i) => {
    const now = Date.now();
    return {
      ...template,
      sub: `scale-${run}-user-${i}`,
      sid: `scale-${run}-sid-${i}`,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
      accessTokenExpiresAt: now + 3_600_000,
      claims: { name: `Scale User ${i}`, email: `scale-${run}-${i}@example.com` },
      // Each a different string, of the same size, as each user's own tokens would be.
      accessToken: `${i}.${accessToken}`.slice(0, sizes.accessToken),
      refreshToken: `${i}.${refreshToken}`.slice(0, sizes.refreshToken),
    };
  };
}

/**
 * Writes `count` sessions through the store's `create` (one MULTI each, as a sign-in writes them),
 * `concurrency` at a time, until all are written or `seconds` pass. `keep(i)` picks the sessions whose
 * ids and handles are returned. Answers how many were written and how long it took.
 */
export async function writeSessions(
  stores: Stores,
  make: (i: number) => SessionRecord,
  options: {
    from?: number;
    count: number;
    concurrency: number;
    seconds: number;
    keep: (i: number) => boolean;
    progress?: (n: number) => void;
  },
): Promise<{ written: number; seconds: number; kept: Map<number, ScaleSession> }> {
  const from = options.from ?? 0;
  const kept = new Map<number, ScaleSession>();
  const start = performance.now();
  const deadline = start + options.seconds * 1000;
  let next = from;
  let written = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async () => {
      while (next < from + options.count && performance.now() < deadline) {
        const i = next++;
        const record = make(i);
        const id = await stores.sessions.create(record);
        written += 1;
        if (options.progress && written % 50_000 === 0) options.progress(written);
        if (options.keep(i)) {
          kept.set(i, { id, handle: { lsid: id, iss: record.iss, sub: record.sub, sid: record.sid, createdAt: record.createdAt } });
        }
      }
    }),
  );
  return { written, seconds: (performance.now() - start) / 1000, kept };
}

/** The session cookie a sign-in would have set for this handle: `<name>=<sealed handle>`, as auth.ts seals it. */
export async function cookieFor(handle: SessionHandle, secret: string, cookieName: string, ttlSeconds: number): Promise<string> {
  return `${cookieName}=${await sealHandle(handle, secret, cookieName, ttlSeconds)}`;
}
