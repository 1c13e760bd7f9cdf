// The web interface end to end: a real stack (server, proxy, agent as separate processes), the
// built UI (dist/ui) served through the proxy, and Debian's Chromium driving it with playwright-core.
// Every request the page makes must go to the stack's own host; axe-core audits every page; the
// last test saves a screenshot of every page to .test-tmp/ui-screenshots (FLUXO_SCREENSHOTS_DIR=docs/ui
// refreshes the tour's copies in docs/ui instead, so a test run leaves the tree clean).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role } from '../../common/identity.js';
import { launchChromium } from '../support/browser.js';
import { repoRoot, waitFor } from '../support/harness.js';
import { startStack, type Stack } from '../support/stack.js';
import { createRun, runDetails, waitForFinal } from '../e2e/queries.js';

const examples = ['parameters.ts', 'sleep.ts', 'retry.ts'].map((file) => join(repoRoot, 'examples', file));
const dataDir = join(repoRoot, 'examples', 'data');
const screenshots = process.env.FLUXO_SCREENSHOTS_DIR ? join(repoRoot, process.env.FLUXO_SCREENSHOTS_DIR) : join(repoRoot, '.test-tmp', 'ui-screenshots');

let stack: Stack;
let browser: Browser;
let origin: string;
let failedRunId: string;
let flowIds: Record<string, string>;
/** Every URL any page of the file requested (HTTP and WebSocket). */
const requested: string[] = [];
/** Console messages about a refused Content-Security-Policy. */
const cspViolations: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  const registered = await stack.cli(['register', ...examples, '--project', 'production', '--storage', stack.storageUri]);
  expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
  await stack.startAgent({ name: 'escritorio-1', concurrency: 4 });
  // An agent with a lake, for the flow whose writes the Tables page lists.
  const dataConfig = join(stack.dir, 'data.json');
  await writeFile(dataConfig, JSON.stringify({ lake: pathToFileURL(join(stack.dir, 'lake')).href }));
  const lineage = await stack.cli(['register', join(repoRoot, 'test', 'fixtures', 'flows', 'ui-lineage.ts'), '--project', 'production', '--storage', stack.storageUri]);
  expect(lineage, lineage.stderr).toMatchObject({ exitCode: 0 });
  await stack.startAgent({ name: 'escritorio-lake', labels: ['lake'], concurrency: 1, extraArgs: ['--data-config', dataConfig] });
  origin = new URL(stack.apiUrl).origin;
  const developer = await stack.client('developer');
  failedRunId = await createRun(developer, { flowName: 'fail-always' });
  const lakeRun = await createRun(developer, { flowName: 'cor-ocorrencias', labels: ['lake'] });
  await waitForFinal(developer, failedRunId);
  expect(await waitForFinal(developer, lakeRun, 120_000)).toMatchObject({ state: 'SUCCESS' });
  const { flows } = await developer.request<{ flows: { nodes: { id: string; name: string }[] } }>('{ flows { nodes { id name } } }');
  flowIds = Object.fromEntries(flows.nodes.map((flow) => [flow.name, flow.id]));
  browser = await launchChromium();
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

/** A fresh browser context (its own session storage) at `width`, recording every request. */
async function openPage(width = 1280): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height: width > 600 ? 800 : 844 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.on('request', (request) => requested.push(request.url()));
  page.on('websocket', (socket) => requested.push(socket.url()));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  return { context, page };
}

async function signIn(page: Page, role: Role): Promise<void> {
  await page.goto(`${origin}/`);
  await page.getByLabel('Token').fill(await stack.token(role));
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}

/** Follows a link of the main navigation. */
async function nav(page: Page, name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
}

/** Navigates inside the app (the session lives in this tab's sessionStorage). */
async function go(page: Page, path: string): Promise<void> {
  // The page's own code, as text: this file is compiled without the DOM library.
  await page.evaluate(`history.pushState(null, '', ${JSON.stringify(path)}); dispatchEvent(new PopStateEvent('popstate'))`);
}

