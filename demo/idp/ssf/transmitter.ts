// The demo IdP's Shared Signals transmitter (SSF 1.0): streams, SETs (RFC 8417), push (RFC 8935) and
// poll (RFC 8936) delivery. It copies the OpenID conformance suite's emulated transmitter where SSF leaves
// a choice: one stream per Receiver (409 for a second), events_delivered = requested ∩ supported.
//
// DEMO ONLY: everything lives in memory and is lost on restart.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { DemoUser } from "../users";
import {
  EVENTS_SUPPORTED,
  isPlainObject,
  isSsfEventType,
  isSubjectIdentifier,
  STREAM_UPDATED_EVENT,
  subjectsMatch,
  userEvent,
  VERIFICATION_EVENT,
  type SubjectIdentifier,
  type UserEventKind,
} from "./events";
import { DEFAULT_RETRY_DELAYS_MS, pushWithRetries, type PushAttempt, type PushOutcome } from "./push";
import {
  applyStreamUpdate,
  copyConfig,
  invalidRequest,
  isStreamStatus,
  parseCreateRequest,
  POLL_METHOD,
  PUSH_METHOD,
  SsfRequestError,
  type StreamConfig,
  type StreamStatus,
} from "./streams";

/** A Receiver allowed to manage a stream: a demo client with an ssfManagementToken. */
export type SsfReceiver = { clientId: string; appUrl: string; managementToken: string };

export type SsfTimings = {
  /** Waits before each push retry. Default 250 ms, 500 ms, 1 s, 2 s, 4 s (at most 6 attempts). */
  pushRetryDelaysMs?: readonly number[];
  /** How long a poll with `returnImmediately: false` waits for a SET. Default 5000. */
  longPollMs?: number;
};

/** One thing that happened to a SET on its way to a Receiver. */
export type DeliveryRecord = {
  streamId: string;
  method: "push" | "poll";
  jti: string;
  eventType: string;
  /** The compact SET itself, e.g. for a test that replays it. */
  set: string;
  /** Epoch milliseconds. */
  at: number;
  /** push: the attempt number (1 = first). poll: how many poll answers have carried this SET. */
  attempt: number;
  /** push: the Receiver's HTTP status (0: no answer). poll: 200 for "polled", 0 for acks and errors. */
  status: number;
  /** push: see PushOutcome. poll: "polled" (in a poll answer), "acknowledged" (acked), "rejected" (in setErrs). */
  outcome: PushOutcome | "polled" | "acknowledged";
  err?: string;
  description?: string;
  error?: string;
};

/** What became of one SET an emit produced. */
export type EmittedSet = {
  streamId: string;
  jti: string;
  claims: Record<string, unknown>;
  /** sent: push started. queued: waiting for a poll. held: the stream is paused. dropped: it is disabled. */
  disposition: "sent" | "queued" | "held" | "dropped";
};

/** The management view of a stream, for the admin page. */
export type StreamSummary = {
  config: StreamConfig;
  clientId: string;
  status: StreamStatus;
  reason?: string;
  /** SETs held (paused push stream) or not yet acknowledged (poll stream). */
  pending: number;
};

export type PollResponse = { sets: Record<string, string>; moreAvailable: boolean };

/** The `ssf` member of the running IdP. */
export type SsfApi = {
  /**
   * Signs one SET per stream whose events_delivered has `type` (verification and stream-updated go to every
   * stream) and sends, queues or holds it as the stream's delivery and status say. One `txn` for all of them.
   * Resolves once the SETs are handed over; pushes run in the background. A type the transmitter does not
   * support is in no stream's events_delivered, so it goes nowhere.
   */
  emit(type: string, subject: object, payload: object): Promise<void>;
  /** A CAEP/RISC event about a demo user, with `sub_id` {format: "iss_sub", iss, sub}. Throws for an unknown username. */
  emitForUser(username: string, kind: UserEventKind): Promise<void>;
  /** A Verification SET (SSF §8.1.4) to one stream; `state` echoed when given. Throws for an unknown stream. */
  sendVerification(streamId: string, state?: string): Promise<void>;
  /**
   * A Transmitter-initiated status change (SSF §8.1.5): a stream-updated SET goes before pausing or
   * disabling, and after enabling (then the held SETs follow). Throws for an unknown stream.
   */
  setStatus(streamId: string, status: StreamStatus, reason?: string): Promise<void>;
  streams(): StreamConfig[];
  /** Every push attempt and poll event, oldest first (the last 1000). */
  deliveries(): DeliveryRecord[];
};

