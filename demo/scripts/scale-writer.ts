import { recordMaker, storesFor, writeSessions, type TokenSizes } from "./scale-sessions";
import type { SessionRecord } from "../../lib/session/record";

/**
 * One of `npm run bench:scale`'s session writers (bench-scale.ts starts several, so that writing a
 * million sessions is not bound by one process's CPU): writes the range of sessions it is sent
 * through the app's store, and answers how many it wrote and the ids and handles it was asked to keep.
 */

export type WriteJob = {
  redisUrl: string;
  keyPrefix: string;
  appId: string;
  ttlSeconds: number;
  template: SessionRecord;
  sizes: TokenSizes;
  run: string;
  from: number;
  count: number;
  concurrency: number;
  seconds: number;
  /** Keep (answer) the sessions whose index, counted from `from`, is a multiple of this. */
  keepEvery: number;
};

function answer(message: unknown): void {
  // Exits once the answer is on its way: nothing else keeps this process.
  process.send?.(message, undefined, {}, () => process.exit(0));
}

process.once("message", async (job: WriteJob) => {
  const { stores, client } = storesFor(job.redisUrl, job.keyPrefix, job.appId, job.ttlSeconds);
  try {
    const make = recordMaker(job.template, job.sizes, job.run, job.ttlSeconds);
    const result = await writeSessions(stores, make, {
      from: job.from,
      count: job.count,
      concurrency: job.concurrency,
      seconds: job.seconds,
      keep: (i) => (i - job.from) % job.keepEvery === 0,
    });
    client.disconnect();
    answer({ written: result.written, seconds: result.seconds, kept: [...result.kept.values()] });
  } catch (error) {
    client.disconnect();
    answer({ error: error instanceof Error ? error.message : String(error) });
  }
});
// The benchmark went away: so does this writer.
process.on("disconnect", () => process.exit(0));
