/**
 * A real HTTP server on loopback for the tests of Lockstep's own HTTP clients (REST Redis, the IdP):
 * it stands in for the other side so that each answer and each failure can be made on purpose.
 * Call `closeServers` after each test.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Handler = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => void;
const servers: http.Server[] = [];

/** Starts a server on 127.0.0.1 that hands each request, its body read whole, to `handler`; resolves with its base URL. */
export async function serve(handler: Handler): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString("utf8")));
    req.on("end", () => handler(req, body, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export async function closeServers(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve).closeAllConnections())));
}

/**
 * The settings of an app whose IdP is `issuer` (a loopback stand-in), for tests of Lockstep's own IdP
 * requests: a valid configuration with a client of the test's and a Redis that is never reached.
 * Call `vi.unstubAllEnvs()` after the test.
 */
export function stubIdpSettings(stubEnv: (name: string, value: string) => unknown, issuer: string): void {
  stubEnv("AUTH_SECRET", "s".repeat(40));
  stubEnv("AUTH_URL", "http://localhost:3000");
  stubEnv("OIDC_ISSUER", issuer);
  stubEnv("OIDC_CLIENT_ID", "client");
  stubEnv("OIDC_CLIENT_SECRET", "client-secret-of-the-test");
  stubEnv("UPSTASH_REDIS_REST_URL", "http://127.0.0.1:9");
  stubEnv("UPSTASH_REDIS_REST_TOKEN", "unused");
}
