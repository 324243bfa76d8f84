import type { SessionRecord } from "@/lib/session/record";
import type { SessionStore } from "@/lib/store/ports";
import { endSessions, type EndDeps } from "@/lib/revocation/end-sessions";
import { hashId, securityLog, type SecurityEvent } from "@/lib/log/security-log";
import type { EndAs } from "@/lib/session/refresh";
import type { CheckOutcome } from "./check";
import { methodFor, type LivenessMethod, type LivenessPlan } from "./plan";

/** What `ensure` found: the session was checked and lives, was checked and ended, or was not checked now. */
export type LivenessResult = "live" | "ended" | "skipped";

export type LivenessDeps = {
  /** The plan for this IdP (lib/liveness/plan.ts), from its discovery document; rejects while the IdP cannot be read. */
  plan: () => Promise<LivenessPlan>;
  sessions: Pick<SessionStore, "read" | "claimCheck">;
  ending: EndDeps;
  /** Runs one method's check (lib/liveness/check.ts). */
  check: (method: LivenessMethod, sessionId: string, record: SessionRecord, endAs: EndAs) => Promise<CheckOutcome>;
  now?: () => number;
  /** In [0, 1): the jitter. */
  random?: () => number;
  log?: (entry: SecurityEvent) => void;
};

/** Back-off after the IdP failed to answer: doubling from the first to the last, with jitter, or what Retry-After asked (capped). */
export const BACKOFF_FIRST_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** While the discovery document cannot be read, the plan is asked for again at most this often. */
const PLAN_RETRY_MS = 30_000;
/** Bound on the sessions whose next check time one instance remembers. */
const MAX_DUE = 100_000;

/**
 * Liveness for sessions nothing pushes: re-checks each *active* session at the IdP once per interval,
 * across every instance, and ends the sessions the IdP no longer honours.
 *
 * - Active only: it runs when something asks (`ensure`): a request of the session, or its open tab's
 *   event stream (every heartbeat). An idle session costs nothing: no timer, no store call, no IdP call.
 * - Once per interval across instances: a check needs the session's claim in the store
 *   (SessionStore.claimCheck), held for the interval less up to 10% jitter, so that instances and
 *   sessions do not line up. Each instance also remembers when it need not ask again.
 * - Only a clear refusal ends a session (CheckOutcome `refused`), through endSessions with reason
 *   `idp_refused` and mechanism `liveness_check`, so every tab and the signed-out page show it.
 * - An IdP that is down, slow, rate-limiting or refusing this client ends nothing: every check on this
 *   instance pauses, from 5 s doubling to 5 min (or as long as Retry-After asks, within that cap),
 *   and resumes with one check once the pause is over; every such failure is logged.
 */
export class LivenessMonitor {
  private readonly due = new Map<string, number>();
  private readonly running = new Map<string, Promise<LivenessResult>>();
  /** When each session was last found live by this instance (for the signed-out page's timeline). */
  private readonly lastLive = new Map<string, number>();
  private readonly unusable = new Set<LivenessMethod>();
  private pausedUntil = 0;
  private failures = 0;
  private planFailedAt = -Infinity;
  /** The plan once read: it does not change while the process runs. */
  private plan: LivenessPlan | undefined;
  /** Sessions that no method can check are logged once per process, not once per check. */
  private saidNoMethod = false;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: (entry: SecurityEvent) => void;

  constructor(private readonly deps: LivenessDeps) {
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.log = deps.log ?? securityLog;
  }

  /** Whether checks are paused because the IdP failed to answer, and until when (ms). */
  get pause(): { until: number; failures: number } {
    return { until: this.pausedUntil, failures: this.failures };
  }

  /**
   * Checks the session at the IdP if it is due (the last check, on any instance, is an interval old)
   * and nothing stops it; otherwise returns `skipped` at once, without a store call when this
   * instance knows it is not due. Concurrent calls for one session share one check. Never throws.
   */
  ensure(sessionId: string): Promise<LivenessResult> {
    return this.checkIfDue(sessionId) ?? Promise.resolve("skipped");
  }

  /**
   * The same as `ensure`, but undefined, synchronously, when this instance already knows there is
   * nothing to do (liveness off, the session not due here, checks paused): a request's path then
   * waits for nothing at all.
   */
  checkIfDue(sessionId: string): Promise<LivenessResult> | undefined {
    const now = this.now();
    if (this.plan?.enabled === false) return undefined;
    if ((this.due.get(sessionId) ?? -Infinity) > now || this.pausedUntil > now) return undefined;
    const pending = this.running.get(sessionId);
    if (pending) return pending;
    const run = this.run(sessionId).finally(() => this.running.delete(sessionId));
    this.running.set(sessionId, run);
    return run;
  }

