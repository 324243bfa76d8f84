import type { Redis } from "@upstash/redis";
import type { Keys } from "@/lib/store/keys";
import type { EndedEvent } from "./feed";

type Listener = (event: EndedEvent) => void;

/** Events are re-read this far back on every poll (and de-duplicated), so clock skew between writers cannot hide one. */
const LOOKBACK_MS = 5_000;

/**
 * One per server instance: however many tabs are open, it makes one Redis call per interval (a
 * ZRANGEBYSCORE on the ended-sessions feed) and only while at least one tab listens. Every
 * instance behind the same Redis reads the same feed, so all of them deliver.
 */
export class EndedSessionsHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly seen = new Map<string, number>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private polling = false;
  /** Redis calls made so far (for the benchmark and the tests). */
  calls = 0;

  constructor(
    private readonly redis: Redis,
    private readonly k: Keys,
    private readonly intervalMs: number,
  ) {}

  get listenerCount(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

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

  /** Hands an event to this instance's listeners once, whether it came from here or from the feed. */
  deliver(event: EndedEvent): void {
    if (this.seen.has(event.id)) return;
    this.seen.set(event.id, event.at);
    for (const listener of this.listeners.get(event.lsid) ?? []) listener(event);
  }

  private schedule(): void {
    if (this.timer || this.polling || this.listeners.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.poll();
    }, this.intervalMs);
    this.timer.unref?.();
  }

  private async poll(): Promise<void> {
    this.polling = true;
    const now = Date.now();
    try {
      this.calls += 1;
      const members = await this.redis.zrange<string[]>(this.k.endedFeed(), now - LOOKBACK_MS, "+inf", { byScore: true });
      for (const member of members) this.deliver(JSON.parse(member) as EndedEvent);
      for (const [id, at] of this.seen) if (at < now - 2 * LOOKBACK_MS) this.seen.delete(id);
    } catch {
      // Redis did not answer: the next poll tries again, and tabs re-check on focus.
    } finally {
      this.polling = false;
      this.schedule();
    }
  }
}
