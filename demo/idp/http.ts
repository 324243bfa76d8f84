import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { errorPage, PAGE_HEADERS } from "./pages";

const MAX_FORM_BYTES = 8 * 1024;

/** A request this IdP refuses with a 400 page; the message is shown to the user. */
export class BadRequest extends Error {}

/** The value of cookie `name` in a Cookie request header, or undefined. Values are taken as sent (no decoding). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? "").split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

export function sendHtml(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...PAGE_HEADERS, ...headers, "content-type": "text/html; charset=utf-8" });
  res.end(html);
}

/** Reads a small application/x-www-form-urlencoded body; anything else is a BadRequest. */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers["content-type"] ?? "")) {
    throw new BadRequest("expected an application/x-www-form-urlencoded body");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new BadRequest("form body too large");
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

/**
 * Answers a request that failed: a half-sent answer is cut off, a BadRequest gets 400 with its
 * message, anything else is logged and gets a 500 page saying `what` failed.
 */
export function sendFailure(res: ServerResponse, error: unknown, log: (line: string) => void, what: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof BadRequest) {
    sendHtml(res, 400, errorPage("invalid_request", error.message));
    return;
  }
  log(`${what}: ${error instanceof Error ? error.message : String(error)}`);
  sendHtml(res, 500, errorPage("server_error", `${what}.`));
}

/** Starts `server` listening on `host`:`port` (0: a free one); resolves with the address, rejects if it cannot. */
export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve(server.address() as AddressInfo);
    });
  });
}
