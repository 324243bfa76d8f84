import { z } from "zod";
import { clientAuthMethods, PRIVATE_JWK_MEMBERS } from "./client-auth";
import type { DemoClient } from "./provider";

const DEFAULT_CLIENTS: DemoClient[] = [
  {
    clientId: "lockstep-bank",
    clientSecret: "bank-demo-secret-change-me",
    appUrl: "http://localhost:3000",
    name: "Lockstep Bank",
  },
];

/** A public JWK: what a client registers for private_key_jwt (RFC 7517 §4; no private or secret members, RFC 7518 §6). */
const publicJwkSchema = z
  .object({ kty: z.enum(["RSA", "EC", "OKP"]) })
  .catchall(z.unknown())
  .refine((key) => !PRIVATE_JWK_MEMBERS.some((member) => member in key), "must be a public key")
  .transform((key) => key as DemoClientJwk);
type DemoClientJwk = NonNullable<DemoClient["jwks"]>["keys"][number];

const demoClientSchema = z
  .object({
    clientId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "letters, digits and . _ - only"),
    /** Required unless tokenEndpointAuthMethod is private_key_jwt. */
    clientSecret: z.string().min(1).optional(),
    appUrl: z
      .url({ protocol: /^https?$/ })
      .refine((v) => !/[?#]/.test(v), "must not have a query or fragment")
      .transform((v) => v.replace(/\/+$/, "")),
    name: z.string().min(1).max(60),
    backchannelLogout: z.boolean().optional(),
    backchannelSessionRequired: z.boolean().optional(),
    frontchannelLogout: z.boolean().optional(),
    /** false: this app's ID tokens carry only `sub`; its profile and email claims are at userinfo alone. */
    idTokenClaims: z.boolean().optional(),
    /** The bearer token the app manages its Shared Signals stream with (RFC 6750 b64token characters). */
    ssfManagementToken: z
      .string()
      .regex(/^[A-Za-z0-9\-._~+/]+=*$/, "RFC 6750 bearer token characters only")
      .optional(),
    /** client_secret_basic (default), client_secret_post or private_key_jwt (RFC 7523, with jwks). */
    tokenEndpointAuthMethod: z.enum(clientAuthMethods).optional(),
    /** The app's public keys, for private_key_jwt. */
    jwks: z
      .object({ keys: z.array(publicJwkSchema).min(1) })
      .strict()
      .optional(),
    /** RFC 9126: this app's authorization requests must be pushed (PAR) first. */
    requirePushedAuthorizationRequests: z.boolean().optional(),
  })
  .strict()
  .superRefine((client, ctx) => {
    if (client.tokenEndpointAuthMethod === "private_key_jwt") {
      if (!client.jwks) ctx.addIssue({ code: "custom", path: ["jwks"], message: "is required with private_key_jwt" });
    } else if (client.clientSecret === undefined) {
      ctx.addIssue({ code: "custom", path: ["clientSecret"], message: "is required unless tokenEndpointAuthMethod is private_key_jwt" });
    }
  });

const clientsJson = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the input, which may hold secrets.
    ctx.addIssue({ code: "custom", message: "is not valid JSON" });
    return z.NEVER;
  }
});

const clientsSchema = clientsJson.pipe(
  z
    .array(demoClientSchema)
    .min(1, "must list at least one client")
    .refine((clients) => new Set(clients.map((c) => c.clientId)).size === clients.length, "client ids must be unique")
    .refine((clients) => {
      const tokens = clients.flatMap((c) => (c.ssfManagementToken === undefined ? [] : [c.ssfManagementToken]));
      return new Set(tokens).size === tokens.length;
    }, "ssfManagementToken values must be unique"),
);

/** The demo IdP's settings, read from the environment by `demo/idp/main.ts`. */
export const idpEnvSchema = z.object({
  IDP_PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  /** JSON array of DemoClient; defaults to the Lockstep Bank demo app. */
  IDP_CLIENTS: clientsSchema.default(DEFAULT_CLIENTS),
});

export type IdpConfig = { port: number; clients: DemoClient[] };

export class IdpConfigError extends Error {
  constructor(
    readonly keys: string[],
    details: string[],
  ) {
    super(`Demo IdP configuration is invalid:\n${details.map((d) => `  - ${d}`).join("\n")}`);
    this.name = "IdpConfigError";
  }
}

function issuePath(path: readonly PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`)).join("") || "?";
}

/** Validates the environment. Errors name the bad keys (down to the client field) and never a value. */
export function parseIdpConfig(env: Record<string, string | undefined>): IdpConfig {
  const input = Object.fromEntries(Object.keys(idpEnvSchema.shape).map((key) => [key, env[key] === "" ? undefined : env[key]]));
  const result = idpEnvSchema.safeParse(input);
  if (result.success) return { port: result.data.IDP_PORT, clients: result.data.IDP_CLIENTS };
  const keys = [...new Set(result.error.issues.map((i) => String(i.path[0] ?? "?")))];
  throw new IdpConfigError(
    keys,
    result.error.issues.map((i) => `${issuePath(i.path)}: ${i.message}`),
  );
}