export type Transmitter = {
  api: SsfApi;
  /** The Receiver a management or poll request's `Authorization: Bearer` names, or undefined. */
  authenticate(authorization: string | undefined): string | undefined;
  createStream(clientId: string, body: unknown): StreamConfig;
  readStreams(clientId: string): StreamConfig[];
  readStream(clientId: string, streamId: string): StreamConfig;
  updateStream(clientId: string, body: unknown, mode: "update" | "replace"): StreamConfig;
  deleteStream(clientId: string, streamId: string): void;
  readStatus(clientId: string, streamId: string): { stream_id: string; status: StreamStatus; reason?: string };
  updateStatus(clientId: string, body: unknown): { stream_id: string; status: StreamStatus; reason?: string };
  addSubject(clientId: string, body: unknown): void;
  removeSubject(clientId: string, body: unknown): void;
  /** Checks the request and answers at once; the Verification SET follows asynchronously (SSF §8.1.4.2). */
  requestVerification(clientId: string, body: unknown): void;
  poll(clientId: string, streamId: string, body: unknown, signal: AbortSignal): Promise<PollResponse>;
  emitUserEvent(user: DemoUser, kind: UserEventKind): Promise<EmittedSet[]>;
  summaries(): StreamSummary[];
  close(): Promise<void>;
};

export type TransmitterDeps = {
  issuer: string;
  receivers: readonly SsfReceiver[];
  /** Signs SET claims RS256 with the IdP's published RSA key, header typ secevent+jwt. */
  signSet(claims: Record<string, unknown>): Promise<string>;
  /** The demo user with this username (the caller decides how lenient the match is). */
  findUserByName(username: string): DemoUser | undefined;
  log: (line: string) => void;
  timings?: SsfTimings;
};

type PendingSet = {
  jti: string;
  token: string;
  eventType: string;
  /** stream-updated about the stream's own status: shown even while the stream is paused or disabled. */
  control: boolean;
  served: number;
};

type Stream = {
  config: StreamConfig;
  clientId: string;
  status: StreamStatus;
  reason?: string;
  /** Subjects the Receiver removed (SSF §8.1.3.3); with default_subjects "ALL" every other subject is in. */
  removedSubjects: SubjectIdentifier[];
  /** Poll stream: SETs not yet acknowledged. Push stream: SETs held while paused. Oldest first. */
  pending: PendingSet[];
  /** Long polls waiting for a SET. */
  waiters: Set<() => void>;
  deleted: boolean;
};

const DEFAULT_LONG_POLL_MS = 5000;
/** The conformance suite's transmitter's page size when a poll gives no maxEvents (RFC 8936 lets it choose). */
const DEFAULT_MAX_EVENTS = 16;
const MAX_PENDING_PER_STREAM = 1000;
const MAX_RECORDS = 1000;
const MAX_TEXT_LENGTH = 1000;
const MAX_SUBJECTS = 1000;

const randomId = () => randomBytes(16).toString("hex");
const digest = (value: string) => createHash("sha256").update(value).digest();

function validateTimings(timings: SsfTimings): { retryDelaysMs: readonly number[]; longPollMs: number } {
  const retryDelaysMs = timings.pushRetryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  const longPollMs = timings.longPollMs ?? DEFAULT_LONG_POLL_MS;
  if (retryDelaysMs.length > 10 || !retryDelaysMs.every((d) => Number.isFinite(d) && d >= 0 && d <= 60_000)) {
    throw new Error("ssf.pushRetryDelaysMs takes at most 10 waits of 0 to 60000 ms");
  }
  if (!Number.isFinite(longPollMs) || longPollMs < 0 || longPollMs > 30_000) throw new Error("ssf.longPollMs must be 0 to 30000");
  return { retryDelaysMs: [...retryDelaysMs], longPollMs };
}

