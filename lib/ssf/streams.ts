import { z } from "zod";
import type { StreamStateStore } from "@/lib/store/ports";
import { getTransmitter, TransmitterError, type TransmitterConfig } from "./transmitter-config";

export const PUSH_METHOD = "urn:ietf:rfc:8935";
export const POLL_METHOD = "urn:ietf:rfc:8936";

/** SSF §8.1.1: a stream's configuration as the transmitter returns it. */
export const streamConfigSchema = z.looseObject({
  stream_id: z.string(),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  events_supported: z.array(z.string()).optional(),
  events_requested: z.array(z.string()).optional(),
  events_delivered: z.array(z.string()).optional(),
  delivery: z.looseObject({ method: z.string(), endpoint_url: z.string().optional(), authorization_header: z.string().optional() }),
  description: z.string().optional(),
});

export type StreamConfig = z.infer<typeof streamConfigSchema>;

const storedStreamSchema = z.object({ config: streamConfigSchema, status: z.string().optional(), verifiedAt: z.number().optional() });

/** What this receiver keeps of its stream: the configuration, and the status it last heard of. */
export type StoredStream = z.infer<typeof storedStreamSchema>;

/** The fields a receiver may send (SSF §8.1.1: never the transmitter-supplied ones). */
export type ReceiverFields = {
  events_requested: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  description?: string;
};

const STREAM_TTL_SECONDS = 365 * 86_400;

/** This receiver's stream as last read from the transmitter, or null when none is registered. */
export async function readStoredStream(state: StreamStateStore): Promise<StoredStream | null> {
  const raw = await state.readStream();
  // Parsed, not trusted: a stream written by another version that no longer fits throws (the receiver answers 503 and says so).
  return raw ? storedStreamSchema.parse(JSON.parse(raw)) : null;
}

export function writeStoredStream(state: StreamStateStore, stream: StoredStream): Promise<void> {
  return state.writeStream(JSON.stringify(stream), STREAM_TTL_SECONDS);
}

export type StreamDeps = { issuer: string; token: string; state: StreamStateStore; fetcher?: typeof fetch };

/** The receiver's side of SSF §8 stream management, with the stream kept in the stream state store. */
export class StreamManager {
  constructor(private readonly deps: StreamDeps) {}

  /** The bearer token for the transmitter's management (and poll) endpoints. */
  get token(): string {
    return this.deps.token;
  }

  private async call(endpoint: keyof TransmitterConfig, method: string, options: { query?: Record<string, string>; body?: unknown } = {}) {
    const transmitter = await getTransmitter(this.deps.issuer);
    const base = transmitter[endpoint];
    if (typeof base !== "string") throw new TransmitterError("not_supported", `The transmitter offers no ${String(endpoint)}.`);
    const url = new URL(base);
    for (const [k, v] of Object.entries(options.query ?? {})) url.searchParams.set(k, v);
    const response = await (this.deps.fetcher ?? fetch)(url, {
      method,
      headers: {
        Authorization: `Bearer ${this.deps.token}`,
        Accept: "application/json",
        ...(options.body ? { "Content-Type": "application/json" } : {}),
      },
      body: options.body ? JSON.stringify(options.body) : undefined,
      signal: AbortSignal.timeout(10_000),
    });
    return response;
  }

  private async expectOk(response: Response, what: string, ok: number[]): Promise<Response> {
    if (ok.includes(response.status)) return response;
    const detail = await response.text().catch(() => "");
    throw new TransmitterError(
      "management_failed",
      `${what}: the transmitter answered HTTP ${response.status} ${detail.slice(0, 300)}`,
      response.status,
    );
  }

  /** §8.1.1.1 create: MUST check `iss`. §409 (one stream per receiver): read it, then update it to ours. */
  private async parseConfig(response: Response): Promise<StreamConfig> {
    const config = streamConfigSchema.parse(await response.json());
    if (config.iss !== this.deps.issuer)
      throw new TransmitterError("iss_mismatch", "The stream's iss is not the transmitter's issuer (SSF §8.1.1.1.1).");
    return config;
  }

