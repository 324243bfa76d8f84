// HTTP for the demo transmitter: the SSF 1.0 §7 metadata, the §8 management API and the RFC 8936 poll
// endpoint. Each handler parses the request, calls the transmitter and maps its SsfRequestError to a status.
import type { IncomingMessage, ServerResponse } from "node:http";
import { POLL_METHOD, PUSH_METHOD, SsfRequestError } from "./streams";
import type { Transmitter } from "./transmitter";

export const SSF_CONFIGURATION_PATH = "/.well-known/ssf-configuration";

type Route = "metadata" | "streams" | "status" | "subjects-add" | "subjects-remove" | "verify" | "poll";
export type SsfRoute = { route: Route; streamId?: string } | { route: "wrong-method"; allow: string } | { route: "unknown" };

const ROUTES: Record<string, { route: Route; methods: readonly string[] }> = {
  [SSF_CONFIGURATION_PATH]: { route: "metadata", methods: ["GET", "HEAD"] },
  "/ssf/streams": { route: "streams", methods: ["GET", "POST", "PATCH", "PUT", "DELETE"] },
  "/ssf/status": { route: "status", methods: ["GET", "POST"] },
  "/ssf/subjects:add": { route: "subjects-add", methods: ["POST"] },
  "/ssf/subjects:remove": { route: "subjects-remove", methods: ["POST"] },
  "/ssf/verify": { route: "verify", methods: ["POST"] },
};
const POLL_PATH = /^\/ssf\/poll\/([A-Za-z0-9_-]{1,64})$/;
const MAX_BODY_BYTES = 64 * 1024;

/** The SSF route for a request; undefined for paths that are not the transmitter's. */
export function matchSsfRoute(method: string | undefined, url: string | undefined): SsfRoute | undefined {
  const path = URL.parse(url ?? "/", "http://idp.invalid")?.pathname ?? "";
  const poll = POLL_PATH.exec(path);
  const entry = poll ? { route: "poll" as const, methods: ["POST"] } : ROUTES[path];
  if (!entry) return path.startsWith("/ssf/") ? { route: "unknown" } : undefined;
  if (!entry.methods.includes(method ?? "")) return { route: "wrong-method", allow: entry.methods.join(", ") };
  return poll ? { route: "poll", streamId: poll[1] } : { route: entry.route };
}

/**
 * SSF §7.1 Transmitter Configuration Metadata. DEMO ONLY: the issuer is http://localhost, where SSF
 * §7.1 wants https (TLS for every endpoint); a real transmitter must be served over https.
 */
export function ssfConfiguration(issuer: string): Record<string, unknown> {
  return {
    spec_version: "1_0",
    issuer,
    jwks_uri: `${issuer}/jwks`,
    delivery_methods_supported: [PUSH_METHOD, POLL_METHOD],
    configuration_endpoint: `${issuer}/ssf/streams`,
    status_endpoint: `${issuer}/ssf/status`,
    add_subject_endpoint: `${issuer}/ssf/subjects:add`,
    remove_subject_endpoint: `${issuer}/ssf/subjects:remove`,
    verification_endpoint: `${issuer}/ssf/verify`,
    authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6749" }],
    default_subjects: "ALL",
    critical_subject_members: ["user"],
  };
}

const JSON_HEADERS = { "content-type": "application/json", "cache-control": "no-store" };

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { ...JSON_HEADERS, ...headers });
  res.end(JSON.stringify(body));
}

function sendEmpty(res: ServerResponse, status: number): void {
  res.writeHead(status, { "cache-control": "no-store" });
  res.end();
}

/** A JSON body, or undefined when there is none; malformed or oversized bodies are a 400. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new SsfRequestError("invalid_request", "the request body is too large");
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new SsfRequestError("invalid_request", "the request body is not JSON");
  }
}

/**
 * The wire form of an error. Management calls answer OAuth-style `{error, error_description}` (RFC 6750
 * for 401); the poll endpoint answers RFC 8935/8936-style `{err, description}`.
 */
