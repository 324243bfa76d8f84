import { noteDelivery, type Delivery } from "./delivery";

/**
 * A session of this browser ended. `pushed`: the server's own event stream said so (the tab holding
 * the stream relays it), so it needs no confirming; otherwise a tab signed out, and the others confirm.
 */
type Ended = { type: "ended"; sessionId: string; reason: string; sentAt: number; pushed?: true };
/** From the front-channel logout page: some session of this browser ended; each tab checks its own. */
type Check = { type: "check" };
/** From the tab holding the event stream: how live it is (sent on each change, on the stream's `ready` and each `ping`, and when asked). */
type Stream = { type: "stream"; status: LiveStatus };
/** From a tab that does not hold the stream: what is its status? */
type Hello = { type: "hello" };
type Message = Ended | Check | Stream | Hello;

export type LiveStatus = "connecting" | "live" | "reconnecting" | "offline";

/** How often a tab that lost its server asks whether it is back. */
const PROBE_EVERY_MS = 2_000;
/** How long a probe waits for an answer. */
const PROBE_TIMEOUT_MS = 2_500;
/** How long a refused stream waits when its answer named no Retry-After. */
const RETRY_AFTER_DEFAULT_MS = 10_000;
/** The server pings every 5 s; this long without a word and the tab looks again. */
const SILENCE_MS = 12_000;
/** After another tab's sign-out, how long this tab waits for the server to confirm it (the sign-out request may still be on its way). */
const CONFIRM_FOR_MS = 5_000;
/**
 * While it waits, it asks again this soon after an "active", each wait half as long again as the last, up
 * to CONFIRM_MAX_GAP_MS: the sign-out request usually lands within tens of milliseconds, so the first
 * answers come quickly, and news the server never confirms costs a dozen or so requests.
 */
const CONFIRM_FIRST_GAP_MS = 20;
const CONFIRM_MAX_GAP_MS = 500;
/** How long the script's sign-out request may take before the browser posts the form instead. */
const SIGN_OUT_TIMEOUT_MS = 10_000;

/**
 * Sends a sign-out form as the browser would, asking for JSON (POST /api/logout answers
 * `{"next": url}` with the same cookies as its redirect). Resolves where to go next once the server has
 * ended the session; rejects if it did not answer so, and the caller posts the form instead (signing
 * out twice is harmless). An answer that is not JSON (an ID-token-hint page, which the page never asks
 * for) leaves the IdP step to the signed-out page.
 */
