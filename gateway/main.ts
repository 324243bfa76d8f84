/** `npm start` in this package (`tsx main.ts`), or `npm run gateway` at the repository root: runs the gateway with settings from the environment (see config.ts). */
import { readGatewayConfig } from "./config";
import { describeRedisUrl } from "./redis-backend";
import { startGateway } from "./server";

const log = (line: string) => console.log(line);

const settings = readGatewayConfig(process.env);
if (!settings.ok) {
  console.error(`gateway: invalid configuration: ${settings.problems.join("; ")}`);
  process.exit(1);
}
const config = settings.config;

let gateway;
try {
  gateway = await startGateway({
    host: config.GATEWAY_HOST,
    port: config.GATEWAY_PORT,
    token: config.UPSTASH_REDIS_REST_TOKEN,
    redisUrl: config.REDIS_URL,
    keyPrefix: config.GATEWAY_KEY_PREFIX,
    maxCommands: config.GATEWAY_MAX_COMMANDS,
    log,
  });
} catch (error) {
  console.error(`gateway: could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}

const target = config.REDIS_URL ? `redis, ${describeRedisUrl(config.REDIS_URL)}` : "embedded";
log(`gateway: listening on ${gateway.url} (backend: ${target}; keys under ${config.GATEWAY_KEY_PREFIX})`);

let stopping = false;
const stop = () => {
  // A second signal while closing means: now.
  if (stopping) process.exit(1);
  stopping = true;
  gateway.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`gateway: error while stopping: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