function sendError(res: ServerResponse, route: SsfRoute["route"], error: SsfRequestError): void {
  const headers: Record<string, string> = {};
  // RFC 6750 §3: a missing or bad bearer token gets a challenge.
  if (error.status === 401) headers["www-authenticate"] = 'Bearer realm="ssf", error="invalid_token"';
  const body = route === "poll" ? { err: error.code, description: error.message } : { error: error.code, error_description: error.message };
  sendJson(res, error.status, body, headers);
}

export type SsfEndpoints = { handle(req: IncomingMessage, res: ServerResponse, route: SsfRoute): Promise<void> };

export function createSsfEndpoints({
  issuer,
  transmitter,
  log,
}: {
  issuer: string;
  transmitter: Transmitter;
  log: (line: string) => void;
}): SsfEndpoints {
  async function dispatch(req: IncomingMessage, res: ServerResponse, match: SsfRoute): Promise<void> {
    if (match.route === "unknown") throw new SsfRequestError("not_found", "no such transmitter endpoint");
    if (match.route === "wrong-method") {
      sendJson(
        res,
        405,
        { error: "method_not_allowed", error_description: "this endpoint does not take that method" },
        { allow: match.allow },
      );
      return;
    }
    if (match.route === "metadata") {
      if (req.method === "HEAD") res.writeHead(200, JSON_HEADERS).end();
      else sendJson(res, 200, ssfConfiguration(issuer));
      return;
    }
    // SSF §8 / CAEP-Interop §2.7: every management and poll call carries the Receiver's bearer token.
    const clientId = transmitter.authenticate(req.headers.authorization);
    if (!clientId) throw new SsfRequestError("invalid_token", "a valid bearer token is required");
    const query = new URL(req.url ?? "/", "http://idp.invalid").searchParams;
    const streamIdParam = query.get("stream_id");
    const method = req.method ?? "";

    switch (match.route) {
      case "streams":
        if (method === "GET") {
          // SSF §8.1.1.2: without stream_id, a list (empty if none).
          sendJson(res, 200, streamIdParam === null ? transmitter.readStreams(clientId) : transmitter.readStream(clientId, streamIdParam));
        } else if (method === "POST") {
          sendJson(res, 201, transmitter.createStream(clientId, await readJson(req)));
        } else if (method === "PATCH" || method === "PUT") {
          sendJson(res, 200, transmitter.updateStream(clientId, await readJson(req), method === "PATCH" ? "update" : "replace"));
        } else {
          transmitter.deleteStream(clientId, streamIdParam ?? "");
          sendEmpty(res, 204);
        }
        return;
      case "status":
        if (method === "GET") sendJson(res, 200, transmitter.readStatus(clientId, streamIdParam ?? ""));
        else sendJson(res, 200, transmitter.updateStatus(clientId, await readJson(req)));
        return;
      case "subjects-add":
        transmitter.addSubject(clientId, await readJson(req));
        sendEmpty(res, 200);
        return;
      case "subjects-remove":
        transmitter.removeSubject(clientId, await readJson(req));
        sendEmpty(res, 204);
        return;
      case "verify":
        transmitter.requestVerification(clientId, await readJson(req));
        sendEmpty(res, 204);
        return;
      case "poll": {
        const body = await readJson(req);
        // A long poll ends early when the Receiver goes away.
        const gone = new AbortController();
        res.once("close", () => gone.abort());
        const answer = await transmitter.poll(clientId, match.streamId ?? "", body, gone.signal);
        if (!res.destroyed) sendJson(res, 200, answer);
        return;
      }
    }
  }

  return {
    async handle(req, res, match) {
      try {
        await dispatch(req, res, match);
      } catch (error) {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (error instanceof SsfRequestError) {
          sendError(res, match.route, error);
          return;
        }
        log(`ssf error: ${error instanceof Error ? error.message : String(error)}`);
        sendJson(res, 500, { error: "server_error", error_description: "the transmitter failed" });
      }
    },
  };
}
