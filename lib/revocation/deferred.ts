/**
 * Work a signal's sender need not wait for (deleting the ended sessions' tokens, revoking their
 * refresh tokens at the IdP): handed to a Defer, which runs it after the answer is sent (Next's
 * `after()`, lib/http/after-answer.ts) and logs how it went: what a task resolves with is logged
 * with it, as an error when it counts `failed` above 0 or when the task throws. Edge-safe.
 */
export type Defer = (event: string, task: () => Promise<Record<string, string | number | boolean | undefined> | void>) => void;

/** How often deferred clean-up is tried, and the first pause between tries (then 4× longer each time). */
export const CLEANUP_ATTEMPTS = 3;
export const CLEANUP_FIRST_PAUSE_MS = 100;

/** Runs `task` until it succeeds, at most `attempts` times with growing pauses; rethrows the last failure. */
export async function retried<T>(task: () => Promise<T>, attempts = CLEANUP_ATTEMPTS, firstPauseMs = CLEANUP_FIRST_PAUSE_MS): Promise<T> {
  let pause = firstPauseMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await task();
    } catch (error) {
      if (attempt >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, pause));
      pause *= 4;
    }
  }
}