  /** How a refusal ends the session: `idp_refused` by `liveness_check`, dated by when this instance last found it live. */
  private endAs(sessionId: string): EndAs {
    const lastLive = this.lastLive.get(sessionId);
    return { reason: "idp_refused", detail: { mechanism: "liveness_check", ...(lastLive !== undefined ? { sentAt: lastLive } : {}) } };
  }

  private remember(sessionId: string, at: number): void {
    this.due.delete(sessionId);
    this.due.set(sessionId, at);
    if (this.due.size > MAX_DUE) this.due.delete(this.due.keys().next().value as string);
  }

  private async currentPlan(): Promise<LivenessPlan | undefined> {
    if (this.now() - this.planFailedAt < PLAN_RETRY_MS) return undefined;
    if (this.plan) return this.plan;
    try {
      return (this.plan = await this.deps.plan());
    } catch {
      this.planFailedAt = this.now();
      this.log({ event: "liveness.plan", outcome: "error", code: "discovery_unavailable" });
      return undefined;
    }
  }

  private async run(sessionId: string): Promise<LivenessResult> {
    const plan = await this.currentPlan();
    if (!plan?.enabled) return "skipped";
    const intervalMs = plan.intervalSeconds * 1000;
    const now = this.now();
    // Up to 10% early, so that checks spread out instead of lining up.
    const claimMs = Math.max(1_000, Math.round(intervalMs * (0.9 + 0.1 * this.random())));
    let record: SessionRecord | null;
    try {
      if (!(await this.deps.sessions.claimCheck(sessionId, claimMs))) {
        // Another instance (or this one) checked within the interval: ask again in half an interval,
        // in case the one that holds the claim stops seeing this session.
        this.remember(sessionId, now + intervalMs / 2);
        return "skipped";
      }
      record = await this.deps.sessions.read(sessionId);
    } catch {
      // The store cannot answer: the guard already refuses the session's requests; try again soon.
      this.remember(sessionId, now + BACKOFF_FIRST_MS);
      return "skipped";
    }
    if (!record) return "skipped";
    this.remember(sessionId, now + claimMs);

    for (;;) {
      const method = methodFor(plan, record, this.unusable);
      if (!method) {
        if (!this.saidNoMethod) this.log({ event: "liveness.check", outcome: "error", code: "no_method", session: hashId(sessionId) });
        this.saidNoMethod = true;
        return "skipped";
      }
      const outcome = await this.deps
        .check(method, sessionId, record, this.endAs(sessionId))
        .catch((): CheckOutcome => ({ kind: "unavailable", method, code: "unexpected_answer" }));
      if (outcome.kind === "unusable") {
        this.unusable.add(method);
        this.log({ event: "liveness.method", outcome: "error", code: outcome.code, method });
        continue;
      }
      return this.settle(sessionId, record, outcome);
    }
  }

  private async settle(
    sessionId: string,
    record: SessionRecord,
    outcome: Exclude<CheckOutcome, { kind: "unusable" }>,
  ): Promise<LivenessResult> {
    const session = hashId(sessionId);
    if (outcome.kind === "live") {
      this.failures = 0;
      this.lastLive.delete(sessionId);
      this.lastLive.set(sessionId, this.now());
      if (this.lastLive.size > MAX_DUE) this.lastLive.delete(this.lastLive.keys().next().value as string);
      return "live";
    }
    if (outcome.kind === "unavailable") {
      this.failures++;
      const doubling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** Math.min(this.failures - 1, 16));
      const jittered = doubling * (0.5 + 0.5 * this.random());
      const pauseMs = Math.min(BACKOFF_MAX_MS, Math.max(jittered, outcome.retryAfterMs ?? 0));
      this.pausedUntil = this.now() + pauseMs;
      this.log({
        event: "liveness.check",
        outcome: "error",
        code: outcome.code,
        method: outcome.method,
        session,
        pause_ms: Math.round(pauseMs),
        ...(outcome.code === "client_rejected" ? { setting: "OIDC_CLIENT_ID, OIDC_CLIENT_SECRET" } : {}),
      });
      return "skipped";
    }
    this.failures = 0;
    const endAs = this.endAs(sessionId);
    this.lastLive.delete(sessionId);
    if (!outcome.ended) {
      try {
        await endSessions(this.deps.ending, [{ kind: "session", id: sessionId, record }], endAs.reason, { detail: endAs.detail });
      } catch {
        // The IdP said no, but the store could not record it: the next check (the claim has expired
        // by then) asks again. Meanwhile the guard refuses the session only if the store is down.
        this.due.delete(sessionId);
        this.log({ event: "liveness.check", outcome: "error", code: "store_unavailable", method: outcome.method, session });
        return "skipped";
      }
    }
    this.log({
      event: "liveness.check",
      outcome: "rejected",
      code: outcome.code,
      method: outcome.method,
      session,
      sub: hashId(record.sub),
    });
    return "ended";
  }
}
