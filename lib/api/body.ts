import { RemoteApiError } from "./errors";

const EMPTY = new Uint8Array(0);

/**
 * A request body on its way upstream, read from the browser's stream as the upstream takes it (never
 * read whole first) and counted: past `maxBytes`, every reader fails with `body_too_large`.
 *
 * With `replayable`, what has been read is kept (at most `maxBytes`), so that a second attempt (after
 * a refreshed token, or a DPoP nonce) sends the same bytes: what was kept first, then the rest of
 * the stream. The attempts run one after the other; a chunk is read from the source once, whichever
 * attempt asks first, and both see the same sequence. Without it, a body can be sent once.
 */
export class OutgoingBody {
  private readonly kept: Uint8Array[] = [];
  private bytes = 0;
  private done = false;
  private pending: Promise<void> | undefined;
  private failed = false;
  private failure: unknown;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private started = 0;

  constructor(
    source: ReadableStream<Uint8Array>,
    private readonly maxBytes: number,
    private readonly replayable: boolean,
  ) {
    this.reader = source.getReader();
  }

  /** Whether another attempt can send this body again. */
  get canReplay(): boolean {
    return this.replayable || this.started === 0;
  }

  /** One attempt's chunks, from the first byte. */
  async *chunks(): AsyncGenerator<Uint8Array> {
    if (!this.canReplay) throw new TypeError("This request body has been sent already.");
    this.started += 1;
    let index = 0;
    for (;;) {
      if (index < this.kept.length) {
        const chunk = this.kept[index]!;
        // Sent once only: let it go.
        if (!this.replayable) this.kept[index] = EMPTY;
        index += 1;
        yield chunk;
        continue;
      }
      if (this.failed) throw this.failure;
      if (this.done) return;
      await this.pull();
    }
  }

  /** Reads the next chunk from the source: one read at a time, shared by every attempt. */
  private pull(): Promise<void> {
    this.pending ??= this.readOne().finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async readOne(): Promise<void> {
    try {
      const { done, value } = await this.reader.read();
      if (done) {
        this.done = true;
        return;
      }
      this.bytes += value.byteLength;
      if (this.bytes > this.maxBytes) {
        this.failed = true;
        this.failure = new RemoteApiError("body_too_large", "REMOTE_API_MAX_REQUEST_BYTES");
        this.reader.cancel().catch(() => undefined);
        return;
      }
      this.kept.push(value);
    } catch (error) {
      this.failed = true;
      this.failure = error;
    }
  }

  /** Stops reading the browser's body (the call is over). */
  cancel(): void {
    if (!this.done) this.reader.cancel().catch(() => undefined);
  }
}
