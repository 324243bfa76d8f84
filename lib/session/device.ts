import Bowser from "bowser";
import type { DeviceInfo } from "./record";

const cut = (value: string | undefined, max: number) => (value ? value.slice(0, max) : undefined);

/**
 * The browser, operating system and platform type of a User-Agent header, parsed by Bowser (a
 * maintained parser, MIT) rather than by hand. Only these names are kept in the session record, never
 * the header itself. Node runtime only (the edge guard never needs it).
 */
export function parseDevice(userAgent: string | null | undefined): DeviceInfo | undefined {
  if (!userAgent) return undefined;
  try {
    const parsed = Bowser.parse(userAgent.slice(0, 1024));
    const browser = [parsed.browser.name, parsed.browser.version?.split(".")[0]].filter(Boolean).join(" ");
    const mobileVersion = parsed.os.name === "iOS" || parsed.os.name === "Android" ? parsed.os.version?.split(".")[0] : undefined;
    const os = [parsed.os.name, parsed.os.versionName ?? mobileVersion].filter(Boolean).join(" ");
    const info: DeviceInfo = { browser: cut(browser, 60), os: cut(os, 60), type: cut(parsed.platform.type, 20) };
    return info.browser || info.os ? info : undefined;
  } catch {
    return undefined;
  }
}