describe('serving the interface', () => {
  it('serves the app, its assets and page routes without a token, with a strict Content-Security-Policy, while the API still refuses', async () => {
    const index = await fetch(`${origin}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    const html = await index.text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${origin}${script}`, { headers: { 'accept-encoding': 'gzip' } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');

    const deepLink = await fetch(`${origin}/runs/${failedRunId}`);
    expect(deepLink.status).toBe(200);
    expect(await deepLink.text()).toBe(html);
    expect((await fetch(`${origin}/assets/nothing-here.js`)).status).toBe(404);
    expect(await (await fetch(`${origin}/ui-config.json`)).json()).toEqual({ oidc: [] });

    const api = await fetch(`${origin}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: '{ viewer { tenant } }' }) });
    expect(api.status).toBe(401);
    expect(await api.json()).toMatchObject({ errors: [{ extensions: { code: 'TOKEN_MISSING' } }] });
    // Not a UI path: a POST to / and any other path keep the proxy's token check.
    expect((await fetch(`${origin}/`, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${origin}/anything-else`)).status).toBe(401);
  });
});

describe('operating runs in the browser', () => {
  it('signs in with a token, starts a run from the generated form (checked before sending) and watches it finish with live logs', async () => {
    const { context, page } = await openPage();
    try {
      await signIn(page, 'developer');
      await nav(page, 'Flows');
      await page.getByRole('link', { name: 'typed-parameters' }).click();
      await page.getByRole('button', { name: 'Run', exact: true }).click();
      const year = page.getByLabel('year');
      await expect.poll(() => year.inputValue()).toBe('2010');
      await year.fill('1990');
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.getByText('year: at least 2002').waitFor();
      expect(new URL(page.url()).pathname).toBe(`/flows/${flowIds['typed-parameters']}`);

      await year.fill('2009');
      await page.getByLabel('city').fill('Niterói');
      await page.getByLabel('dataDir').fill(dataDir);
      await page.getByRole('button', { name: 'Start run' }).click();
      await page.waitForURL(/\/runs\/[0-9a-f-]+$/);
      const runId = new URL(page.url()).pathname.split('/').pop()!;
      await page.getByTestId('run-state').getByText('Success', { exact: true }).waitFor({ timeout: 60_000 });
      await page.getByRole('log').getByText('Niterói').first().waitFor();
      await page.getByLabel('Search logs').fill('top 5');
      await page.getByRole('log').getByText(/top 5 municipalities by GDP in 2009/).waitFor();
      expect(await runDetails(await stack.client('developer'), runId)).toMatchObject({ state: 'SUCCESS', parameters: { year: 2009, city: 'Niterói' } });
    } finally {
      await context.close();
    }
  });

  it('cancels a running run from its page', async () => {
    const developer = await stack.client('developer');
    const runId = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 300 } });
    const { context, page } = await openPage();
    try {
      await signIn(page, 'developer');
      await go(page, `/runs/${runId}`);
      await page.getByTestId('run-state').getByText('Running', { exact: true }).waitFor({ timeout: 30_000 });
      await page.getByRole('log').getByText(/sleeping 300 s/).waitFor();
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByTestId('run-state').getByText('Cancelled', { exact: true }).waitFor({ timeout: 30_000 });
      expect((await runDetails(developer, runId)).stateHistory.map((h) => h.toState)).toEqual(['SCHEDULED', 'SUBMITTED', 'RUNNING', 'CANCELLING', 'CANCELLED']);
      // A finished run offers restart and re-run instead; a re-run is a new run of the same parameters.
      expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
      await page.getByRole('button', { name: 'Restart' }).waitFor();
      await page.getByRole('button', { name: 'Re-run' }).click();
      await page.waitForURL((url) => url.pathname.startsWith('/runs/') && !url.pathname.endsWith(runId));
      const rerunId = new URL(page.url()).pathname.split('/').pop()!;
      await page.getByRole('link', { name: runId.slice(-8) }).waitFor();
      expect(await runDetails(developer, rerunId)).toMatchObject({ parameters: { seconds: 300 } });
      await page.getByRole('button', { name: 'Cancel' }).click();
      await page.getByTestId('run-state').getByText('Cancelled', { exact: true }).waitFor({ timeout: 30_000 });
    } finally {
      await context.close();
    }
  });

  it("opens a failed run and shows its error: the reason, the message and the failed task's", async () => {
    const { context, page } = await openPage();
    try {
      await signIn(page, 'developer');
      await nav(page, 'Runs');
      await page.getByLabel('State').selectOption('FAILED');
      await page.getByRole('button', { name: 'Apply filters' }).click();
      await page.locator(`tr[data-run-id="${failedRunId}"] a`).first().click();
      const error = page.getByTestId('run-error');
      await error.waitFor();
      expect(await error.textContent()).toContain('this flow always fails');
      expect(await error.getByRole('heading', { name: /Task explode#1/ }).count()).toBe(1);
    } finally {
      await context.close();
    }
  });

  it('shows a viewer no Run, Cancel or Audit, and the server refuses the viewer anyway', async () => {
    const developer = await stack.client('developer');
    const waiting = await createRun(developer, { flowName: 'long-sleep', parameters: { seconds: 300 }, labels: ['gis'] });
    const { context, page } = await openPage();
    try {
      await signIn(page, 'viewer');
      expect(await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).count()).toBe(0);
      await go(page, `/flows/${flowIds['typed-parameters']}`);
      await page.getByRole('heading', { name: 'production/typed-parameters' }).waitFor();
      expect(await page.getByRole('button', { name: 'Run', exact: true }).count()).toBe(0);
      await go(page, `/runs/${waiting}`);
      await page.getByTestId('wait-reason').getByText(/no agent has labels matching \{gis\}/).waitFor();
      expect(await page.getByRole('button', { name: 'Cancel' }).count()).toBe(0);
      // The buttons are hidden as a courtesy; the server is what refuses.
      const body = JSON.stringify({ query: 'mutation($id: ID!) { cancelFlowRun(id: $id) { id } }', variables: { id: waiting } });
      const refused = (await page.evaluate(
        `fetch('/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + sessionStorage.getItem('fluxo.token') }, body: ${JSON.stringify(body)} }).then((r) => r.json())`,
      )) as { errors?: { extensions?: { code?: string } }[] };
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    } finally {
      // The run stays: the tour's dashboard and agents pages show a run no agent can take.
      await context.close();
    }
  });
});