  async create(fields: ReceiverFields): Promise<StreamConfig> {
    const response = await this.call("configuration_endpoint", "POST", { body: fields });
    if (response.status === 409) {
      const listed = await this.expectOk(await this.call("configuration_endpoint", "GET"), "read streams", [200]);
      const body: unknown = await listed.json();
      const existing = streamConfigSchema.parse(Array.isArray(body) ? body[0] : body);
      return this.update(existing.stream_id, fields);
    }
    const config = await this.parseConfig(await this.expectOk(response, "create stream", [200, 201]));
    await this.store({ config });
    return config;
  }

  async read(): Promise<StreamConfig> {
    const stored = await this.stored();
    const response = await this.call("configuration_endpoint", "GET", { query: stored ? { stream_id: stored.config.stream_id } : {} });
    await this.expectOk(response, "read stream", [200]);
    const body: unknown = await response.json();
    const config = streamConfigSchema.parse(Array.isArray(body) ? body[0] : body);
    if (config.iss !== this.deps.issuer)
      throw new TransmitterError("iss_mismatch", "The stream's iss is not the transmitter's issuer (SSF §8.1.1.2).");
    await this.store({ ...stored, config });
    return config;
  }

  async update(streamId: string, fields: Partial<ReceiverFields>): Promise<StreamConfig> {
    const response = await this.call("configuration_endpoint", "PATCH", { body: { stream_id: streamId, ...fields } });
    const config = await this.parseConfig(await this.expectOk(response, "update stream", [200, 202]));
    await this.store({ ...(await this.stored()), config });
    return config;
  }

  async replace(streamId: string, fields: ReceiverFields): Promise<StreamConfig> {
    const response = await this.call("configuration_endpoint", "PUT", { body: { stream_id: streamId, ...fields } });
    const config = await this.parseConfig(await this.expectOk(response, "replace stream", [200, 202]));
    await this.store({ ...(await this.stored()), config });
    return config;
  }

  async delete(): Promise<void> {
    const stream = await this.requireStored();
    await this.expectOk(
      await this.call("configuration_endpoint", "DELETE", { query: { stream_id: stream.config.stream_id } }),
      "delete stream",
      [200, 204],
    );
    await this.deps.state.deleteStream();
  }

  async status(): Promise<{ stream_id: string; status: string; reason?: string }> {
    const stream = await this.requireStored();
    const response = await this.expectOk(
      await this.call("status_endpoint", "GET", { query: { stream_id: stream.config.stream_id } }),
      "read status",
      [200],
    );
    const status = z.looseObject({ stream_id: z.string(), status: z.string(), reason: z.string().optional() }).parse(await response.json());
    await this.store({ ...stream, status: status.status });
    return status;
  }

  async setStatus(status: "enabled" | "paused" | "disabled", reason?: string): Promise<void> {
    const stream = await this.requireStored();
    await this.expectOk(
      await this.call("status_endpoint", "POST", { body: { stream_id: stream.config.stream_id, status, reason } }),
      "update status",
      [200, 202],
    );
    await this.store({ ...stream, status });
  }

  async addSubject(subject: Record<string, unknown>): Promise<void> {
    const stream = await this.requireStored();
    await this.expectOk(
      await this.call("add_subject_endpoint", "POST", { body: { stream_id: stream.config.stream_id, subject, verified: true } }),
      "add subject",
      [200, 204],
    );
  }

  async removeSubject(subject: Record<string, unknown>): Promise<void> {
    const stream = await this.requireStored();
    await this.expectOk(
      await this.call("remove_subject_endpoint", "POST", { body: { stream_id: stream.config.stream_id, subject } }),
      "remove subject",
      [200, 204],
    );
  }

  /** §8.1.4.2: asks for a verification event carrying a fresh `state`, remembered to check the answer (§8.1.4.1). */
  async verify(): Promise<string> {
    const stream = await this.requireStored();
    const state = crypto.randomUUID();
    await this.deps.state.setVerificationState(state, 3600);
    await this.expectOk(
      await this.call("verification_endpoint", "POST", { body: { stream_id: stream.config.stream_id, state } }),
      "request verification",
      [200, 202, 204],
    );
    return state;
  }

  stored(): Promise<StoredStream | null> {
    return readStoredStream(this.deps.state);
  }

  private async requireStored(): Promise<StoredStream> {
    const stored = await this.stored();
    if (!stored) throw new TransmitterError("management_failed", "No stream is registered yet: create one first.");
    return stored;
  }

  store(stream: StoredStream): Promise<void> {
    return writeStoredStream(this.deps.state, stream);
  }
}
