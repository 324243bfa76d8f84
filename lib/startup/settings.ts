import type { Config } from "@/lib/config";

type StoreConfig = Pick<Config, "REDIS_URL" | "REDIS_CLUSTER_NODES">;

/** The setting that names the store the Node runtime uses (lib/compose/server.ts picks it the same way). */
export function storeSetting(config: StoreConfig): "REDIS_CLUSTER_NODES" | "REDIS_URL" | "UPSTASH_REDIS_REST_URL" {
  if (config.REDIS_CLUSTER_NODES) return "REDIS_CLUSTER_NODES";
  if (config.REDIS_URL) return "REDIS_URL";
  return "UPSTASH_REDIS_REST_URL";
}

/** host:port of a URL, never its user, password, path or query; "?" for one that does not parse. */
export function hostOf(url: string | undefined): string {
  const parsed = url ? URL.parse(url) : null;
  if (!parsed) return "?";
  const port = parsed.port || { "redis:": "6379", "rediss:": "6379", "http:": "80", "https:": "443" }[parsed.protocol] || "";
  return port ? `${parsed.hostname}:${port}` : parsed.hostname;
}
