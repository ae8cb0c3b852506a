// The dashboard in headless Chromium against a real vserverd on loopback, with real busybox guests.
// Screenshots of each page go to test-artifacts/dashboard/.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM, http, startDaemon, stopDaemon } from '../helpers/dashboard.js';
import { IS_ROOT, TestRoot } from '../helpers/host.js';

const SHOTS = join(__dirname, '../../test-artifacts/dashboard');

describe.skipIf(!IS_ROOT || !HAVE_CHROMIUM)('the dashboard in a browser', () => {
  const t = new TestRoot('dash');
  let daemon: ChildProcess | undefined;
  let base = '';
  let browser: Browser | undefined;
  let page: Page;
  let loginUrl = '';

  /** Whether this daemon has a route (the routes other parts of the API bring); false on "no such route". */
  const hasRoute = async (method: string, path: string) => {
    const r = await http(
      base,
      method,
      path,
      { cookie: await cookie(), 'x-vserver-csrf': csrf, origin: base },
      method === 'GET' ? undefined : {},
    );
    return !(r.status === 404 && typeof r.json?.error === 'string' && r.json.error.startsWith('no such route'));
  };
  let csrf = '';
  const cookie = async () => (await page.context().cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    for (const g of ['g1', 'g2', 'g3']) await t.ok(['build', g]);
    ({ daemon, base } = await startDaemon(t));
    loginUrl = (await t.ok(['dashboard'])).split('\n')[0]!;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('dialog', (d) => void d.accept());
  });
  afterAll(async () => {
    await browser?.close();
    await stopDaemon(daemon);
    await t.cleanup();
  });

  it('logs in with the one-time link and lists the guests; the link does not work twice', async () => {
    expect(loginUrl).toMatch(new RegExp(`^${base}/dashboard/#token=[A-Za-z0-9_-]+$`));
    await page.goto(loginUrl);
    await page.locator('tr[data-guest="g3"]').waitFor();
    expect(await page.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-guest')))).toEqual(['g1', 'g2', 'g3']);
    // the token left the address bar; the cookie is HttpOnly and SameSite=Strict
    expect(page.url()).not.toContain('token=');
    const c = (await page.context().cookies()).find((x) => x.name === 'vserver_session')!;
    expect(c).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    csrf = await page.evaluate(async () => ((await (await fetch('/1.0/dashboard/session')).json()) as { csrf: string }).csrf);
    await shot('guests');

    const other = await browser!.newPage();
    await other.goto(loginUrl);
    await other.getByText('already used or has expired').waitFor();
    await other.close();
  });

  it('refuses API requests on TCP without the session cookie, and state changes without the CSRF header or from another origin', async () => {
    const none = await http(base, 'GET', '/1.0/guests');
    expect(none).toMatchObject({ status: 401, json: { code: 'UNAUTHORIZED', hint: expect.stringContaining('vserver dashboard') } });
    expect((await http(base, 'GET', '/1.0/guests', { cookie: 'vserver_session=forged' })).status).toBe(401);
    const withCookie = { cookie: await cookie() };
    // control: the same cookie reads, and with the header and our origin it changes state
    expect((await http(base, 'GET', '/1.0/guests', withCookie)).status).toBe(200);
    const body = { action: 'stop', names: ['g3'] };
    expect((await http(base, 'PUT', '/1.0/guests/state', { ...withCookie, origin: base }, body)).json).toMatchObject({
      code: 'NOT_PERMITTED',
    });
    expect(
      (await http(base, 'PUT', '/1.0/guests/state', { ...withCookie, 'x-vserver-csrf': csrf, origin: 'http://evil.example' }, body)).json,
    ).toMatchObject({ code: 'NOT_PERMITTED', error: expect.stringContaining('cross-site') });
    expect(
      (await http(base, 'PUT', '/1.0/guests/state', { ...withCookie, 'x-vserver-csrf': csrf, origin: base }, body)).json,
    ).toMatchObject({ failed: 0 });
    // login tokens are made over the Unix socket only
    expect((await http(base, 'POST', '/1.0/dashboard/tokens', { ...withCookie, 'x-vserver-csrf': csrf, origin: base })).status).toBe(403);
  });

  it('starts a guest from its page; its state and charts update', async () => {
    await page.goto(`${base}/dashboard/#/guest/g1`);
    await page.locator('[data-testid=guest-state][data-state=stopped]').waitFor();
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('[data-testid=guest-state][data-state=running]').waitFor({ timeout: 30_000 });
    expect((await t.cli(['running', 'g1'])).code).toBe(0);
    // the history is sampled every 5 s; the first sample only sets the counters the rates start from
    await page.locator('.charts:not([data-points="0"])').waitFor({ timeout: 30_000 });
    expect(Number(await page.locator('.charts').getAttribute('data-points'))).toBeGreaterThan(0);
    await page.locator('.chart canvas').first().waitFor();
    await shot('guest');
  });

  it('runs a console: hostname prints the guest name, and the terminal resizes with the window', async (ctx) => {
    if (!(await hasRoute('POST', '/1.0/guests/g1/exec')))
      ctx.skip(true, 'needs POST /1.0/guests/NAME/exec and the exec WebSocket (branch events)');
    await page.goto(`${base}/dashboard/#/guest/g1/console`);
    await page.locator('[data-testid=console-state][data-state=connected]').waitFor({ timeout: 20_000 });
    await page.locator('[data-testid=terminal]').click();
    await page.keyboard.type('hostname\n');
    await expect.poll(() => page.locator('.xterm-rows').innerText(), { timeout: 10_000 }).toMatch(/^g1$/m);
    await page.keyboard.type('stty size\n');
    const size = async () => [...(await page.locator('.xterm-rows').innerText()).matchAll(/^(\d+) (\d+)$/gm)].at(-1)?.slice(1).map(Number);
    await expect.poll(size, { timeout: 10_000 }).toBeDefined();
    const before = (await size())!;
    await page.setViewportSize({ width: 900, height: 600 });
    await page.waitForTimeout(300);
    await page.keyboard.type('clear; stty size\n');
    await expect.poll(async () => (await size())?.[1], { timeout: 10_000 }).toBeLessThan(before[1]!);
    await shot('console');
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  it('shows a bad config value next to its line and leaves the file unchanged; a good one saves', async (ctx) => {
    if (!(await hasRoute('GET', '/1.0/guests/g2/config')))
      ctx.skip(true, 'needs GET/PUT /1.0/guests/NAME/config with ETag (branch cfgedit)');
    const file = t.paths.guestConfig('g2');
    const before = readFileSync(file, 'utf8');
    await page.goto(`${base}/dashboard/#/guest/g2/config`);
    const area = page.getByLabel('TOML configuration of g2');
    await area.waitFor();
    await area.fill(`${before.trimEnd()}\nstop_timeout = 999999\n`);
    await page.getByRole('button', { name: 'Save' }).click();
    const bad = page.locator('[data-testid=config-outcome][data-kind=invalid]');
    await bad.waitFor();
    expect(await bad.locator('[data-line]').innerText()).toMatch(/stop_timeout|86400/);
    expect(readFileSync(file, 'utf8')).toBe(before);
    await shot('config-error');
    await area.fill(`${before.trimEnd()}\nstop_timeout = 5\n`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.locator('[data-testid=config-outcome][data-kind=saved]').waitFor();
    expect(readFileSync(file, 'utf8')).toMatch(/^stop_timeout = 5$/m);
  });

  it('stops two guests at once from the list, each row with its result', async () => {
    await t.ok(['start', 'g2', 'g3']);
    await page.goto(`${base}/dashboard/#/guests`);
    for (const g of ['g2', 'g3']) {
      await page.locator(`tr[data-guest="${g}"] [data-state=running]`).waitFor({ timeout: 20_000 });
      await page.getByLabel(`select ${g}`).check();
    }
    await page.getByRole('button', { name: 'Stop selected' }).click();
    for (const g of ['g2', 'g3']) {
      await page.locator(`tr[data-guest="${g}"] td.ok[data-result^="stop"]`).waitFor({ timeout: 60_000 });
      await page.locator(`tr[data-guest="${g}"] [data-state=stopped]`).waitFor({ timeout: 20_000 });
      expect((await t.cli(['running', g])).code).toBe(1);
    }
    expect((await t.cli(['running', 'g1'])).code).toBe(0);
    await shot('guests-bulk-stop');
  });

  it('shows the build, host, limits and log pages', async () => {
    await page.goto(`${base}/dashboard/#/host`);
    await page.getByRole('cell', { name: 'busybox', exact: true }).waitFor();
    await shot('host');
    await page.goto(`${base}/dashboard/#/build`);
    await page.getByLabel('Name', { exact: true }).waitFor();
    await shot('build');
    await page.goto(`${base}/dashboard/#/guest/g1/limits`);
    await page.getByLabel('Value').fill('64M');
    await page.getByRole('button', { name: 'Apply' }).click();
    await expect.poll(() => page.locator('[data-testid=limit-result]').innerText()).toMatch(/memory.max = 64M: in force now/);
    expect(await t.ok(['limit', 'g1'])).toMatch(/64/);
    await shot('limits');
    expect(await page.getByTestId('limits').innerText()).toMatch(/memory\.max\s+64M/);
    await page.goto(`${base}/dashboard/#/guest/g1`);
    await expect.poll(() => page.locator('.status dl').innerText(), { timeout: 10_000 }).toMatch(/of 64\.0M/);
    // the same rows as `vserver status` (its figures move between the two reads, its labels do not)
    const cliLabels = (await t.ok(['status', 'g1']))
      .split('\n')
      .filter((l) => l.startsWith('  '))
      .map((l) => l.slice(2, 12).trim());
    const shown = await page.locator('.status dl dt').allInnerTexts();
    expect(shown.filter((k) => !['state', 'mark', 'warning'].includes(k))).toEqual(cliLabels);
    await page.goto(`${base}/dashboard/#/guest/g1/log`);
    await page.getByLabel('log of g1').waitFor();
    await shot('log');
  });

  it('builds a busybox guest from the build page and shows it in the list', async (ctx) => {
    if (!(await hasRoute('POST', '/1.0/guests'))) ctx.skip(true, 'needs POST /1.0/guests with operations (branch apiauth)');
    await page.goto(`${base}/dashboard/#/build`);
    await page.getByLabel('Name', { exact: true }).fill('Bad_Name');
    await page.getByRole('button', { name: 'Build' }).click();
    await page.getByRole('alert').getByText('lower-case letters').waitFor();
    await page.getByLabel('Name', { exact: true }).fill('g4');
    await page.getByRole('button', { name: 'Build' }).click();
    await page.getByRole('link', { name: 'g4' }).waitFor({ timeout: 60_000 });
    expect(JSON.parse(await t.ok(['list', '--json'])).map((g: { name: string }) => g.name)).toContain('g4');
  });

  it('follows the dark system theme', async () => {
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${base}/dashboard/#/guest/g1`);
    await page.locator('.chart canvas').first().waitFor();
    const bg = await page.evaluate('getComputedStyle(document.body).backgroundColor');
    expect(bg).toBe('rgb(22, 24, 28)');
    // the focused control shows a ring
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await shot('guest-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  });

  it('says what to do when the daemon is gone', async () => {
    await page.goto(`${base}/dashboard/#/guests`);
    await page.locator('tr[data-guest="g1"]').waitFor();
    await stopDaemon(daemon);
    daemon = undefined;
    // the next refresh (every 5 s) finds nobody answering
    const banner = page.locator('.banner');
    await banner.waitFor({ timeout: 15_000 });
    expect(await banner.innerText()).toMatch(/cannot reach vserverd at http:\/\/127\.0\.0\.1:\d+ — check that vserverd runs/);
    await shot('unreachable');
    const cli = await t.cli(['dashboard']);
    expect({ code: cli.code, err: cli.stderr }).toEqual({
      code: 7,
      err: expect.stringMatching(/vserverd does not run[\s\S]*vserverd --foreground --listen/),
    });
    await t.ok(['stop', 'g1', '--timeout', '1']);
    expect(await t.leaks()).toEqual([]);
  });
});
