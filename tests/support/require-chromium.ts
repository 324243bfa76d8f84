import { existsSync } from "node:fs";

/** Debian's Chromium, driven by playwright-core (never a browser downloaded by Playwright). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export default function requireChromium(): void {
  if (existsSync(chromiumPath)) return;
  throw new Error(
    `The browser tests need Chromium at ${chromiumPath} and it is not there.\n` +
      `Install it: apt-get update && apt-get install -y chromium\n` +
      `or point CHROMIUM_PATH at another Chromium.`,
  );
}
