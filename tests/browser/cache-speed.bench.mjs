// What the book's Pyodide cache (worker.js, bookCache) changes, measured in Chromium and Firefox
// from loopback, in one run: the same book without it ("before": the bundle's call of bookCache
// taken out of a copy) and with it, interleaved, each repetition on a fresh origin (a new port:
// empty HTTP cache, Cache API and local storage). Figures: the first-ever Run, click to output;
// then a second page, Python started in the background (`mdpy:warm`), clicked as it opens, and
// the time its worker took to be ready. Both with the HTTP cache usable (max-age=600, as GitHub
// Pages) and with it out of play (no-store: as when it was evicted or has expired).
// A benchmark, not a test: `node --test` does not pick it up; run it with
// `cd tests/browser && node --test cache-speed.bench.mjs` (MDPY_BROWSER, MDPY_REPS).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { launch } from './lib/browsers.mjs';
import { RUNNER, SESSIONS, run } from './lib/runner-suite.mjs';

const REPS = Number(process.env.MDPY_REPS || 3);
const CALL = 'bookCache(m.indexURL, m.book).then(';

function withoutCache(root) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdpy-no-cache-'));
  fs.cpSync(root, dir, { recursive: true });
  const js = path.join(dir, '.mdbook-python/assets/mdbook-python.js');
  const text = fs.readFileSync(js, 'utf8');
  assert.ok(text.includes(CALL));
  fs.writeFileSync(js, text.replace(CALL, 'Promise.resolve().then('));
  return dir;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

for (const name of ['chromium', 'firefox'].filter((b) => [undefined, b].includes(process.env.MDPY_BROWSER))) {
  describe(`the Pyodide cache's speed in ${name}`, () => {
    let books;
    let browser;
    before(async () => {
      const root = buildBook();
      books = { before: withoutCache(root), after: root };
      browser = await launch(name);
    });
    after(async () => {
      if (browser) await browser.close();
      if (books) fs.rmSync(books.before, { recursive: true, force: true });
    });

    // A page with its toolbar (Firefox over BiDi now and then misses a load: then once more).
    const open = async (url) => {
      const page = await browser.newPage();
      await page.goto(url);
      const toolbar = () => page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 20000);
      await toolbar().catch(() => page.reload().then(toolbar));
      return page;
    };

    test('first-ever Run and a second page, without and with the cache', async (t) => {
      const ms = {};
      const add = (k, v) => (ms[k] = ms[k] || []).push(v);
      for (let rep = 0; rep < REPS; rep++) {
        for (const http of ['max-age', 'no-store']) {
          for (const variant of ['before', 'after']) {
            const server = await serve(books[variant], { headers: http === 'no-store' ? { 'Cache-Control': 'no-store' } : {} });
            try {
              let page = await open(server.url + 'runner.html');
              const first = await run(page, RUNNER.hello, 120000);
              add(`${variant} first-ever (${http})`, first.ms);
              if (process.env.MDPY_DEBUG) console.log(rep, http, variant, first.ms);
              // Time for a cache write to end before the page goes.
              await new Promise((r) => setTimeout(r, 1000));
              await page.close();
              page = await open(server.url + 'deeper/sessions.html');
              const second = await run(page, SESSIONS.first, 120000);
              assert.ok(second.state.out.length > 0);
              add(`${variant} second page (${http})`, second.ms);
              if (process.env.MDPY_DEBUG) console.log(rep, http, variant, 'second', second.ms);
              add(`${variant} second page's start (${http})`, await page.eval(() => window.MDPY_RUNNER.info().loadMs));
              await page.close();
            } finally {
              await server.close();
            }
          }
        }
      }
      for (const [k, v] of Object.entries(ms)) t.diagnostic(`${name} ${k}: median ${median(v)} ms of [${v.join(', ')}]`);
      for (const http of ['max-age', 'no-store']) {
        const b = median(ms[`before second page (${http})`]);
        const a = median(ms[`after second page (${http})`]);
        const f = median(ms[`after first-ever (${http})`]) / median(ms[`before first-ever (${http})`]);
        t.diagnostic(`${name} ${http}: second page after/before ${(a / b).toFixed(2)}; first-ever after/before ${f.toFixed(2)}`);
      }
    });
  });
}
