/** setTimeout fires at once for delays above 2^31 - 1 ms (about 24.8 days); longer waits are re-armed in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Calls `run` at `atMs` (ms since the epoch), however far away that is. Returns the cancel. */
export function atTime(atMs: number, run: () => void): () => void {
  let timer: ReturnType<typeof setTimeout>;
  const arm = () => {
    const wait = atMs - Date.now();
    timer = wait > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(run, Math.max(0, wait));
  };
  arm();
  return () => clearTimeout(timer);
}
