/** Reads a session's server-sent events (GET /api/session/events) until one named `ended` arrives, or the time runs out. */
export async function nextEnded(
  response: Response,
  timeoutMs: number,
): Promise<{ reason: string; mechanism?: string; afterMs: number } | undefined> {
  const started = Date.now();
  const reader = response.body!.getReader();
  const timer = setTimeout(() => void reader.cancel(), timeoutMs);
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += new TextDecoder().decode(value);
      const match = /event: ended\ndata: (.*)\n\n/.exec(buffer);
      if (match) return { ...(JSON.parse(match[1]!) as { reason: string; mechanism?: string }), afterMs: Date.now() - started };
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
  }
}
