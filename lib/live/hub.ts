import type { EndedEvent, RevocationList } from "@/lib/store/ports";
import { detached } from "@/lib/telemetry/state";

type Listener = (event: EndedEvent) => void;

/** Events are re-read this far back on every poll (and de-duplicated), so clock skew between writers cannot hide one. */
const LOOKBACK_MS = 5_000;
/** At most this many event ids are remembered for de-duplication, however many sessions end while no tab listens. */
const MAX_SEEN = 10_000;

/**
 * One per server instance: however many tabs are open, it makes one store call per interval (the
 * ended-sessions feed since a moment ago) and only while at least one tab listens. Every instance
 * behind the same store reads the same feed, so all of them deliver.
 */
export class EndedSessionsHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  /** Event id → when it happened; oldest first (a Map keeps insertion order). */
  private readonly seen = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private polling = false;

  constructor(
    private readonly feed: Pick<RevocationList, "endedSince">,
    private readonly intervalMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  subscribe(lsid: string, listener: Listener): () => void {
    let set = this.listeners.get(lsid);
    if (!set) this.listeners.set(lsid, (set = new Set()));
    set.add(listener);
    this.schedule();
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(lsid);
    };
  }

  /** Hands events to this instance's listeners once each, whether they came from here or from the feed. */
  deliver(events: readonly EndedEvent[]): void {
    for (const event of events) {
      if (this.seen.has(event.id)) continue;
      this.seen.set(event.id, event.at);
      for (const listener of this.listeners.get(event.lsid) ?? []) listener(event);
    }
    this.prune();
  }

  /** Forgets ids older than the poll could read again, and the oldest beyond MAX_SEEN. */
  private prune(): void {
    const horizon = this.now() - 2 * LOOKBACK_MS;
    for (const [id, at] of this.seen) {
      if (at >= horizon && this.seen.size <= MAX_SEEN) break;
      this.seen.delete(id);
    }
  }

  /** How many event ids are remembered (bounded by MAX_SEEN). */
  get remembered(): number {
    return this.seen.size;
  }

  private schedule(): void {
    if (this.timer || this.polling || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void detached(() => this.poll())();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  private async poll(): Promise<void> {
    this.polling = true;
    try {
      this.deliver(await this.feed.endedSince(this.now() - LOOKBACK_MS));
    } catch {
      // The store did not answer: the next poll tries again, and tabs re-check on focus.
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}
