// Rich output in headless Chromium, on tests/fixtures/rich-book built with its virtual environment
// (matplotlib, pandas and tabulate from PyPI, installed by the fixture's `setup`): build-time figures
// and tables, hostile HTML that must run nothing (no dialog, no console error, nothing fetched), the
// same displays from a Run, and a pure-Python wheel installed with micropip from book.toml's
// `packages`. No network: Pyodide is the npm package, and what it lacks is served on loopback:
// micropip's wheel (with the lock file's hash for it) and tabulate's, both from `pip download`.
// Pyodide's own compiled packages (numpy, matplotlib, pandas) are not in the npm package, so the
// browser side of figures and DataFrames is not run here; display() is, with objects of our own.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { PYODIDE_DIR, REPO, buildBook, serve } from './lib/book.mjs';
import { launch } from './lib/browsers.mjs';
import { run } from './lib/runner-suite.mjs';

const FIXTURE = path.join(REPO, 'tests/fixtures/rich-book');

/** The pyodide-lock.json and wheels the server adds to the npm package and the book. */
function extraFiles() {
  const wheels = path.join(FIXTURE, '.wheels');
  const whl = (prefix) => {
    const name = fs.readdirSync(wheels).find((f) => f.startsWith(prefix) && f.endsWith('.whl'));
    if (!name) throw new Error(`no ${prefix} wheel in ${wheels}: run ${path.join(FIXTURE, 'setup')}`);
    return [name, fs.readFileSync(path.join(wheels, name))];
  };
  const [micropip, micropipBytes] = whl('micropip-');
  const [tabulate, tabulateBytes] = whl('tabulate-');
  const lock = JSON.parse(fs.readFileSync(path.join(PYODIDE_DIR, 'pyodide-lock.json'), 'utf8'));
  // What a self-hosted full Pyodide holds: micropip's wheel, listed with its own hash.
  Object.assign(lock.packages.micropip, {
    file_name: micropip,
    sha256: crypto.createHash('sha256').update(micropipBytes).digest('hex'),
  });
  return {
    '/pyodide/pyodide-lock.json': JSON.stringify(lock),
    [`/pyodide/${micropip}`]: micropipBytes,
    [`/wheels/${tabulate}`]: tabulateBytes,
  };
}

/** An 8-bit RGB(A) PNG, as Chromium's screenshots are: {at(x, y) -> [r, g, b], darkest() -> [x, y]}. */
function decodePng(buf) {
  const w = buf.readUInt32BE(16);
  const h = buf.readUInt32BE(20);
  const n = buf[25] === 6 ? 4 : 3;
  assert.ok(buf[24] === 8 && (buf[25] === 6 || buf[25] === 2) && buf[28] === 0, 'an 8-bit, non-interlaced RGB(A) PNG');
  const idat = [];
  for (let o = 8; o < buf.length; ) {
    const len = buf.readUInt32BE(o);
    if (buf.toString('latin1', o + 4, o + 8) === 'IDAT') idat.push(buf.subarray(o + 8, o + 8 + len));
    o += 12 + len;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const px = Buffer.alloc(w * h * n);
  const stride = w * n;
  for (let y = 0; y < h; y++) {
    const f = raw[y * (stride + 1)];
    for (let i = 0; i < stride; i++) {
      const v = raw[y * (stride + 1) + 1 + i];
      const a = i >= n ? px[y * stride + i - n] : 0;
      const b = y ? px[(y - 1) * stride + i] : 0;
      const c = i >= n && y ? px[(y - 1) * stride + i - n] : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const pred = [0, a, b, (a + b) >> 1, pa <= pb && pa <= pc ? a : pb <= pc ? b : c][f];
      px[y * stride + i] = (v + pred) & 255;
    }
  }
  const at = (x, y) => [...px.subarray((y * w + x) * n, (y * w + x) * n + 3)];
  return {
    at,
    darkest() {
      let best = [0, 0];
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        if (at(x, y).reduce((s, v) => s + v) < at(...best).reduce((s, v) => s + v)) best = [x, y];
      }
      return best;
    },
  };
}

