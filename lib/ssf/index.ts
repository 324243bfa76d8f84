import { getContext } from "@/lib/context";
import { hashId, securityLog } from "@/lib/log/security-log";
import { SetError } from "./errors";
import { buildPolicy, defaultPolicy, shortName } from "./policy";
import { receiveSet, type SsfOutcome, type SsfReceiveDeps } from "./receive";
import { POLL_METHOD, PUSH_METHOD, StreamManager, type StreamConfig } from "./streams";
import { getTransmitter, transmitterKeys } from "./transmitter";
import { subjectKey } from "./subject";
import { pollOnce } from "./poll";

/** SSF is on when SSF_ISSUER is set. */
export function ssfSettings() {
  const { config } = getContext();
  if (!config.SSF_ISSUER) return undefined;
  return { issuer: config.SSF_ISSUER, token: config.SSF_MANAGEMENT_TOKEN, delivery: config.SSF_DELIVERY };
}

export function streamManager(): StreamManager {
  const { config, redis, keys } = getContext();
  const settings = ssfSettings();
  if (!settings) throw new Error("SSF_ISSUER is not set.");
  if (!config.SSF_MANAGEMENT_TOKEN) throw new Error("SSF_MANAGEMENT_TOKEN is not set.");
  return new StreamManager({ issuer: settings.issuer, token: config.SSF_MANAGEMENT_TOKEN, redis, keys });
}

async function receiveDeps(): Promise<SsfReceiveDeps> {
  const { config, redis, keys, store } = getContext();
  const issuer = config.SSF_ISSUER!;
  const manager = new StreamManager({ issuer, token: config.SSF_MANAGEMENT_TOKEN ?? "", redis, keys });
  const transmitter = await getTransmitter(issuer).catch(() => undefined);
  return {
    redis,
    keys,
    store,
    ttlSeconds: config.SESSION_TTL_SECONDS,
    oidcIssuer: config.OIDC_ISSUER,
    now: Date.now,
    issuer,
    algorithms: config.SSF_ALGORITHMS.split(",").map((a) => a.trim()).filter(Boolean),
    leewaySeconds: config.BCL_CLOCK_LEEWAY_SECONDS,
    maxAgeSeconds: config.SSF_MAX_SET_AGE_SECONDS,
    criticalSubjectMembers: transmitter?.critical_subject_members,
    getKey: transmitterKeys(issuer),
    policy: buildPolicy(config.SSF_POLICY),
    stream: () => manager.stored(),
    saveStream: (stream) => manager.store(stream),
  };
}

export type HandledSet = { status: "accepted" } | { status: "rejected"; error: SetError } | { status: "unavailable" };

/** One SET, pushed or polled, with its security log line. Never throws. */
export async function handleSet(raw: string, via: "push" | "poll"): Promise<HandledSet> {
  let outcome: SsfOutcome;
  try {
    outcome = await receiveSet(raw, await receiveDeps());
  } catch (error) {
    if (error instanceof SetError) {
      securityLog({ event: "ssf.set", outcome: error.discard ? "ok" : "rejected", code: error.code, via });
      // SSF §3.6: a SET with an unprocessable critical subject member is acknowledged and not acted on.
      return error.discard ? { status: "accepted" } : error.status === 503 ? { status: "unavailable" } : { status: "rejected", error };
    }
    securityLog({ event: "ssf.set", outcome: "error", code: "store_unavailable", via });
    return { status: "unavailable" };
  }
  const { set } = outcome;
  securityLog({
    event: "ssf.set",
    outcome: "ok",
    code: outcome.result,
    via,
    type: shortName(set.eventType),
    action: outcome.outcome?.action,
    sessions_ended: outcome.outcome?.sessionsEnded,
    subject: subjectKey(set.subject),
    subject_hash: hashId(JSON.stringify(set.subject)),
    iss: set.iss,
    jti: set.jti,
    txn: set.txn,
  });
  return { status: "accepted" };
}

/** Polls the stream once (bounded), for `npm run ssf -- poll` and GET /api/ssf/poll. */
export async function pollStream() {
  const { config } = getContext();
  const manager = streamManager();
  const stream = await manager.stored();
  if (!stream?.config.delivery.endpoint_url) throw new Error("No poll stream is registered: run `npm run ssf -- register` with SSF_DELIVERY=poll.");
  return pollOnce({ endpoint: stream.config.delivery.endpoint_url, token: config.SSF_MANAGEMENT_TOKEN!, handle: (raw) => handleSet(raw, "poll") });
}

/**
 * Creates this app's stream (or takes over the existing one) with the events the policy acts on and
 * this app's delivery, then asks for verification. Verification and stream-updated events are
 * delivered anyway (MGMT-02), so they are not requested.
 */
export async function registerStream(): Promise<StreamConfig> {
  const { config } = getContext();
  const manager = streamManager();
  const delivery =
    config.SSF_DELIVERY === "push"
      ? { method: PUSH_METHOD, endpoint_url: new URL("/api/ssf/events", config.AUTH_URL).toString(), authorization_header: config.SSF_PUSH_AUTHORIZATION }
      : { method: POLL_METHOD };
  const stream = await manager.create({ events_requested: Object.keys(defaultPolicy), delivery, description: `Lockstep (${config.APP_NAME})` });
  await manager.verify();
  return stream;
}
