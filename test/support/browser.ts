// Debian's Chromium driven by playwright-core, for the web interface's tests and benchmark. A
// browser is never downloaded: without /usr/bin/chromium the test fails saying what to install.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Where Debian's `chromium` package puts the browser (override: FLUXO_CHROMIUM). */
export const chromiumPath = process.env.FLUXO_CHROMIUM ?? '/usr/bin/chromium';

/** Launches headless Chromium with nothing that phones home (updates, background networking). */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) {
    throw new Error(`the UI tests need Debian's Chromium at ${chromiumPath}: run 'apt-get install chromium' as root (scripts/test.sh does), or set FLUXO_CHROMIUM`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'],
  });
}
