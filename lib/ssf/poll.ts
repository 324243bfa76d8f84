import type { HandledSet } from "./receiver";

export type PollResult = { received: number; acknowledged: number; refused: number; rounds: number };

/**
 * RFC 8936 poll delivery (SSF §6.1.2): ask the transmitter for SETs, acknowledge the good ones and
 * report the bad ones in setErrs with their RFC 8935 §2.4 codes (RFC 8936 §2.3, §2.4.4), and go on while it says
 * moreAvailable, within a bounded number of rounds. SETs that could not be stored are neither
 * acknowledged nor refused, so the transmitter offers them again.
 */
export async function pollOnce(deps: {
  endpoint: string;
  token: string;
  handle: (raw: string) => Promise<HandledSet>;
  fetcher?: typeof fetch;
  maxRounds?: number;
  maxEvents?: number;
}): Promise<PollResult> {
  const result: PollResult = { received: 0, acknowledged: 0, refused: 0, rounds: 0 };
  let ack: string[] = [];
  let setErrs: Record<string, { err: string; description: string }> = {};
  const maxRounds = deps.maxRounds ?? 10;
  for (;;) {
    const last = result.rounds >= maxRounds;
    const body = {
      maxEvents: last ? 0 : (deps.maxEvents ?? 16),
      returnImmediately: true,
      ...(ack.length ? { ack } : {}),
      ...(Object.keys(setErrs).length ? { setErrs } : {}),
    };
    const response = await (deps.fetcher ?? fetch)(deps.endpoint, {
      method: "POST",
      headers: { Authorization: `Bearer ${deps.token}`, "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    result.rounds += 1;
    if (!response.ok) throw new Error(`poll: the transmitter answered HTTP ${response.status}`);
    const answer = (await response.json()) as { sets?: Record<string, string>; moreAvailable?: boolean };
    ack = [];
    setErrs = {};
    if (last) break;
    for (const [jti, raw] of Object.entries(answer.sets ?? {})) {
      result.received += 1;
      const handled = await deps.handle(raw);
      if (handled.status === "accepted") {
        ack.push(jti);
        result.acknowledged += 1;
      } else if (handled.status === "rejected") {
        setErrs[jti] = { err: handled.error.err, description: handled.error.message };
        result.refused += 1;
      }
    }
    if (!answer.moreAvailable && ack.length === 0 && Object.keys(setErrs).length === 0) break;
    if (!answer.moreAvailable) {
      // Send the acknowledgements without asking for more.
      await (deps.fetcher ?? fetch)(deps.endpoint, {
        method: "POST",
        headers: { Authorization: `Bearer ${deps.token}`, "Content-Type": "application/json" },
        body: JSON.stringify({ maxEvents: 0, returnImmediately: true, ack, ...(Object.keys(setErrs).length ? { setErrs } : {}) }),
        signal: AbortSignal.timeout(15_000),
      });
      result.rounds += 1;
      break;
    }
  }
  return result;
}