export function createTransmitter({ issuer, receivers, signSet, findUserByName, log, timings = {} }: TransmitterDeps): Transmitter {
  const { retryDelaysMs, longPollMs } = validateTimings(timings);
  const receiverTokens = receivers.map((r) => ({
    clientId: r.clientId,
    aud: new URL(r.appUrl).origin,
    tokenDigest: digest(r.managementToken),
  }));
  const streams = new Map<string, Stream>();
  const records: DeliveryRecord[] = [];
  const inflight = new Set<Promise<void>>();
  const stopping = new AbortController();

  const pollUrl = (streamId: string) => `${issuer}/ssf/poll/${streamId}`;

  function record(entry: DeliveryRecord): void {
    records.push(entry);
    if (records.length > MAX_RECORDS) records.splice(0, records.length - MAX_RECORDS);
  }

  // ---- Receivers and their streams -------------------------------------------------------------------

  function authenticate(authorization: string | undefined): string | undefined {
    const token = /^Bearer +(\S+) *$/i.exec(authorization ?? "")?.[1];
    if (!token) return undefined;
    const presented = digest(token);
    // Every receiver is compared, so the time taken does not say which one matched.
    let match: string | undefined;
    for (const r of receiverTokens) if (timingSafeEqual(presented, r.tokenDigest) && !match) match = r.clientId;
    return match;
  }

  /** The Receiver's stream; another Receiver's stream is as unknown as a missing one (404). */
  function streamOf(clientId: string, streamId: unknown): Stream {
    if (typeof streamId !== "string" || streamId === "") throw invalidRequest("stream_id is required", "SSF §8.1.1");
    const stream = streams.get(streamId);
    if (!stream || stream.clientId !== clientId)
      throw new SsfRequestError("not_found", "there is no stream with that stream_id for this receiver");
    return stream;
  }

  function requireObject(body: unknown): Record<string, unknown> {
    if (!isPlainObject(body)) throw invalidRequest("the request body must be a JSON object");
    return body;
  }

  function createStream(clientId: string, body: unknown): StreamConfig {
    // The conformance suite's transmitter has one stream per Receiver and answers a second create with 409.
    if ([...streams.values()].some((s) => s.clientId === clientId)) {
      throw new SsfRequestError("conflict", "this receiver already has a stream; read it, then update or replace it", "SSF §8.1.1.1");
    }
    const receiver = receiverTokens.find((r) => r.clientId === clientId);
    if (!receiver) throw new SsfRequestError("invalid_token", "unknown receiver");
    const streamId = randomId();
    const config = parseCreateRequest(body, { streamId, iss: issuer, aud: receiver.aud, pollUrl: pollUrl(streamId) });
    streams.set(streamId, { config, clientId, status: "enabled", removedSubjects: [], pending: [], waiters: new Set(), deleted: false });
    log(`ssf: stream ${streamId} created for ${clientId} (${config.delivery.method})`);
    return copyConfig(config);
  }

  function readStreams(clientId: string): StreamConfig[] {
    return [...streams.values()].filter((s) => s.clientId === clientId).map((s) => copyConfig(s.config));
  }

  function updateStream(clientId: string, body: unknown, mode: "update" | "replace"): StreamConfig {
    const request = requireObject(body);
    const stream = streamOf(clientId, request.stream_id);
    const previousMethod = stream.config.delivery.method;
    stream.config = applyStreamUpdate(stream.config, request, mode, pollUrl(stream.config.stream_id));
    // Whatever waits in the stream goes by its new delivery method.
    if (previousMethod !== stream.config.delivery.method) release(stream);
    log(`ssf: stream ${stream.config.stream_id} ${mode === "update" ? "updated" : "replaced"} by ${clientId}`);
    return copyConfig(stream.config);
  }

  function deleteStream(clientId: string, streamId: string): void {
    const stream = streamOf(clientId, streamId);
    stream.deleted = true;
    stream.pending = [];
    streams.delete(streamId);
    wake(stream);
    log(`ssf: stream ${streamId} deleted by ${clientId}`);
  }

  function statusOf(stream: Stream) {
    return { stream_id: stream.config.stream_id, status: stream.status, ...(stream.reason === undefined ? {} : { reason: stream.reason }) };
  }

  function updateStatus(clientId: string, body: unknown) {
    const request = requireObject(body);
    const stream = streamOf(clientId, request.stream_id);
    if (!isStreamStatus(request.status)) throw invalidRequest("status must be enabled, paused or disabled", "SSF §8.1.2.2");
    if (request.reason !== undefined && (typeof request.reason !== "string" || request.reason.length > MAX_TEXT_LENGTH)) {
      throw invalidRequest("reason must be a string", "SSF §8.1.2.2");
    }
    // The Receiver asked for it, so no stream-updated SET tells it what it already knows.
    applyStatus(stream, request.status, request.reason);
    log(`ssf: stream ${stream.config.stream_id} ${request.status} by ${clientId}`);
    return statusOf(stream);
  }

  function parseSubjectRequest(clientId: string, body: unknown): { stream: Stream; subject: SubjectIdentifier } {
    const request = requireObject(body);
    const stream = streamOf(clientId, request.stream_id);
    if (!isSubjectIdentifier(request.subject)) throw invalidRequest("subject must be a subject identifier with a format", "SSF §8.1.3");
    if (request.verified !== undefined && typeof request.verified !== "boolean")
      throw invalidRequest("verified must be a boolean", "SSF §8.1.3.2");
    return { stream, subject: request.subject };
  }

  /** SSF §8.1.3.2. With default_subjects "ALL" every subject is in already; adding undoes a removal. */
  function addSubject(clientId: string, body: unknown): void {
    const { stream, subject } = parseSubjectRequest(clientId, body);
    stream.removedSubjects = stream.removedSubjects.filter((s) => !subjectsMatch(s, subject));
  }

  /** SSF §8.1.3.3: no more events about this subject on this stream (verification and stream-updated still go). */
  function removeSubject(clientId: string, body: unknown): void {
    const { stream, subject } = parseSubjectRequest(clientId, body);
    if (stream.removedSubjects.length >= MAX_SUBJECTS) throw invalidRequest("too many removed subjects on this stream");
    if (!stream.removedSubjects.some((s) => subjectsMatch(s, subject))) stream.removedSubjects.push(subject);
  }

  // ---- SETs and their delivery -------------------------------------------------------------------------

  function wake(stream: Stream): void {
    for (const waiter of [...stream.waiters]) waiter();
    stream.waiters.clear();
  }

  function enqueue(stream: Stream, item: PendingSet): void {
    stream.pending.push(item);
    if (stream.pending.length > MAX_PENDING_PER_STREAM) {
      stream.pending.splice(0, stream.pending.length - MAX_PENDING_PER_STREAM);
      log(`ssf: stream ${stream.config.stream_id} holds more than ${MAX_PENDING_PER_STREAM} SETs; the oldest were dropped`);
    }
  }

  function startPush(stream: Stream, item: PendingSet): void {
    const { delivery, stream_id: streamId } = stream.config;
    if (delivery.method !== PUSH_METHOD) return;
    const task = pushWithRetries({
      target: { endpointUrl: delivery.endpoint_url, authorizationHeader: delivery.authorization_header },
      token: item.token,
      retryDelaysMs,
      signal: stopping.signal,
      cancelled: () => stream.deleted,
      onAttempt: (attempt: PushAttempt) => {
        record({ streamId, method: "push", jti: item.jti, eventType: item.eventType, set: item.token, at: Date.now(), ...attempt });
        // JSON-quoted: the err text comes from the Receiver and must not forge log lines.
        const detail = attempt.err ?? attempt.error;
        log(
          `ssf: push ${item.jti} to stream ${streamId}: attempt ${attempt.attempt}, HTTP ${attempt.status}, ${attempt.outcome}${detail ? ` ${JSON.stringify(detail)}` : ""}`,
        );
      },
    });
    inflight.add(task);
    void task.finally(() => inflight.delete(task));
  }

  /** Sends, queues, holds or drops a signed SET as the stream's delivery method and status say (SSF §8.1.2). */
  function dispatch(stream: Stream, item: PendingSet): EmittedSet["disposition"] {
    if (stream.deleted) return "dropped";
    const deliverable = stream.status === "enabled" || item.control;
    if (!deliverable && stream.status === "disabled") return "dropped";
    if (stream.config.delivery.method === POLL_METHOD) {
      enqueue(stream, item);
      if (deliverable) wake(stream);
      return deliverable ? "queued" : "held";
    }
    if (!deliverable) {
      enqueue(stream, item);
      return "held";
    }
    startPush(stream, item);
    return "sent";
  }

  /** Lets SETs waiting in a stream go on: pushes what a push stream held, wakes the long polls of a poll stream. */
  function release(stream: Stream): void {
    if (stream.config.delivery.method === POLL_METHOD) {
      wake(stream);
      return;
    }
    if (stream.status !== "enabled") return;
    const held = stream.pending;
    stream.pending = [];
    for (const item of held) startPush(stream, item);
  }

  /** SET-01..SET-09: one event, `sub_id`, no `sub` and no `exp`; RS256 and typ secevent+jwt by signSet. */
  async function signFor(stream: Stream, type: string, subject: object, payload: object, txn: string, control = false) {
    const jti = randomId();
    const claims = {
      jti,
      iss: issuer,
      aud: stream.config.aud,
      iat: Math.floor(Date.now() / 1000),
      txn,
      sub_id: subject,
      events: { [type]: payload },
    };
    const token = await signSet(claims);
    return { claims, item: { jti, token, eventType: type, control, served: 0 } satisfies PendingSet };
  }

  async function emitTo(targets: readonly Stream[], type: string, subject: object, payload: object): Promise<EmittedSet[]> {
    const txn = randomId();
    const emitted: EmittedSet[] = [];
    for (const stream of targets) {
      const { claims, item } = await signFor(stream, type, subject, payload, txn);
      emitted.push({ streamId: stream.config.stream_id, jti: item.jti, claims, disposition: dispatch(stream, item) });
    }
    return emitted;
  }

  function targetsFor(type: string, subject: object): Stream[] {
    return [...streams.values()].filter((stream) => {
      if (isSsfEventType(type)) return true;
      if (!stream.config.events_delivered.includes(type)) return false;
      return !(isSubjectIdentifier(subject) && stream.removedSubjects.some((removed) => subjectsMatch(removed, subject)));
    });
  }

  async function emit(type: string, subject: object, payload: object): Promise<EmittedSet[]> {
    if (!isPlainObject(subject) || !isPlainObject(payload)) throw new Error("the subject and the payload must be objects");
    if (!EVENTS_SUPPORTED.includes(type)) log(`ssf: ${JSON.stringify(type)} is not a supported event type; no stream delivers it`);
    return emitTo(targetsFor(type, subject), type, subject, payload);
  }

  async function emitUserEvent(user: DemoUser, kind: UserEventKind): Promise<EmittedSet[]> {
    const { type, payload } = userEvent(kind, Math.floor(Date.now() / 1000));
    const emitted = await emit(type, { format: "iss_sub", iss: issuer, sub: user.sub }, payload);
    log(`ssf: ${kind} for ${user.username} to ${emitted.length} stream(s)`);
    return emitted;
  }

  /** MGMT-01: sub_id is the stream, and `state` is there only when the Receiver sent one. */
  async function sendVerification(stream: Stream, state?: string): Promise<void> {
    const subject = { format: "opaque", id: stream.config.stream_id };
    const { item } = await signFor(stream, VERIFICATION_EVENT, subject, state === undefined ? {} : { state }, randomId());
    dispatch(stream, item);
  }

  /** SSF §8.1.2: paused holds what comes, disabled drops it (and what was held), enabled lets it go. */
  function applyStatus(stream: Stream, status: StreamStatus, reason?: string): void {
    const previous = stream.status;
    stream.status = status;
    stream.reason = reason;
    if (status === "disabled") stream.pending = stream.pending.filter((item) => item.control);
    if (status === "enabled" && previous !== "enabled") release(stream);
    else wake(stream);
  }

  /**
   * SSF §8.1.5 (MGMT-02): a stream-updated SET about the stream itself (sub_id = the stream) goes before
   * the Transmitter pauses or disables it, and when it enables it again, ahead of the SETs it held.
   */
  async function setStatusByTransmitter(stream: Stream, status: StreamStatus, reason?: string): Promise<void> {
    if (stream.status === status) return;
    const subject = { format: "opaque", id: stream.config.stream_id };
    const payload = { status, ...(reason === undefined ? {} : { reason }) };
    const { item } = await signFor(stream, STREAM_UPDATED_EVENT, subject, payload, randomId(), true);
    if (stream.deleted) return;
    if (status === "enabled") {
      stream.status = status;
      stream.reason = reason;
      if (stream.config.delivery.method === POLL_METHOD) stream.pending.unshift(item);
      else startPush(stream, item);
      release(stream);
    } else {
      dispatch(stream, item);
      applyStatus(stream, status, reason);
    }
    log(`ssf: stream ${stream.config.stream_id} ${status} by the transmitter`);
  }

  function requestVerification(clientId: string, body: unknown): void {
    const request = requireObject(body);
    const stream = streamOf(clientId, request.stream_id);
    const { state } = request;
    if (state !== undefined && (typeof state !== "string" || state.length > MAX_TEXT_LENGTH)) {
      throw invalidRequest("state must be a string", "SSF §8.1.4.2");
    }
    setImmediate(() => {
      sendVerification(stream, state).catch((error: unknown) =>
        log(`ssf: verification for ${stream.config.stream_id} failed: ${String(error)}`),
      );
    });
  }

  // ---- Poll (RFC 8936) ---------------------------------------------------------------------------------

  type PollRequest = {
    maxEvents?: number;
    returnImmediately: boolean;
    ack: string[];
    setErrs: [string, { err: string; description?: string }][];
  };

  /** POLL-02: RFC 8936 §2.2's request members, each optional; anything malformed is a 400. */
  function parsePollRequest(body: unknown): PollRequest {
    const request = body === undefined ? {} : requireObject(body);
    const { maxEvents, returnImmediately, ack, setErrs } = request;
    if (maxEvents !== undefined && !(Number.isSafeInteger(maxEvents) && (maxEvents as number) >= 0)) {
      throw invalidRequest("maxEvents must be a non-negative integer", "RFC 8936 §2.2");
    }
    if (returnImmediately !== undefined && typeof returnImmediately !== "boolean") {
      throw invalidRequest("returnImmediately must be a boolean", "RFC 8936 §2.2");
    }
    if (ack !== undefined && !(Array.isArray(ack) && ack.every((j) => typeof j === "string"))) {
      throw invalidRequest("ack must be an array of jti strings", "RFC 8936 §2.2");
    }
    const errors: PollRequest["setErrs"] = [];
    if (setErrs !== undefined) {
      if (!isPlainObject(setErrs)) throw invalidRequest("setErrs must be an object keyed by jti", "RFC 8936 §2.2");
      for (const [jti, value] of Object.entries(setErrs)) {
        if (
          !isPlainObject(value) ||
          typeof value.err !== "string" ||
          (value.description !== undefined && typeof value.description !== "string")
        ) {
          throw invalidRequest("each setErrs entry must be {err, description?}", "RFC 8936 §2.2");
        }
        errors.push([jti, { err: value.err, ...(typeof value.description === "string" ? { description: value.description } : {}) }]);
      }
    }
    return {
      ...(maxEvents === undefined ? {} : { maxEvents: maxEvents as number }),
      returnImmediately: returnImmediately === true,
      ack: (ack as string[] | undefined) ?? [],
      setErrs: errors,
    };
  }

  function takePending(stream: Stream, jti: string): PendingSet | undefined {
    const index = stream.pending.findIndex((item) => item.jti === jti);
    return index < 0 ? undefined : stream.pending.splice(index, 1)[0];
  }

  /** What a poll may see: everything when enabled; only stream-updated notices when paused or disabled. */
  function visible(stream: Stream): PendingSet[] {
    return stream.status === "enabled" ? stream.pending : stream.pending.filter((item) => item.control);
  }

  function waitForSet(stream: Stream, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        stream.waiters.delete(done);
        signal.removeEventListener("abort", done);
        stopping.signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, longPollMs);
      stream.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
      stopping.signal.addEventListener("abort", done, { once: true });
    });
  }

  async function poll(clientId: string, streamId: string, body: unknown, signal: AbortSignal): Promise<PollResponse> {
    const stream = streamOf(clientId, streamId);
    if (stream.config.delivery.method !== POLL_METHOD) throw new SsfRequestError("not_found", "this stream is not a poll stream");
    const request = parsePollRequest(body);
    const now = Date.now();
    const base = { streamId, method: "poll" as const, at: now, status: 0 };
    // RFC 8936 §2.4: acknowledged SETs, and those the Receiver reports errors for, are not sent again.
    for (const jti of request.ack) {
      const item = takePending(stream, jti);
      if (item) record({ ...base, jti, eventType: item.eventType, set: item.token, attempt: item.served, outcome: "acknowledged" });
    }
    for (const [jti, { err, description }] of request.setErrs) {
      const item = takePending(stream, jti);
      if (item) {
        record({
          ...base,
          jti,
          eventType: item.eventType,
          set: item.token,
          attempt: item.served,
          outcome: "rejected",
          err,
          ...(description === undefined ? {} : { description }),
        });
      }
      log(`ssf: poll receiver reported ${JSON.stringify(err)} for ${JSON.stringify(jti)} on stream ${streamId}`);
    }
    // maxEvents 0 is an acknowledge-only request.
    if (request.maxEvents === 0) return { sets: {}, moreAvailable: visible(stream).length > 0 };
    if (visible(stream).length === 0 && !request.returnImmediately && stream.status === "enabled" && !stopping.signal.aborted) {
      await waitForSet(stream, signal);
    }
    if (stream.deleted) return { sets: {}, moreAvailable: false };
    const available = visible(stream);
    const batch = available.slice(0, request.maxEvents ?? DEFAULT_MAX_EVENTS);
    for (const item of batch) {
      item.served += 1;
      record({
        ...base,
        at: Date.now(),
        jti: item.jti,
        eventType: item.eventType,
        set: item.token,
        attempt: item.served,
        status: 200,
        outcome: "polled",
      });
    }
    return { sets: Object.fromEntries(batch.map((item) => [item.jti, item.token])), moreAvailable: available.length > batch.length };
  }

  // ---- The public API ----------------------------------------------------------------------------------

  function knownStream(streamId: string): Stream {
    const stream = streams.get(streamId);
    if (!stream) throw new Error(`there is no stream ${streamId}`);
    return stream;
  }

  const api: SsfApi = {
    async emit(type, subject, payload) {
      await emit(type, subject, payload);
    },
    async emitForUser(username, kind) {
      const user = findUserByName(username);
      if (!user) throw new Error("there is no demo user with that username");
      await emitUserEvent(user, kind);
    },
    async sendVerification(streamId, state) {
      await sendVerification(knownStream(streamId), state);
    },
    async setStatus(streamId, status, reason) {
      if (!isStreamStatus(status)) throw new Error("status must be enabled, paused or disabled");
      await setStatusByTransmitter(knownStream(streamId), status, reason);
    },
    streams: () => [...streams.values()].map((s) => copyConfig(s.config)),
    deliveries: () => records.map((r) => ({ ...r })),
  };

  return {
    api,
    authenticate,
    createStream,
    readStreams,
    readStream: (clientId, streamId) => copyConfig(streamOf(clientId, streamId).config),
    updateStream,
    deleteStream,
    readStatus: (clientId, streamId) => statusOf(streamOf(clientId, streamId)),
    updateStatus,
    addSubject,
    removeSubject,
    requestVerification,
    poll,
    emitUserEvent,
    summaries: () =>
      [...streams.values()].map((s) => ({
        config: copyConfig(s.config),
        clientId: s.clientId,
        status: s.status,
        ...(s.reason === undefined ? {} : { reason: s.reason }),
        pending: s.pending.length,
      })),
    async close() {
      stopping.abort();
      for (const stream of streams.values()) wake(stream);
      await Promise.allSettled([...inflight]);
    },
  };
}