async function signOutByScript(form: HTMLFormElement): Promise<string> {
  const response = await fetch(form.action, {
    method: "POST",
    body: new FormData(form),
    headers: { Accept: "application/json" },
    redirect: "error", // a redirect here means the JSON answer was not given: post the form instead
    signal: AbortSignal.timeout(SIGN_OUT_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`sign-out answered ${response.status}`);
  if (!response.headers.get("content-type")?.includes("application/json")) return "/signed-out";
  const body: unknown = await response.json();
  const next = typeof body === "object" && body !== null && "next" in body ? body.next : undefined;
  if (typeof next !== "string") throw new Error("sign-out answered without a next step");
  return next;
}

/** Asks the server about this session: "ended", "active", or "unreachable". */
async function ask(): Promise<"ended" | "active" | "unreachable"> {
  try {
    const response = await fetch("/api/session", {
      cache: "no-store",
      headers: { "X-CSRF": "1" },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (response.status === 401) return "ended";
    return response.ok ? "active" : "unreachable";
  } catch {
    return "unreachable";
  }
}

export type TabWatcherOptions = {
  appId: string;
  sessionId: string;
  /** Told of every change of how live the tab is. */
  onStatus: (status: LiveStatus) => void;
  /** The ending is confirmed: show it in place (LiveSession), with how the news came. */
  onEnded: (delivery: Delivery) => void;
};

/**
 * Keeps one tab in step with its session, in the browser. The news of an ending comes by the
 * server's event stream (other browsers and devices), by this browser's BroadcastChannel (its other
 * tabs: then confirmed with the server, so that nothing is shown before it is true), or by a re-check
 * on focus, on becoming visible, on coming back online, or when the server comes back. A stream the
 * server refused is asked about (`HEAD`) and tried again after its Retry-After; one that reaches its
 * longest life (`renew`) is replaced at once. Signing out in this tab tells the others once the
 * server has answered. `start` once, `stop` when the tab's page goes away.
 *
 * The tabs of one browser share one event stream: the tab holding a Web Lock opens it and relays
 * over the BroadcastChannel what it hears (how live it is, and an ending pushed by the server), so
 * that a browser with five tabs costs the server one stream. When that tab goes away, its lock passes
 * to another, which opens the stream; a tab that hears nothing from the holder for SILENCE_MS while
 * the server answers takes the lock over (a frozen tab keeps its lock). Without Web Locks, each tab
 * opens its own.
 */
export class TabWatcher {
  private done = false;
  private events: EventSource | undefined;
  /** Whether this tab holds the browser's event stream; undefined without Web Locks (each tab has its own). */
  private leading: boolean | undefined;
  /** Releases the lock this tab holds. */
  private releaseLock: (() => void) | undefined;
  /** Takes this tab out of the lock's queue. */
  private queued: AbortController | undefined;
  private lastWord = Date.now();
  private probing: ReturnType<typeof setTimeout> | undefined;
  /** A refused stream's next try, after its Retry-After. */
  private retrying: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private current: LiveStatus = "connecting";
  /** When another tab of this browser told this one of the ending (its clock), if it did: it was first, whatever confirms it. */
  private toldByTabAt: number | undefined;
  private signingOut = false;
  private channel: BroadcastChannel | undefined;
  private readonly listeners: [EventTarget, string, EventListener][] = [];

  constructor(private readonly options: TabWatcherOptions) {}

  start(): void {
    this.channel = typeof BroadcastChannel === "undefined" ? undefined : new BroadcastChannel(`lockstep:${this.options.appId}`);
    this.channel?.addEventListener("message", (event) => this.heard(event as MessageEvent<Message>));
    this.watchdog = setInterval(() => {
      if (this.current === "live" && Date.now() - this.lastWord > SILENCE_MS) this.lost();
    }, 2_000);
    this.listen(window, "focus", () => void this.check());
    this.listen(window, "online", () => void this.check());
    this.listen(window, "offline", () => this.lost());
    this.listen(document, "visibilitychange", () => {
      if (document.visibilityState === "visible") void this.check();
    });
    this.listen(document, "submit", (event) => this.submitted(event as SubmitEvent));
    if (this.channel && typeof navigator !== "undefined" && navigator.locks) {
      this.leading = false;
      this.contend(false);
      this.post({ type: "hello" });
    } else this.connect();
  }

  stop(): void {
    this.done = true;
    this.resign();
    this.channel?.close();
    clearInterval(this.watchdog);
    clearTimeout(this.probing);
    clearTimeout(this.retrying);
    for (const [target, type, listener] of this.listeners) target.removeEventListener(type, listener);
  }

  private listen(target: EventTarget, type: string, listener: EventListener): void {
    target.addEventListener(type, listener);
    this.listeners.push([target, type, listener]);
  }

  private set(next: LiveStatus): void {
    if (this.done || next === this.current) return;
    this.current = next;
    this.options.onStatus(next);
    if (this.leading) this.post({ type: "stream", status: next });
  }

  private post(message: Message): void {
    this.channel?.postMessage(message);
  }

  /**
   * Asks for the browser's stream lock (per app: the lock's name holds its id), and opens the stream
   * once granted; `steal` takes it from a holder that has gone quiet. A tab whose lock is taken from
   * it closes its stream and queues for the lock again.
   */
  private contend(steal: boolean): void {
    if (this.done || this.leading) return;
    // One place in the lock's queue at a time: a takeover leaves it.
    this.queued?.abort();
    const queued = new AbortController();
    this.queued = steal ? undefined : queued;
    let granted = false;
    navigator.locks
      .request(`lockstep:events:${this.options.appId}`, steal ? { steal: true } : { signal: queued.signal }, () => {
        if (this.done) return undefined;
        granted = true;
        this.queued = undefined;
        this.leading = true;
        this.connect();
        return new Promise<void>((release) => (this.releaseLock = release));
      })
      .catch(() => {
        // Left the queue (above), or the lock was taken over by a tab that heard nothing from this one.
        if (!granted || this.done) return;
        this.leading = false;
        this.releaseLock = undefined;
        this.events?.close();
        this.events = undefined;
        this.contend(false);
      });
  }

  /** Closes this tab's stream and lets another tab of the browser hold it. */
  private resign(): void {
    this.queued?.abort();
    this.events?.close();
    this.events = undefined;
    this.releaseLock?.();
    this.releaseLock = undefined;
  }

  /** Whether this tab opens a stream of its own: it holds the lock, or the browser has no Web Locks. */
  private get streams(): boolean {
    return this.leading !== false;
  }

  /** The ending is confirmed: tell this browser's other tabs (unless they told this one), then show it here. */
  private signOut(via: Delivery["via"], tell: boolean): void {
    if (this.done) return;
    this.done = true;
    const { sessionId } = this.options;
    if (tell)
      this.post({ type: "ended", sessionId, reason: "ended", sentAt: Date.now(), ...(via === "push" ? { pushed: true as const } : {}) });
    this.resign();
    const at = Date.now();
    this.options.onEnded(
      this.toldByTabAt !== undefined ? { via: "broadcast", receivedAt: at, sentAt: this.toldByTabAt } : { via, receivedAt: at },
    );
  }

  private async check(via: Delivery["via"] = "check"): Promise<void> {
    if (this.done) return;
    const answer = await ask();
    if (answer === "ended") this.signOut(via, true);
    else if (answer === "unreachable") this.lost();
    else {
      if (this.current === "offline") this.set(this.streams && this.events?.readyState === EventSource.OPEN ? "live" : "reconnecting");
      // The server answers, but the tab holding the stream has said nothing for a while: take it over.
      if (!this.streams && Date.now() - this.lastWord > SILENCE_MS) this.contend(true);
    }
  }

  /** The server went quiet: say so, and keep asking until it answers. */
  private lost(): void {
    if (this.done) return;
    if (this.current === "live" || this.current === "connecting") this.set("reconnecting");
    if (this.probing) return;
    void this.probe();
  }

  private async probe(): Promise<void> {
    this.probing = undefined;
    if (this.done) return;
    let up = false;
    try {
      up = (await fetch("/api/health", { cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) })).ok;
    } catch {
      up = false;
    }
    if (this.done) return;
    if (!up) {
      this.set("offline");
      this.probing = setTimeout(() => void this.probe(), PROBE_EVERY_MS);
      return;
    }
    // Back: whatever happened meanwhile, ask about the session, and reopen the stream if it gave up.
    await this.check();
    if (this.done) return;
    if (!this.streams) return; // check() took the stream over if its holder is silent
    if (!this.events || this.events.readyState === EventSource.CLOSED) this.connect();
    else if (this.events.readyState === EventSource.OPEN) this.set("live");
    else this.probing = setTimeout(() => void this.probe(), PROBE_EVERY_MS);
  }

  /**
   * The stream spoke (`ready` or `ping`): this tab is live, and the tabs it holds the stream for hear
   * so each time, even when nothing changed here (a tab that just took the stream over).
   */
  private live(): void {
    this.lastWord = Date.now();
    if (this.current !== "live") this.set("live");
    else if (this.leading) this.post({ type: "stream", status: "live" });
  }

  private connect(): void {
    clearTimeout(this.retrying);
    this.events?.close();
    const stream = new EventSource("/api/session/events");
    this.events = stream;
    let opened = false;
    stream.addEventListener("ready", () => {
      opened = true;
      this.live();
      // Anything may have happened while the stream was down.
      void this.check();
    });
    stream.addEventListener("ping", () => this.live());
    stream.addEventListener("ended", () => {
      if (!this.signingOut) return this.signOut("push", true);
      // This tab is on its way to the IdP: it only passes the server's word to the others.
      this.post({ type: "ended", sessionId: this.options.sessionId, reason: "ended", sentAt: Date.now(), pushed: true });
      this.resign();
    });
    // The stream reached its longest life: open the next one at once, quietly (the server closes this one).
    stream.addEventListener("renew", () => {
      if (this.events === stream && !this.done) this.connect();
    });
    stream.addEventListener("error", () => {
      if (this.events !== stream) return;
      // Refused before it opened: EventSource cannot read why, so ask without opening one.
      if (stream.readyState === EventSource.CLOSED && !opened) {
        void this.admission();
        return;
      }
      // CONNECTING: the browser is retrying by itself. CLOSED: it gave up (e.g. a 401 or a 503); a check says which.
      this.lost();
      if (stream.readyState === EventSource.CLOSED) void this.check();
    });
  }

  /**
   * After a refused stream: HEAD /api/session/events says why. 401: the session is over. 429 or 503
   * (a cap, or the store down): wait its Retry-After (plus a little, so that refused tabs do not
   * return together), then open the stream again. 204: open it now. No answer: the server is gone.
   */
  private async admission(): Promise<void> {
    let response: Response;
    try {
      response = await fetch("/api/session/events", { method: "HEAD", cache: "no-store", signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    } catch {
      this.lost();
      return;
    }
    if (this.done) return;
    if (response.status === 401) return this.signOut("check", true);
    if (response.status === 204) return this.connect();
    const seconds = Number(response.headers.get("retry-after"));
    const waitMs = (Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : RETRY_AFTER_DEFAULT_MS) * (1 + Math.random() * 0.2);
    this.set("reconnecting");
    clearTimeout(this.retrying);
    this.retrying = setTimeout(() => {
      if (!this.done) this.connect();
    }, waitMs);
  }

  /** A message from another tab of this browser (or the front-channel logout page). */
  private heard(event: MessageEvent<Message>): void {
    const message = event.data;
    if (message?.type === "check") void this.check();
    else if (message?.type === "hello") {
      if (this.leading) this.post({ type: "stream", status: this.current });
    } else if (message?.type === "stream") {
      if (this.streams) return;
      if (message.status === "live") {
        this.lastWord = Date.now();
        // Anything may have happened while the stream was down.
        if (this.current !== "live") void this.check();
      }
      this.set(message.status);
    } else if (message?.type === "ended" && message.sessionId === this.options.sessionId && message.pushed && !this.streams) {
      // The server's stream said so, through the tab that holds it.
      this.signOut("push", false);
    } else if (message?.type === "ended" && message.sessionId === this.options.sessionId) {
      // Another tab of this browser signed out or saw the end: confirm with the server before
      // saying so (its request may still be on its way), then follow at once.
      this.toldByTabAt ??= typeof message.sentAt === "number" ? message.sentAt : Date.now();
      const until = Date.now() + CONFIRM_FOR_MS;
      let gap = CONFIRM_FIRST_GAP_MS;
      const confirm = async () => {
        if (this.done) return;
        const answer = await ask();
        if (answer === "ended") this.signOut("broadcast", false);
        else if (this.done) return;
        else if (Date.now() + gap < until) {
          setTimeout(confirm, gap);
          gap = Math.min(gap * 1.5, CONFIRM_MAX_GAP_MS);
        } else this.toldByTabAt = undefined; // the server never agreed: that news was not true
      };
      void confirm();
    }
  }

  /**
   * Signing out in this tab: the page's script sends the form itself, tells the others as soon as
   * the server has answered (so that their first question to it already hears "ended"), and only then
   * goes on to the IdP. Without a script, or if that request fails, the browser posts the form and the
   * others are told at once (they keep asking until the server agrees). Either way this tab follows
   * its own form, so the news of its own ending must not pull it elsewhere; if it holds the browser's
   * stream, it keeps it until it leaves and passes the server's push to the others.
   */
  private submitted(event: SubmitEvent): void {
    const form = event.target as HTMLFormElement | null;
    if (form?.dataset.signout !== "this") return;
    if (this.signingOut) {
      event.preventDefault();
      return;
    }
    this.signingOut = true;
    const clickedAt = Date.now();
    noteDelivery({ via: "self", receivedAt: clickedAt });
    this.done = true;
    clearTimeout(this.probing);
    if (!this.leading) this.resign();
    const { sessionId } = this.options;
    const tellOthers = () => this.post({ type: "ended", sessionId, reason: "logout", sentAt: Date.now() });
    if (form.dataset.fetch !== "json") {
      tellOthers();
      return;
    }
    event.preventDefault();
    signOutByScript(form).then(
      (next) => {
        // The server has ended the session: how long that took is what the signed-out page reports.
        noteDelivery({ via: "self", receivedAt: clickedAt, answeredAt: Date.now() });
        tellOthers();
        window.location.assign(next);
      },
      () => {
        tellOthers();
        form.submit(); // no submit event: straight to the server
      },
    );
  }
}