describe('an admin', () => {
  it("switches tenant and reads the other agency's runs, live logs included (the tenant travels on the WebSocket too)", async () => {
    const registered = await stack.cli(['register', join(repoRoot, 'examples', 'sleep.ts'), '--project', 'production', '--storage', stack.storageUri], { tenant: 'rj-smtr' });
    expect(registered, registered.stderr).toMatchObject({ exitCode: 0 });
    await stack.startAgent({ name: 'smtr-1', tenant: 'rj-smtr' });
    const smtr = await stack.client('developer', 'rj-smtr');
    const runId = await createRun(smtr, { flowName: 'long-sleep', parameters: { seconds: 0 } });
    await waitForFinal(smtr, runId);
    const { context, page } = await openPage();
    try {
      await signIn(page, 'admin');
      await page.getByLabel('Tenant').selectOption('rj-smtr');
      await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
      await nav(page, 'Runs');
      await page.locator(`tr[data-run-id="${runId}"] a`).first().click();
      await page.getByTestId('run-state').getByText('Success', { exact: true }).waitFor();
      await page.getByRole('log').getByText(/sleeping 0 s/).waitFor();
      expect(await page.getByText('Live logs stopped').count()).toBe(0);
    } finally {
      await context.close();
    }
  });
});

describe('the explorer', () => {
  it('queries with the signed-in token and subscribes over graphql-ws', async () => {
    const { context, page } = await openPage();
    try {
      await signIn(page, 'developer');
      await nav(page, 'Explorer');
      const run = async (query: string): Promise<void> => {
        await page.locator('.graphiql-query-editor .CodeMirror').click();
        await page.keyboard.press('Control+A');
        await page.keyboard.press('Delete');
        await page.keyboard.insertText(query);
        // GraphiQL takes the editor's text into its state a moment later; run once it has.
        await page.locator('.graphiql-query-editor').getByText(query.slice(0, 12)).first().waitFor();
        await page.getByRole('button', { name: /Execute query/ }).click();
      };
      // The response editor's text (CodeMirror 5 keeps its instance on its element).
      const response = async () => JSON.parse(String(await page.evaluate(`document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue() || 'null'`))) as unknown;
      await run('{ viewer { subject role } }');
      await expect.poll(response, { timeout: 20_000 }).toEqual({ data: { viewer: { subject: 'developer-test@rj-escritorio', role: 'DEVELOPER' } } });
      await run(`subscription { flowRunStateChanged(id: "${failedRunId}") { flowRun { state stateReason } } }`);
      await expect.poll(response, { timeout: 20_000 }).toEqual({ data: { flowRunStateChanged: { flowRun: { state: 'FAILED', stateReason: 'exception' } } } });
    } finally {
      await context.close();
    }
  });
});

