// RFC 8935 push delivery of one SET, with bounded retries for recoverable failures.
import { setTimeout as sleep } from "node:timers/promises";
import { isLoopbackUrl, loopbackDemoFetch } from "../loopback-fetch";

/** Per attempt, as long as the IdP waits for a back-channel logout answer. */
export const PUSH_TIMEOUT_MS = 2500;
/**
 * The waits before each retry: the first attempt goes at once, then one retry after each wait, so at most
 * 6 attempts over about 8 s. Bounded, so that a Receiver that is down costs a few timers, not a backlog.
 */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [250, 500, 1000, 2000, 4000];
/** Enough for an RFC 8935 error object; a longer 400 body is cut. */
const MAX_ERROR_BODY_BYTES = 4096;

export type PushTarget = { endpointUrl: string; authorizationHeader?: string };

/**
 * What one attempt came to. delivered: 202 (RFC 8935 §2.2). rejected: 400, with the Receiver's `err` and
 * `description` (§2.3); not retried. retrying: no answer, 5xx, 408 or 429, with another attempt to come.
 * failed: any other answer, or the last recoverable failure.
 */
export type PushOutcome = "delivered" | "rejected" | "retrying" | "failed";

export type PushAttempt = {
  /** 1 for the first attempt. */
  attempt: number;
  /** The Receiver's HTTP status; 0 when it gave none. */
  status: number;
  outcome: PushOutcome;
  err?: string;
  description?: string;
  /** Why there was no answer. */
  error?: string;
};

type AttemptResult = Omit<PushAttempt, "attempt" | "outcome"> & { kind: "delivered" | "rejected" | "recoverable" | "failed" };

async function readSmallText(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < MAX_ERROR_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  return Buffer.concat(chunks).subarray(0, MAX_ERROR_BODY_BYTES).toString("utf8");
}

/** The `err` and `description` of an RFC 8935 §2.3 error body, when it has them as strings. */
async function readSetError(response: Response): Promise<{ err?: string; description?: string }> {
  try {
    const body: unknown = JSON.parse(await readSmallText(response));
    if (typeof body !== "object" || body === null) return {};
    const { err, description } = body as Record<string, unknown>;
    return { ...(typeof err === "string" ? { err } : {}), ...(typeof description === "string" ? { description } : {}) };
  } catch {
    return {};
  }
}

/** PUSH-02 (RFC 8935 §2.1): one POST of the compact SET. */
async function attemptPush(target: PushTarget, token: string, signal: AbortSignal): Promise<AttemptResult> {
  // Defence in depth: stream validation already refuses other URLs, and without oidc-provider's guarded
  // dispatcher nothing else would be safe to contact.
  if (!isLoopbackUrl(target.endpointUrl)) return { kind: "failed", status: 0, error: "not a loopback URL" };
  let response: Response;
  try {
    response = await loopbackDemoFetch(target.endpointUrl, {
      method: "POST",
      headers: {
        "content-type": "application/secevent+jwt",
        accept: "application/json",
        // PUSH-01: when the stream has an authorization_header, it goes with every push.
        ...(target.authorizationHeader === undefined ? {} : { authorization: target.authorizationHeader }),
      },
      body: token,
      signal: AbortSignal.any([signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)]),
    });
  } catch (error) {
    return { kind: "recoverable", status: 0, error: error instanceof Error ? error.message : String(error) };
  }
  const { status } = response;
  if (status === 400) return { kind: "rejected", status, ...(await readSetError(response)) };
  await response.body?.cancel().catch(() => {});
  if (status === 202) return { kind: "delivered", status };
  if (status >= 500 || status === 408 || status === 429) return { kind: "recoverable", status };
  return { kind: "failed", status };
}

export type PushOptions = {
  target: PushTarget;
  token: string;
  retryDelaysMs: readonly number[];
  /** Aborted when the IdP stops: no further attempt, nothing more recorded. */
  signal: AbortSignal;
  /** Checked before each attempt (e.g. the stream was deleted). */
  cancelled: () => boolean;
  onAttempt: (attempt: PushAttempt) => void;
};

/** Pushes until delivered, rejected, failed, or out of retries. Never rejects. */
export async function pushWithRetries({ target, token, retryDelaysMs, signal, cancelled, onAttempt }: PushOptions): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    if (signal.aborted || cancelled()) return;
    const { kind, ...result } = await attemptPush(target, token, signal);
    if (signal.aborted) return;
    const delay = retryDelaysMs[attempt - 1];
    if (kind !== "recoverable" || delay === undefined) {
      onAttempt({ attempt, ...result, outcome: kind === "recoverable" ? "failed" : kind });
      return;
    }
    onAttempt({ attempt, ...result, outcome: "retrying" });
    try {
      await sleep(delay, undefined, { signal });
    } catch {
      return;
    }
  }
}
