/** How long a single-flight lock is held at most, and how long a caller waits for it. */
export const LOCK_MS = 10_000;
/** How long an IdP grant made under the lock may take: less than LOCK_MS, so the lock outlives it. */
export const GRANT_TIMEOUT_MS = 8_000;
const WAIT_STEP_MS = 50;

export type SingleFlight<T> = {
  /** Takes the store's lock for `ttlMs` under `owner`; false when another holds it. */
  lock: (owner: string, ttlMs: number) => Promise<boolean>;
  unlock: (owner: string) => Promise<void>;
  /** The work, done while holding the lock (it should first look whether another holder already did it). */
  underLock: () => Promise<T>;
  /** What another holder left, looked at between attempts; undefined to keep waiting. */
  whileWaiting: () => Promise<T | undefined>;
  /** Thrown when the lock could not be had within LOCK_MS. */
  timedOut: () => Error;
  now?: () => number;
};

/**
 * One caller across every instance does `underLock` (a token grant, whose refresh token may rotate:
 * a second grant with the old one would fail, or make the IdP revoke the whole grant); the others
 * wait, in steps of 50 ms, for what it left. The lock is released whatever happens.
 */
export async function singleFlight<T>(flight: SingleFlight<T>): Promise<T> {
  const now = flight.now ?? Date.now;
  const owner = crypto.randomUUID();
  const deadline = now() + LOCK_MS;
  while (now() < deadline) {
    if (await flight.lock(owner, LOCK_MS)) {
      try {
        return await flight.underLock();
      } finally {
        await flight.unlock(owner);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    const waited = await flight.whileWaiting();
    if (waited !== undefined) return waited;
  }
  throw flight.timedOut();
}
