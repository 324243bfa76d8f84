/**
 * The one detail of a caught error that the error pages show: Next's `digest`, a hash that matches
 * the server's log entry. Never the message: a client-side error's message is passed through as is
 * and may carry internals. Anything that does not look like a digest is dropped.
 */
export function safeDigest(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("digest" in error)) return undefined;
  const { digest } = error;
  return typeof digest === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(digest) ? digest : undefined;
}
