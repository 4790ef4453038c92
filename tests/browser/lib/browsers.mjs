// Launches the system's browsers (never a downloaded one) behind one small page API:
// Chromium with playwright-core, Firefox ESR with puppeteer-core over WebDriver BiDi.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.MDPY_CHROMIUM || '/usr/bin/chromium';
const FIREFOX = process.env.MDPY_FIREFOX || '/usr/bin/firefox-esr';
export const BROWSERS = ['chromium', 'firefox'];

/** A browser by name: {name, newPage({init}), close()}. */
export async function launch(name) {
  if (name === 'chromium') return launchChromium();
  if (name === 'firefox') return launchFirefox();
  throw new Error(`unknown browser ${name}`);
}

async function launchChromium() {
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mdpy-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  const hosts = new Set();
  context.on('request', (r) => hosts.add(new URL(r.url()).origin));
  for (const p of context.pages()) await p.close();
  return {
    name: 'chromium',
    hosts, // every origin any page or worker asked for
    async newPage({ init } = {}) {
      const page = await context.newPage();
      if (init) await page.addInitScript(init);
      return wrap(page, {
        waitFor: (fn, arg, timeout) => page.waitForFunction(fn, arg, { timeout, polling: 25 }),
        press: (keys) => page.keyboard.press(keys),
        media: (m) => page.emulateMedia({ media: m }),
      });
    },
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

async function launchFirefox() {
  const puppeteer = (await import('puppeteer-core')).default;
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
    extraPrefsFirefox: {
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
      'toolkit.telemetry.enabled': false,
      'app.update.enabled': false,
    },
  });
  return {
    name: 'firefox',
    hosts: null,
    async newPage({ init } = {}) {
      const page = await browser.newPage();
      if (init) await page.evaluateOnNewDocument(init);
      return wrap(page, {
        waitFor: (fn, arg, timeout) => page.waitForFunction(fn, { timeout, polling: 25 }, arg),
        async press(keys) {
          const parts = keys.split('+');
          const key = parts.pop();
          for (const m of parts) await page.keyboard.down(m);
          await page.keyboard.press(key);
          for (const m of parts.reverse()) await page.keyboard.up(m);
        },
        media: (m) => page.emulateMediaType(m),
      });
    },
    close: () => browser.close(),
  };
}

function wrap(page, own) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e && e.message || e)));
  return {
    raw: page,
    errors, // uncaught exceptions in the page
    goto: (url) => page.goto(url, { waitUntil: 'load' }),
    url: () => page.url(),
    eval: (fn, arg) => page.evaluate(fn, arg),
    waitFor: (fn, arg, timeout = 30000) => own.waitFor(fn, arg, timeout),
    press: own.press,
    media: own.media,
    /** Click `sel` inside the i-th div.mdpy-snippet of the page (a real mouse click). */
    async clickIn(i, sel) {
      const snippets = await page.$$('div.mdpy-snippet');
      const h = await snippets[i].$(sel);
      if (!h) throw new Error(`no ${sel} in snippet ${i}`);
      await h.click();
    },
    async focus(sel) {
      await page.focus(sel);
    },
    close: () => page.close(),
  };
}
