import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/**
 * Debian's Chromium, headless, through playwright-core (never a downloaded browser). Fails
 * with the command that installs it where it is missing.
 */
export async function launchChromium(args: readonly string[] = []): Promise<Browser> {
  if (!existsSync('/usr/bin/chromium'))
    throw new Error(
      "this test needs Debian's chromium at /usr/bin/chromium: apt-get install -y chromium (npm test does it as root)",
    );
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      ...args,
    ],
  });
}