describe('every page', () => {
  const pages = () => [
    { name: 'dashboard', path: '/', ready: 'Runs by state, last 24 hours' },
    { name: 'runs', path: '/runs', ready: 'Runs' },
    { name: 'run-failed', path: `/runs/${failedRunId}`, ready: 'Error' },
    { name: 'flows', path: '/flows', ready: 'Flows' },
    { name: 'flow', path: `/flows/${flowIds['typed-parameters']}`, ready: 'production/typed-parameters' },
    { name: 'agents', path: '/agents', ready: 'Agents' },
    { name: 'audit', path: '/audit', ready: 'Audit log' },
    { name: 'tables', path: '/tables', ready: 'br_rj_cor' },
    { name: 'table', path: `/tables/${encodeURIComponent('LAKE:br_rj_cor.ocorrencias')}`, ready: 'Partitions' },
    { name: 'explorer', path: '/explorer', ready: null },
  ];

  it.each([1280, 390])('passes axe-core without serious or critical violations at %i px, and is screenshotted for the tour', async (width) => {
    await mkdir(screenshots, { recursive: true });
    const { context, page } = await openPage(width);
    try {
      await page.goto(`${origin}/`);
      await page.getByLabel('Token').waitFor();
      await audit(page, `sign-in at ${width}px`);
      await page.screenshot({ path: join(screenshots, `sign-in-${width}.png`) });
      await page.getByLabel('Token').fill(await stack.token('admin'));
      await page.getByRole('button', { name: 'Sign in' }).click();
      for (const { name, path, ready } of pages()) {
        await go(page, path);
        if (ready) await page.getByRole('heading', { name: ready, exact: true }).first().waitFor();
        else await page.locator('.graphiql-container').waitFor();
        await page.getByRole('status').filter({ hasText: /^Loading/ }).waitFor({ state: 'detached' });
        await audit(page, `${name} at ${width}px`);
        await page.screenshot({ path: join(screenshots, `${name}-${width}.png`) });
      }
    } finally {
      await context.close();
    }
  });
});

describe('the network', () => {
  it('sent every request of every page to the stack’s own host, and broke no Content-Security-Policy', () => {
    expect(requested.length).toBeGreaterThan(20);
    const foreign = requested.filter((url) => new URL(url).host !== new URL(origin).host);
    expect(foreign).toEqual([]);
    expect(requested.some((url) => url.startsWith('ws://'))).toBe(true);
    expect(cspViolations).toEqual([]);
  });
});

/** Fails with the list of serious or critical axe-core violations on the page as it is now. */
async function audit(page: Page, where: string): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  const bad = results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} — ${violation.nodes.map((node) => node.target.join(' ')).slice(0, 5).join(', ')}`);
  expect(bad, where).toEqual([]);
}
