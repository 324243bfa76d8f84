// The demo IdP as a process: `npm run idp` (`tsx idp/main.ts` in the demo package). Settings come from IDP_PORT and IDP_CLIENTS (see config.ts).
import { IdpConfigError, parseIdpConfig } from "./config";
import { startIdp } from "./provider";
import { demoUsers } from "./users";

async function main(): Promise<void> {
  const config = parseIdpConfig(process.env);
  const idp = await startIdp({ ...config, log: (line) => console.log(`[idp] ${line}`) });

  console.log(`Lockstep demo IdP running. Issuer: ${idp.issuer}`);
  console.log(`Admin page (demo only, no sign-in): ${idp.issuer}/admin`);
  console.log("Registered apps:");
  for (const client of config.clients) {
    // Whether an app may manage a Shared Signals stream, never its token.
    const ssf = client.ssfManagementToken ? ", may manage an SSF stream" : "";
    console.log(`  ${client.clientId} (${client.name}) at ${client.appUrl}${ssf}`);
  }
  console.log(`Shared Signals transmitter metadata: ${idp.issuer}/.well-known/ssf-configuration`);
  // Printing passwords is fine only because these are the demo's published test users.
  console.log("Test users (username / password):");
  for (const user of demoUsers) console.log(`  ${user.username} / ${user.password}  (${user.name}, ${user.email})`);

  const stop = (signal: NodeJS.Signals) => {
    console.log(`${signal} received, stopping the demo IdP`);
    idp.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(`failed to stop cleanly: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

main().catch((error: unknown) => {
  // Only messages: a config error lists keys, never values, and a stack adds nothing for a CLI.
  console.error(
    error instanceof IdpConfigError ? error.message : `demo IdP failed to start: ${error instanceof Error ? error.message : String(error)}`,
  );
  process.exit(1);
});
