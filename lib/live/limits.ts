/** A session's open live-update streams on one process, at most: ten tabs of one browser is plenty. */
export const MAX_STREAMS_PER_SESSION = 10;
/** How long a tab refused for its session's cap waits before it asks again (one of its streams may have closed by then). */
export const SESSION_FULL_RETRY_SECONDS = 30;
/** How long a tab refused for the process's cap waits (other tabs close all the time). */
export const PROCESS_FULL_RETRY_SECONDS = 10;
/** How long a tab refused by a stopping process waits: its next request reaches another instance. */
export const DRAINING_RETRY_SECONDS = 1;

export type Admission =
  | { admitted: true; release: () => void }
  /** 429 for one session's cap, 503 for the process's; `retryAfter` in seconds (RFC 9110 §10.2.3). */
  | { admitted: false; status: 429 | 503; retryAfter: number; code: "session_streams_full" | "process_streams_full" | "process_draining" };

/**
 * Counts the open live-update streams of one process, in total and per session, and admits a new
 * one only under both caps and while the process is not stopping. Each admission is released exactly
 * once (a second call does nothing).
 */
export class StreamLimits {
  private total = 0;
  private readonly perSession = new Map<string, number>();
  /** Each open stream's way to end itself when the process stops. */
  private readonly drainers = new Set<() => void>();
  private draining = false;

  constructor(private readonly maxStreams: () => number) {}

  /** Whether one more stream for this session may open now, without opening it. */
  peek(sessionId: string): Exclude<Admission, { admitted: true }> | undefined {
    if (this.draining) {
      return { admitted: false, status: 503, retryAfter: DRAINING_RETRY_SECONDS, code: "process_draining" };
    }
    if ((this.perSession.get(sessionId) ?? 0) >= MAX_STREAMS_PER_SESSION) {
      return { admitted: false, status: 429, retryAfter: SESSION_FULL_RETRY_SECONDS, code: "session_streams_full" };
    }
    if (this.total >= this.maxStreams()) {
      return { admitted: false, status: 503, retryAfter: PROCESS_FULL_RETRY_SECONDS, code: "process_streams_full" };
    }
    return undefined;
  }

  /** Admits a stream under the caps; `onDrain` ends it when the process stops (drain), until it is released. */
  admit(sessionId: string, onDrain: () => void = () => {}): Admission {
    const refused = this.peek(sessionId);
    if (refused) return refused;
    this.total += 1;
    this.perSession.set(sessionId, (this.perSession.get(sessionId) ?? 0) + 1);
    const drainer = () => onDrain();
    this.drainers.add(drainer);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.drainers.delete(drainer);
        this.total -= 1;
        const left = (this.perSession.get(sessionId) ?? 1) - 1;
        if (left > 0) this.perSession.set(sessionId, left);
        else this.perSession.delete(sessionId);
      },
    };
  }

  /**
   * The process is stopping: admits no more streams (503, Retry-After DRAINING_RETRY_SECONDS) and asks
   * each open one to end (its `onDrain`). Returns how many were open. A second call does nothing more.
   */
  drain(): number {
    this.draining = true;
    const open = [...this.drainers];
    this.drainers.clear();
    for (const end of open) end();
    return open.length;
  }

  /** Open streams on this process. */
  get open(): number {
    return this.total;
  }
}
