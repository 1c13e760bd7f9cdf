// How fast the web interface's first page is interactive: from navigation start to the Runs page's
// first row on screen, in Debian's Chromium, against a real stack (server and proxy as separate
// processes, the build in dist/ui served through the proxy).
//
//   npm run build && node dist/bench/ui-first-load.js [--loads 15] [--runs 2000]
//
// "cold": a fresh browser context each load (empty cache: HTML, JS and CSS are fetched, then the
// runs query); "warm": one context reloading (the hashed assets come from the cache: only
// index.html is revalidated, then the query). The token is already in the tab's session storage,
// as after a sign-in; the target is under one second on `fluxo dev` (DESIGN.md).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext } from 'playwright-core';
import { createToken } from '../auth-proxy/tokens.js';
import { loadPrivateSigningKey } from '../common/keys.js';
import { percentiles } from './bench-server.js';
import { startBenchStack } from './stack.js';

const { values } = parseArgs({ options: { loads: { type: 'string', default: '15' }, runs: { type: 'string', default: '2000' } } });
const loads = Number(values.loads);
const runs = Number(values.runs);
const chromiumPath = process.env.FLUXO_CHROMIUM ?? '/usr/bin/chromium';
if (!existsSync(chromiumPath)) throw new Error(`needs Debian's Chromium at ${chromiumPath}: apt-get install chromium`);

const stack = await startBenchStack();
try {
  // Runs to list (they stay SCHEDULED: no agent), 20 requests at a time.
  await stack.register(join(process.cwd(), 'examples', 'sleep.ts'));
  for (let done = 0; done < runs; done += 20) {
    const batch = Array.from({ length: Math.min(20, runs - done) }, () =>
      stack.client.request('mutation { createFlowRun(input: { flowName: "long-sleep", parameters: { seconds: 1 } }) { id } }'),
    );
    await Promise.all(batch);
  }
  const key = await loadPrivateSigningKey(join(stack.dir, 'keys', 'token-signing.private.jwk.json'));
  const { token } = await createToken({ tenant: 'bench', role: 'developer', subject: 'ui-bench' }, key);
  const origin = new URL(stack.apiUrl).origin;
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'] });

  const newContext = async (): Promise<BrowserContext> => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(`sessionStorage.setItem('fluxo.token', ${JSON.stringify(token)})`);
    return context;
  };
  /** Milliseconds from navigation start to the first run row being visible, read by the page's own clock. */
  const load = async (context: BrowserContext, reload: boolean): Promise<number> => {
    const page = context.pages()[0] ?? (await context.newPage());
    if (reload) await page.reload({ waitUntil: 'commit' });
    else await page.goto(`${origin}/runs`, { waitUntil: 'commit' });
    await page.locator('tr[data-run-id]').first().waitFor({ state: 'visible' });
    return (await page.evaluate('performance.now()')) as number;
  };

  await load(await newContext(), false); // the server's and the browser's first time: not counted
  const cold: number[] = [];
  for (let i = 0; i < loads; i++) {
    const context = await newContext();
    cold.push(await load(context, false));
    await context.close();
  }
  const warmContext = await newContext();
  await load(warmContext, false);
  const warm: number[] = [];
  for (let i = 0; i < loads; i++) warm.push(await load(warmContext, true));
  await browser.close();

  const show = (name: string, samples: number[]) => {
    const p = percentiles(samples);
    process.stdout.write(`${name}: p50 ${p.p50.toFixed(0)} ms, p99 ${p.p99.toFixed(0)} ms, max ${p.max.toFixed(0)} ms (${p.n} loads)\n`);
  };
  process.stdout.write(`Runs page, navigation start -> first row visible, ${runs} runs in the database, Chromium ${browser.version()}, load average ${loadavg()[0]!.toFixed(1)}\n`);
  show('cold (empty cache)', cold);
  show('warm (cached assets)', warm);
} finally {
  await stack.stop();
}
