// Browser tests: the built UI in Debian's Chromium, with the Tauri IPC mocked in the page.
// Run after `npm run build`; `make test-browser` does both.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { preview } from 'vite';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.OUTPOST_CHROMIUM ?? '/usr/bin/chromium';
let server;
let browser;
let baseUrl;

before(async () => {
  server = await preview({ preview: { port: 0, host: '127.0.0.1', strictPort: false }, logLevel: 'silent' });
  baseUrl = server.resolvedUrls.local[0];
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-gpu'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the app with `window.__TAURI_INTERNALS__.invoke` answering from `handlers`. */
async function openApp(handlers) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.addInitScript((serialized) => {
    const table = JSON.parse(serialized);
    window.__OUTPOST_CALLS__ = [];
    window.__TAURI_INTERNALS__ = {
      transformCallback: () => 0,
      invoke: async (cmd, args) => {
        window.__OUTPOST_CALLS__.push(cmd);
        const entry = table[cmd];
        if (!entry) throw { kind: 'unknownCommand', message: cmd };
        if (entry.error) throw entry.error;
        return entry.ok;
      },
    };
  }, JSON.stringify(handlers));
  await page.goto(baseUrl);
  return { page, errors };
}

const INFO = {
  version: '9.8.7-mock',
  dataDir: '/var/lib/outpost/clinic-a',
  buildFeatures: ['debug-build', 'target-linux'],
  status: { profile: 'notCreated', dataDirWritable: true },
};

test('the frame renders the version from app_info, with navigation and status', async () => {
  const { page, errors } = await openApp({ app_info: { ok: INFO } });
  await page.getByTestId('build-title').waitFor();
  assert.equal(await page.getByTestId('build-title').textContent(), 'Outpost 9.8.7-mock (debug build)');
  assert.equal(await page.getByTestId('status-version').textContent(), 'v9.8.7-mock');
  assert.match(await page.getByTestId('status-profile').textContent(), /No profile/);
  assert.deepEqual(await page.evaluate(() => window.__OUTPOST_CALLS__), ['app_info']);

  // Navigation works from the keyboard and shows the core's data directory on About.
  await page.getByTestId('nav-about').focus();
  await page.keyboard.press('Enter');
  assert.equal(await page.getByTestId('app-data-dir').textContent(), '/var/lib/outpost/clinic-a');
  assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'About');

  // A section this build does not have says so instead of pretending.
  await page.getByTestId('nav-patients').click();
  assert.match(await page.getByTestId('pending').textContent(), /Not in this build yet/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a read-only data directory shows as a problem in the status bar', async () => {
  const { page } = await openApp({ app_info: { ok: { ...INFO, status: { profile: 'locked', dataDirWritable: false } } } });
  const storage = page.getByTestId('status-storage');
  await storage.waitFor();
  assert.equal((await storage.textContent()).trim(), 'Storage read-only');
  assert.match(await storage.getAttribute('class'), /problem/);
  assert.match(await page.getByTestId('status-profile').textContent(), /Locked/);
  await page.close();
});

test('a typed core error is shown, not swallowed', async () => {
  const { page } = await openApp({ app_info: { error: { kind: 'dataDir', message: 'permission denied' } } });
  const alert = page.getByTestId('load-error');
  await alert.waitFor();
  assert.match(await alert.textContent(), /dataDir: permission denied/);
  await page.close();
});