/** What the i-th snippet's output area of one origin holds. */
const outputOf = ([i, origin]) => {
  const o = document.querySelectorAll('div.mdpy-snippet')[i].querySelector(`.mdpy-output[data-origin="${origin}"]`);
  if (!o) return null;
  const handlers = [...o.querySelectorAll('*')].flatMap((e) => [...e.attributes].map((a) => a.name)).filter((n) => /^on/i.test(n));
  return {
    text: [...o.querySelectorAll('pre > code')].map((c) => c.textContent),
    images: [...o.querySelectorAll('img')].map((m) => ({
      alt: m.alt, type: m.src.slice(0, m.src.indexOf(';')), decoded: m.complete && m.naturalWidth > 0,
    })),
    cells: [...o.querySelectorAll('.mdpy-html td, .mdpy-html th')].map((c) => c.textContent.trim()),
    order: [...o.children].slice(1).map((e) => e.tagName.toLowerCase()),
    scripts: o.querySelectorAll('script, iframe, object, embed, style').length,
    handlers,
    javascriptLinks: [...o.querySelectorAll('a')].filter((a) => /^\s*javascript:/i.test(a.getAttribute('href') || '')).length,
  };
};

describe('rich output in chromium', () => {
  let root;
  let server;
  let browser;
  before(async () => {
    execFileSync(path.join(FIXTURE, 'setup'), { stdio: ['ignore', 'inherit', 'inherit'] });
    root = buildBook('rich-book');
    server = await serve(root, { files: extraFiles() });
    browser = await launch('chromium');
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  /** A page that records dialogs and console errors (uncaught exceptions are in page.errors). */
  async function open(chapter) {
    const page = await browser.newPage();
    page.dialogs = [];
    page.consoleErrors = [];
    page.raw.on('dialog', (d) => {
      page.dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    page.raw.on('console', (m) => m.type() === 'error' && page.consoleErrors.push(m.text()));
    await page.goto(server.url + chapter);
    await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
    return page;
  }

  test('a line plot is an embedded SVG image with its title as alt text, between the lines printed around it', async () => {
    const page = await open('figures.html');
    const plot = await page.eval(outputOf, [0, 'build']);
    assert.deepEqual(plot.text, ['plotted 4 months\n']);
    assert.deepEqual(plot.images, [{ alt: 'Croissants sold per month', type: 'data:image/svg+xml', decoded: true }]);
    const shown = await page.eval(outputOf, [1, 'build']);
    assert.deepEqual(shown.order, ['pre', 'img', 'pre'], 'before, the figure, after');
    assert.deepEqual(shown.text, ['before\n', 'after\n']);
    assert.equal(shown.images[0].alt, 'Squares and cubes, 1 to 5', 'the block\'s alt= attribute');
    assert.equal((await page.eval(outputOf, [2, 'build'])).images[0].alt, 'Figure 1');
    const classes = await page.eval(() => [...document.querySelectorAll('main pre > code[class]')].map((c) => c.className));
    assert.ok(classes.every((c) => !/alt|Squares/.test(c)), `alt= is no CSS class: ${classes}`);
    assert.deepEqual(page.errors, []);
    await page.close();
  });

  test('figures are readable on every theme: on coal, the page\'s background shows through and the lines turn light', async (t) => {
    const page = await open('figures.html');
    const pixels = async () => {
      await page.raw.evaluate(() => document.querySelector('img.mdpy-figure').scrollIntoView());
      return decodePng(await page.raw.locator('img.mdpy-figure').first().screenshot());
    };
    // The theme's page background (mdBook's --bg), as rgb.
    const bg = () => page.eval(() => {
      const d = document.body.appendChild(document.createElement('div'));
      d.style.background = 'var(--bg)';
      const rgb = getComputedStyle(d).backgroundColor.match(/\d+/g).slice(0, 3).map(Number);
      d.remove();
      return rgb;
    });
    const light = await pixels();
    assert.deepEqual(light.at(2, 2), await bg(), 'light: the page\'s white');
    // The theme picker, as a reader uses it: the figure changes with it, no reload.
    await page.raw.click('#mdbook-theme-toggle');
    await page.raw.click('#mdbook-theme-coal');
    await page.waitFor(() => document.documentElement.classList.contains('coal'), null, 5000);
    const coal = await pixels();
    const page$bg = await bg();
    t.diagnostic(`coal: page ${page$bg}, figure corner ${coal.at(2, 2)}`);
    assert.deepEqual(coal.at(2, 2), page$bg, 'coal: the figure\'s background is the page\'s');
    // The axes' black lines and labels are light on coal: the darkest pixel of the light theme
    // (a black spine or label) turns into a light one at the same place.
    const [x, y] = light.darkest();
    const lum = ([r, g, b]) => (r + g + b) / 3;
    t.diagnostic(`darkest pixel at ${x},${y}: ${light.at(x, y)} on light, ${coal.at(x, y)} on coal`);
    assert.ok(lum(light.at(x, y)) < 80 && lum(coal.at(x, y)) > 170, 'dark lines turn light on coal');
    await page.close();
  });

  test('a pandas DataFrame is an HTML table; print() and display() of plain objects stay text', async () => {
    const page = await open('tables.html');
    const df = await page.eval(outputOf, [0, 'build']);
    assert.deepEqual(df.text, ['rows: 2\n']);
    assert.deepEqual(df.cells, ['', 'city', 'sold', '0', 'Lyon', '120', '1', 'Nantes', '85']);
    assert.deepEqual((await page.eval(outputOf, [1, 'build'])).text, ['   x\n0  1\n1  2\n']);
    assert.deepEqual((await page.eval(outputOf, [2, 'build'])).text, ["[1, 2, 3]\n'text'\n"]);
    await page.close();
  });

  test('HTML, SVG and Markdown that try to run scripts run nothing, at build time and after a Run', async (t) => {
    const page = await open('hostile.html');
    const before = server.requests.length;
    for (const i of [0, 1, 2]) {
      const o = await page.eval(outputOf, [i, 'build']);
      assert.deepEqual([o.scripts, o.handlers, o.javascriptLinks], [0, [], 0], `build output ${i}`);
    }
    assert.deepEqual((await page.eval(outputOf, [0, 'build'])).cells, ['name', 'evil']);
    assert.equal((await page.eval(outputOf, [1, 'build'])).images[0].type, 'data:image/svg+xml');
    // Give every trap its chance: hover the paragraph, click the link.
    await page.raw.hover('.mdpy-output[data-origin="build"] .mdpy-html p');
    await page.raw.click('.mdpy-output[data-origin="build"] .mdpy-html a');
    for (const i of [0, 1, 2]) {
      const { ms } = await run(page, i);
      t.diagnostic(`hostile block ${i} run in the browser: ${ms} ms`);
      const o = await page.eval(outputOf, [i, 'browser']);
      assert.deepEqual([o.scripts, o.handlers, o.javascriptLinks], [0, [], 0], `browser output ${i}`);
      if (i === 0) {
        assert.deepEqual(o.cells, ['name', 'evil']);
        assert.deepEqual(o.text, ['displayed\n']);
      }
      if (i === 1) assert.deepEqual(o.images.map((m) => [m.type, m.alt, m.decoded]), [['data:image/svg+xml', 'Drawing', true]]);
    }
    await page.raw.hover('.mdpy-output[data-origin="browser"] .mdpy-html p');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(page.dialogs, [], 'no alert() ran');
    assert.deepEqual(page.consoleErrors, [], 'no console error');
    assert.deepEqual(page.errors, []);
    const fetched = server.requests.slice(before).filter((p) => /(^|\/)x$/.test(p));
    assert.deepEqual(fetched, [], 'the <img src=x> was never loaded');
    await page.close();
  });

  test('a pure-Python wheel listed in `packages` is installed with micropip from loopback and imported', async (t) => {
    const page = await open('wheel.html');
    const build = (await page.eval(outputOf, [0, 'build'])).text;
    const { state, ms } = await run(page, 0, 120000);
    t.diagnostic(`first Run, Pyodide + micropip + tabulate: ${ms} ms`);
    assert.equal(state.out, build[0], 'the browser prints what the build printed');
    assert.equal(state.status.startsWith('Done'), true, state.status);
    const asked = server.requests.filter((p) => /\.whl$/.test(p));
    assert.deepEqual(asked.map((p) => p.replace(/-[\d.]+-py3-none-any/, '')), ['/pyodide/micropip.whl', '/wheels/tabulate.whl']);
    const foreign = [...browser.hosts].filter((h) => h !== new URL(server.url).origin && !/^(blob|data):|^null$/.test(h));
    assert.deepEqual(foreign, [], 'nothing but loopback');
    await page.close();
  });
});
