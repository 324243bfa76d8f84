/** A session's open live-update streams on one process, at most: ten tabs of one browser is plenty. */
export const MAX_STREAMS_PER_SESSION = 10;
/** How long a tab refused for its session's cap waits before it asks again (one of its streams may have closed by then). */
export const SESSION_FULL_RETRY_SECONDS = 30;
/** How long a tab refused for the process's cap waits (other tabs close all the time). */
export const PROCESS_FULL_RETRY_SECONDS = 10;

export type Admission =
  | { admitted: true; release: () => void }
  /** 429 for one session's cap, 503 for the process's; `retryAfter` in seconds (RFC 9110 §10.2.3). */
  | { admitted: false; status: 429 | 503; retryAfter: number; code: "session_streams_full" | "process_streams_full" };

/**
 * Counts the open live-update streams of one process, in total and per session, and admits a new
 * one only under both caps. Each admission is released exactly once (a second call does nothing).
 */
export class StreamLimits {
  private total = 0;
  private readonly perSession = new Map<string, number>();

  constructor(private readonly maxStreams: () => number) {}

  /** Whether one more stream for this session may open now, without opening it. */
  peek(sessionId: string): Exclude<Admission, { admitted: true }> | undefined {
    if ((this.perSession.get(sessionId) ?? 0) >= MAX_STREAMS_PER_SESSION) {
      return { admitted: false, status: 429, retryAfter: SESSION_FULL_RETRY_SECONDS, code: "session_streams_full" };
    }
    if (this.total >= this.maxStreams()) {
      return { admitted: false, status: 503, retryAfter: PROCESS_FULL_RETRY_SECONDS, code: "process_streams_full" };
    }
    return undefined;
  }

  admit(sessionId: string): Admission {
    const refused = this.peek(sessionId);
    if (refused) return refused;
    this.total += 1;
    this.perSession.set(sessionId, (this.perSession.get(sessionId) ?? 0) + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        this.total -= 1;
        const left = (this.perSession.get(sessionId) ?? 1) - 1;
        if (left > 0) this.perSession.set(sessionId, left);
        else this.perSession.delete(sessionId);
      },
    };
  }

  /** Open streams on this process. */
  get open(): number {
    return this.total;
  }
}
