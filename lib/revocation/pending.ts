import type { SessionHandle } from "@/lib/session/handle";
import type { EndTarget } from "./end-sessions";
import type { EndReason } from "@/lib/session/ending";

/** Who asked for an ending that could not be stored. */
export type PendingKind = "local_logout" | "backchannel_logout" | "frontchannel_logout" | "ssf_push";

/** What `apply` resolves with when the ending must not be tried again (e.g. a SET that no longer validates). */
export type Dropped = { dropped: string };

export type PendingEnding = {
  /** The same request queued twice is one entry: a logout token's (iss, jti), a session id, a SET's digest. */
  key: string;
  kind: PendingKind;
  /** The reason the ending will be stored with; what the gate answers meanwhile for a session it covers. */
  reason: EndReason;
  /** What it ends, where that is known without the store: the gate of this process refuses those sessions at once. */
  targets?: readonly EndTarget[];
  /**
   * Stores the ending. Idempotent (endSessions rewrites the same marks; a replay record makes a
   * repeated signal change nothing). Throws while the store cannot answer; resolves with Dropped for a
   * refusal that no retry can change.
   */
  apply: () => Promise<void | Dropped>;
  /** Roughly what the entry holds in memory (a raw SET), for the byte cap. */
  bytes?: number;
};

/**
 * One line per step: `pending_ending.queued`, `.retrying` (the first failed try), `.applied`,
 * `.dropped` (refused for good), `.expired` and `.full`; `code` is the kind. Never a token or an id.
 */
export type PendingLog = (entry: {
  event: `pending_ending.${"queued" | "retrying" | "applied" | "dropped" | "expired" | "full"}`;
  outcome: "ok" | "rejected" | "error";
  code: PendingKind;
  reason?: string;
  attempts?: number;
  age_ms?: number;
  queued?: number;
}) => void;

export type PendingOptions = {
  log: PendingLog;
  now?: () => number;
  /** An entry older than this is dropped (its sessions have expired by then): SESSION_TTL_SECONDS. */
  maxAgeMs: number;
  maxEntries?: number;
  maxBytes?: number;
  /** The first pause after a failed round, doubled after each failure up to `maxPauseMs`. */
  firstPauseMs?: number;
  maxPauseMs?: number;
};

type Entry = PendingEnding & { queuedAt: number; attempts: number };

/**
 * The endings this process accepted or was asked for while the session store could not store them
 * (a local sign-out, a validated logout token, a front-channel logout, a pushed SET), stored once the
 * store answers again: retried in order, with back-off (250 ms doubling to 2 s by default), each
 * outcome logged. Until then, `covers` lets this process's gate refuse the sessions they name.
 *
 * Held in memory only: a process that stops before the store returns loses what it held (the
 * sender's retry of a signal answered 503 is then the only copy). Bounded in entries and bytes; a full
 * queue refuses more, and says so in the log.
 */
export class PendingEndings {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private pause: number;
  private readonly now: () => number;
  private readonly maxEntries: number;
  private readonly maxBytes: number;
  private readonly firstPauseMs: number;
  private readonly maxPauseMs: number;

  constructor(private readonly options: PendingOptions) {
    this.now = options.now ?? Date.now;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
    this.firstPauseMs = options.firstPauseMs ?? 250;
    this.maxPauseMs = options.maxPauseMs ?? 2_000;
    this.pause = this.firstPauseMs;
  }

  /** Queues an ending to store once the store answers. False when the queue is full (nothing was queued). */
  add(ending: PendingEnding): boolean {
    if (this.entries.has(ending.key)) return true;
    const bytes = ending.bytes ?? 0;
    if (this.entries.size >= this.maxEntries || this.bytes + bytes > this.maxBytes) {
      this.options.log({ event: "pending_ending.full", outcome: "error", code: ending.kind, queued: this.entries.size });
      return false;
    }
    this.entries.set(ending.key, { ...ending, queuedAt: this.now(), attempts: 0 });
    this.bytes += bytes;
    this.options.log({ event: "pending_ending.queued", outcome: "error", code: ending.kind, queued: this.entries.size });
    this.schedule(this.firstPauseMs);
    return true;
  }

  /** The reason a queued ending will end this session with, if one names it (by its id, its IdP session or its user). */
  covers(handle: SessionHandle): EndReason | undefined {
    for (const entry of this.entries.values()) {
      for (const target of entry.targets ?? []) {
        if (names(target, handle)) return entry.reason;
      }
    }
    return undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Tries every queued ending once now, in order, stopping at the first the store still cannot take. */
  flush(): Promise<void> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(ms: number): void {
    if (this.timer || this.entries.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().then(() => this.schedule(this.pause));
    }, ms);
    this.timer.unref?.();
  }

  private async round(): Promise<void> {
    for (const entry of [...this.entries.values()]) {
      const age = this.now() - entry.queuedAt;
      if (age > this.options.maxAgeMs) {
        this.remove(entry);
        this.options.log({ event: "pending_ending.expired", outcome: "error", code: entry.kind, attempts: entry.attempts, age_ms: age });
        continue;
      }
      entry.attempts += 1;
      let result: void | Dropped;
      try {
        result = await entry.apply();
      } catch {
        // The store still cannot answer: the rest waits too, in order.
        if (entry.attempts === 1) {
          this.options.log({ event: "pending_ending.retrying", outcome: "error", code: entry.kind, queued: this.entries.size });
        }
        this.pause = Math.min(this.pause * 2, this.maxPauseMs);
        return;
      }
      this.remove(entry);
      this.options.log({
        event: result ? "pending_ending.dropped" : "pending_ending.applied",
        outcome: result ? "rejected" : "ok",
        code: entry.kind,
        reason: result?.dropped,
        attempts: entry.attempts,
        age_ms: this.now() - entry.queuedAt,
      });
    }
    this.pause = this.firstPauseMs;
  }

  private remove(entry: Entry): void {
    if (this.entries.get(entry.key) !== entry) return;
    this.entries.delete(entry.key);
    this.bytes -= entry.bytes ?? 0;
  }
}

/** Whether an ending's target names the session this handle opens (the same rules as the revocation marks). */
function names(target: EndTarget, handle: SessionHandle): boolean {
  if (target.kind === "session") return target.id === handle.lsid;
  if (target.kind === "idp-session") {
    return target.iss === handle.iss && target.sid === handle.sid && (target.sub === undefined || target.sub === handle.sub);
  }
  return target.iss === handle.iss && target.sub === handle.sub && handle.createdAt < target.beforeMs;
}
