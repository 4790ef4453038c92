// Launches the system's browsers (never a downloaded one) behind one small page API:
// Chromium with playwright-core, Firefox ESR with puppeteer-core over WebDriver BiDi, and
// WebKit (WebKitGTK's MiniBrowser, Safari's engine: JavaScriptCore, no JSPI) with
// selenium-webdriver over classic WebDriver, on a private Xvfb display.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const CHROMIUM = process.env.MDPY_CHROMIUM || '/usr/bin/chromium';
const FIREFOX = process.env.MDPY_FIREFOX || '/usr/bin/firefox-esr';
const WEBKIT_DRIVER = process.env.MDPY_WEBKIT_DRIVER || '/usr/bin/WebKitWebDriver';
const MINIBROWSER = process.env.MDPY_MINIBROWSER || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const BROWSERS = ['chromium', 'firefox', 'webkit'];

/** A browser by name: {name, newPage({init}), close()}. */
export async function launch(name) {
  if (name === 'chromium') return launchChromium();
  if (name === 'firefox') return launchFirefox();
  if (name === 'webkit') return launchWebKit();
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

/** Start `argv` in its own process group; resolves once `ready(output)` gives a value
 * (at once without `ready`), with that value and a `stop()`. */
function daemon(argv, env, ready) {
  const child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${argv[0]} did not start: ${out}`)), 20000);
    const seen = (d) => {
      out += d;
      const value = ready ? ready(out) : true;
      if (value !== undefined) {
        clearTimeout(timer);
        resolve({ value, stop: () => { try { process.kill(-child.pid, 'SIGKILL'); } catch {} } });
      }
    };
    child.stdout.on('data', seen);
    child.stderr.on('data', seen);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${argv[0]} exited (${code}): ${out}`)); });
    if (!ready) child.on('spawn', () => seen(''));
  });
}

async function launchWebKit() {
  for (const f of [WEBKIT_DRIVER, MINIBROWSER]) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: apt-get install webkit2gtk-driver xvfb`);
  }
  const { Builder, By, Key } = await import('selenium-webdriver');
  // Xvfb picks a free display and writes its number on the descriptor we give it.
  const xvfb = await daemon(['Xvfb', '-displayfd', '1', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'],
    process.env, (out) => (/(?:^|\n)(\d+)\n/.exec(out) || [])[1]);
  const env = { ...process.env, DISPLAY: `:${xvfb.value}` };
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  let driverProc;
  try {
    driverProc = await daemon([WEBKIT_DRIVER, `--port=${port}`], env, null);
  } catch (e) {
    xvfb.stop();
    throw e;
  }
  const stopAll = () => { driverProc.stop(); xvfb.stop(); };
  const caps = {
    browserName: 'MiniBrowser',
    'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] },
  };
  const open = async () => {
    const deadline = Date.now() + 20000;
    for (;;) {
      try {
        return await new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities(caps).build();
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  };
  const driver = await open().catch((e) => { stopAll(); throw e; });
  await driver.manage().setTimeouts({ script: 120000 });
  const first = await driver.getWindowHandle();
  let pages = 0;
  let current = first;
  const on = async (handle) => {
    if (current !== handle) await driver.switchTo().window(handle);
    current = handle;
  };
  const KEYS = {
    Control: Key.CONTROL, Shift: Key.SHIFT, Enter: Key.ENTER, Tab: Key.TAB, Escape: Key.ESCAPE,
    ArrowLeft: Key.ARROW_LEFT, ArrowRight: Key.ARROW_RIGHT, ArrowUp: Key.ARROW_UP, ArrowDown: Key.ARROW_DOWN,
  };
  return {
    name: 'webkit',
    hosts: null,
    async newPage({ init } = {}) {
      if (init) throw new Error('WebKit pages take no init script (classic WebDriver has none)');
      // One browser, a window a page (the first page takes the first window).
      if (pages++ > 0) await driver.switchTo().newWindow('window');
      else await driver.switchTo().window(first);
      const handle = await driver.getWindowHandle();
      current = handle;
      const errors = [];
      // Uncaught errors are recorded in the page and collected with every evaluation.
      const watch = "if (!window.__mdpyErrors) { window.__mdpyErrors = []; "
        + "addEventListener('error', (e) => window.__mdpyErrors.push(String(e.message))); "
        + "addEventListener('unhandledrejection', (e) => window.__mdpyErrors.push(String(e.reason))); }";
      const evaluate = async (fn, arg) => {
        await on(handle);
        const [value, errs] = await driver.executeScript(
          `return (async () => { ${watch} const v = await (${fn})(arguments[0]); `
          + 'return [v === undefined ? null : v, window.__mdpyErrors]; })();', arg);
        errors.splice(0, errors.length, ...errs);
        return value;
      };
      let url = '';
      const page = {
        raw: driver,
        errors,
        async goto(u) {
          await on(handle);
          await driver.get(u);
          url = await driver.getCurrentUrl();
          await driver.executeScript(watch);
        },
        url: () => url,
        eval: evaluate,
        async waitFor(fn, arg, timeout = 30000) {
          const deadline = Date.now() + timeout;
          for (;;) {
            const v = await evaluate(fn, arg);
            if (v) return v;
            if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeout} ms: ${fn}`);
            await new Promise((r) => setTimeout(r, 25));
          }
        },
        async press(keys) {
          await on(handle);
          const parts = keys.split('+').map((k) => KEYS[k] || k);
          const key = parts.pop();
          let a = driver.actions();
          for (const m of parts) a = a.keyDown(m);
          a = a.keyDown(key).keyUp(key);
          for (const m of parts.reverse()) a = a.keyUp(m);
          await a.perform();
          url = await driver.getCurrentUrl();
        },
        media: () => { throw new Error('no media emulation in classic WebDriver'); },
        async clickIn(i, sel) {
          await on(handle);
          const snippets = await driver.findElements(By.css('div.mdpy-snippet'));
          const h = await snippets[i].findElements(By.css(sel));
          if (!h.length) throw new Error(`no ${sel} in snippet ${i}`);
          await h[0].click();
        },
        async focus(sel) {
          await on(handle);
          await driver.executeScript('document.querySelector(arguments[0]).focus()', sel);
        },
        async click(sel) {
          await on(handle);
          await (await driver.findElement(By.css(sel))).click();
        },
        async type(text) {
          await on(handle);
          await driver.actions().sendKeys(text).perform();
        },
        async reload() {
          await on(handle);
          await driver.navigate().refresh();
          await driver.executeScript(watch);
        },
        async close() {
          const handles = await driver.getAllWindowHandles();
          if (handles.length > 1) {
            await on(handle);
            await driver.close();
            current = (await driver.getAllWindowHandles())[0];
            await driver.switchTo().window(current);
          } else {
            await on(handle);
            await driver.get('about:blank');
          }
        },
      };
      return page;
    },
    async close() {
      await driver.quit().catch(() => {});
      stopAll();
    },
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
    /** A real mouse click on the first element matching `sel`. */
    click: (sel) => page.click(sel),
    /** Type `text` with the keyboard into the focused element. */
    type: (text) => page.keyboard.type(text),
    reload: () => page.reload({ waitUntil: 'load' }),
    close: () => page.close(),
  };
}
