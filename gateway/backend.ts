/** One Redis command as the gateway passes it on: the name, then every argument as a string. */
export type Command = [name: string, ...args: string[]];

/** A RESP2 reply: bulk and status strings as bytes, integers, nil, arrays (nested). */
export type Reply = Buffer | number | null | Reply[];

/** The result of one command of a pipeline or transaction. */
export type Outcome = { ok: true; value: Reply } | { ok: false; error: string };

/** A Redis error reply. Its message is the reply text, passed to the caller verbatim. */
export class CommandError extends Error {
  override name = "CommandError";
}

/** The backend could not answer at all (connection lost, timeout): not the caller's fault. */
export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

/** Where the gateway's commands go: a real Redis, or the embedded demo store. */
export interface Backend {
  readonly kind: "redis" | "embedded";
  /** True while commands can be served. */
  healthy(): boolean;
  /** Runs one command; a Redis error reply rejects with a CommandError. */
  run(command: Command): Promise<Reply>;
  /** Runs the commands in order; each gets its own outcome. */
  pipeline(commands: Command[]): Promise<Outcome[]>;
  /**
   * Runs the commands as one MULTI/EXEC transaction. An error while queueing discards the whole
   * transaction (a CommandError); errors while executing are outcomes, as in EXEC's reply.
   */
  transaction(commands: Command[]): Promise<Outcome[]>;
  close(): Promise<void>;
}

/** The error of a discarded transaction, naming the first reason, in Redis's own EXECABORT form. */
export function transactionAborted(reason: string): CommandError {
  return new CommandError(`EXECABORT Transaction discarded because of: ${reason}`);
}
