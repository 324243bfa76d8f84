/**
 * Every failure of a store call becomes this: a stable code and the operation's name, never the
 * driver's message. Clients such as @upstash/redis put every argument of a failed command into
 * their error message (tokens, session ids, subjects), and such messages end up in logs.
 */
export class StoreError extends Error {
  readonly code = "store_unavailable";
  constructor(readonly operation: string) {
    super(`The session store could not complete "${operation}".`);
    this.name = "StoreError";
  }
}

/** Runs one store operation; any failure is rethrown as a StoreError that carries no argument. */
export async function storeCall<T>(operation: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch {
    throw new StoreError(operation);
  }
}
