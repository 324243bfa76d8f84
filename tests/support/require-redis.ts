import net from "node:net";

/** The Redis server the test tiers talk to. Tests use key prefixes of their own on it. */
export const testRedisUrl = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

function ping(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

export default async function requireRedis(): Promise<void> {
  if (await ping(testRedisUrl)) return;
  throw new Error(
    `These tests need a Redis server at ${testRedisUrl} and none answered.\n` +
      `Install and start one: apt-get install -y redis-server && redis-server --daemonize yes --port 6379 --save ""\n` +
      `or point TEST_REDIS_URL at another server.`,
  );
}
