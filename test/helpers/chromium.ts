// Debian's Chromium driven by playwright-core (`npx playwright install` cannot download here).
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium (CHROMIUM_PATH overrides); `NO_CHROMIUM` says why a browser test cannot run. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const NO_CHROMIUM: string | false = !existsSync(CHROMIUM) && `no Chromium at ${CHROMIUM}`;

/** Headless, sandbox-free, quiet (no background network, no first-run dialogs). */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      ...extraArgs,
    ],
  });
}
