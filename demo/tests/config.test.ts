import { describe, expect, it } from "vitest";
import { IdpConfigError, parseIdpConfig } from "../idp/config";

const secret = "s3cret-value-that-must-not-leak";

function configError(env: Record<string, string>): IdpConfigError {
  try {
    parseIdpConfig(env);
  } catch (error) {
    if (error instanceof IdpConfigError) return error;
    throw error;
  }
  throw new Error("expected an IdpConfigError");
}

describe("demo IdP config", () => {
  it("defaults to port 4000 and the Lockstep Bank app", () => {
    expect(parseIdpConfig({})).toEqual({
      port: 4000,
      clients: [
        { clientId: "lockstep-bank", clientSecret: "bank-demo-secret-change-me", appUrl: "http://localhost:3000", name: "Lockstep Bank" },
      ],
    });
  });

  it("reads IDP_PORT and IDP_CLIENTS", () => {
    const clients = [
      { clientId: "a", clientSecret: secret, appUrl: "http://localhost:3001/", name: "A" },
      { clientId: "b", clientSecret: secret, appUrl: "http://localhost:3002", name: "B", backchannelLogout: false },
      { clientId: "c", clientSecret: secret, appUrl: "http://localhost:3003", name: "C", backchannelSessionRequired: true },
      { clientId: "d", clientSecret: secret, appUrl: "http://localhost:3004", name: "D", frontchannelLogout: false },
    ];
    expect(parseIdpConfig({ IDP_PORT: "4100", IDP_CLIENTS: JSON.stringify(clients) })).toEqual({
      port: 4100,
      clients: [{ ...clients[0], appUrl: "http://localhost:3001" }, clients[1], clients[2], clients[3]],
    });
  });

  it("names the bad keys and never prints values", () => {
    const badJson = configError({ IDP_CLIENTS: `[{"clientSecret": "${secret}"` });
    expect(badJson.keys).toEqual(["IDP_CLIENTS"]);
    expect(badJson.message).toContain("IDP_CLIENTS: is not valid JSON");

    const badClient = configError({
      IDP_PORT: "http",
      IDP_CLIENTS: JSON.stringify([{ clientId: "a", clientSecret: secret, appUrl: `ftp://${secret}`, name: "A" }]),
    });
    expect(badClient.keys.sort()).toEqual(["IDP_CLIENTS", "IDP_PORT"]);
    expect(badClient.message).toContain("IDP_CLIENTS[0].appUrl");
    expect(badClient.message).toContain("IDP_PORT");

    for (const error of [badJson, badClient]) expect(error.message).not.toContain(secret);
  });

  it("reads an app's ssfManagementToken, refusing tokens that cannot be sent as a bearer token or are shared", () => {
    const client = {
      clientId: "a",
      clientSecret: secret,
      appUrl: "http://localhost:3001",
      name: "A",
      ssfManagementToken: "tok-en_1.2~3+4/5==",
    };
    expect(parseIdpConfig({ IDP_CLIENTS: JSON.stringify([client]) }).clients).toEqual([client]);

    const spaced = configError({ IDP_CLIENTS: JSON.stringify([{ ...client, ssfManagementToken: `${secret} x` }]) });
    expect(spaced.message).toContain("IDP_CLIENTS[0].ssfManagementToken");
    expect(spaced.message).not.toContain(secret);
    const shared = configError({ IDP_CLIENTS: JSON.stringify([client, { ...client, clientId: "b" }]) });
    expect(shared.message).toContain("ssfManagementToken values must be unique");
  });

  it("rejects duplicate client ids", () => {
    const client = { clientId: "a", clientSecret: secret, appUrl: "http://localhost:3001", name: "A" };
    expect(configError({ IDP_CLIENTS: JSON.stringify([client, client]) }).message).toContain("client ids must be unique");
  });

  it("reads tokenEndpointAuthMethod, jwks and requirePushedAuthorizationRequests, and refuses a private key or a missing credential", () => {
    const publicJwk = {
      kty: "EC",
      crv: "P-256",
      x: "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
      y: "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    };
    const keyed = {
      clientId: "k",
      appUrl: "http://localhost:3001",
      name: "K",
      tokenEndpointAuthMethod: "private_key_jwt",
      jwks: { keys: [publicJwk] },
      requirePushedAuthorizationRequests: true,
    };
    const post = {
      clientId: "p",
      clientSecret: secret,
      appUrl: "http://localhost:3002",
      name: "P",
      tokenEndpointAuthMethod: "client_secret_post",
    };
    expect(parseIdpConfig({ IDP_CLIENTS: JSON.stringify([keyed, post]) }).clients).toEqual([keyed, post]);

    const leaked = configError({ IDP_CLIENTS: JSON.stringify([{ ...keyed, jwks: { keys: [{ ...publicJwk, d: secret }] } }]) });
    expect(leaked.message).toContain("IDP_CLIENTS[0].jwks.keys[0]: must be a public key");
    expect(leaked.message).not.toContain(secret);
    expect(configError({ IDP_CLIENTS: JSON.stringify([{ ...keyed, jwks: undefined }]) }).message).toContain("IDP_CLIENTS[0].jwks");
    expect(configError({ IDP_CLIENTS: JSON.stringify([{ ...post, clientSecret: undefined }]) }).message).toContain(
      "IDP_CLIENTS[0].clientSecret",
    );
    expect(configError({ IDP_CLIENTS: JSON.stringify([{ ...post, tokenEndpointAuthMethod: "none" }]) }).message).toContain(
      "IDP_CLIENTS[0].tokenEndpointAuthMethod",
    );
  });
});
