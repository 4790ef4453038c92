// Pyodide's files from the book's own Cache API cache (worker.js, bookCache), in Chromium,
// Firefox and WebKit. The server answers `Cache-Control: no-store`, so the browser's HTTP cache
// never serves them: a file not asked for again came from the Cache API.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PYODIDE_DIR, buildBook, serve } from './lib/book.mjs';
import { BROWSERS, launch } from './lib/browsers.mjs';
import { RUNNER, SESSIONS, run } from './lib/runner-suite.mjs';

const NO_STORE = { 'Cache-Control': 'no-store' };
const asked = (server, file) => server.requests.filter((p) => p.endsWith('/pyodide/' + file)).length;
// This origin's caches: [[name, [URL, ...]], ...].
const cachesOf = () => (typeof caches === 'undefined' ? null : caches.keys().then((ks) => Promise.all(
  ks.map(async (k) => [k, (await (await caches.open(k)).keys()).map((r) => r.url)]))));

// The wasm's copy is written as it streams in, and may end a little after the Run.
// (Polled from here: waitFor would take the promise itself for a yes.)
async function stored(page, url) {
  for (const end = Date.now() + 30000; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) {
    if (await page.eval((u) => typeof caches === 'undefined' || caches.match(u).then((r) => !!r), url)) return;
  }
  throw new Error(`${url} not in the cache after 30 s`);
}

// Two copies of the book at /a/ and /b/ of one origin, each with its own pyodide/ folder.
function twoBooks(root) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdpy-two-books-'));
  for (const b of ['a', 'b']) {
    fs.cpSync(root, path.join(dir, b), { recursive: true });
    fs.symlinkSync(PYODIDE_DIR, path.join(dir, b, 'pyodide'));
  }
  return dir;
}

// MDPY_BROWSER=chromium: one browser only.
for (const name of BROWSERS.filter((b) => [undefined, b].includes(process.env.MDPY_BROWSER))) {
  describe(`the book's Pyodide cache in ${name}`, () => {
    let root;
    let server;
    let browser;
    const lock = {};
    before(async () => {
      root = buildBook();
      server = await serve(root, { headers: NO_STORE, files: lock });
      browser = await launch(name);
    });
    after(async () => {
      if (browser) await browser.close();
      if (server) await server.close();
    });
    const open = async (url) => {
      const page = await browser.newPage();
      await page.goto(url);
      await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 30000);
      return page;
    };

    test('after a first Run, a second page takes Pyodide from the cache; a new lock file, fresh files', async (t) => {
      let page = await open(server.url + 'runner.html');
      const first = await run(page, RUNNER.hello);
      assert.equal(first.state.status.slice(0, 4), 'Done');
      await stored(page, `${server.url}pyodide/pyodide.asm.wasm`);
      const held = await page.eval(cachesOf);
      await page.close();
      if (held === null) {
        // No Cache API on this origin: Pyodide came from the network, and Run worked.
        t.diagnostic(`${name}: no Cache API on ${server.url}; Run works without it`);
        return;
      }
      assert.equal(held.length, 1, JSON.stringify(held));
      const [key, urls] = held[0];
      assert.ok(key.startsWith(`mdpy ${server.url} `), key);
      for (const f of ['pyodide.asm.wasm', 'python_stdlib.zip', 'pyodide-lock.json']) {
        assert.ok(urls.includes(`${server.url}pyodide/${f}`), `${f} cached: ${urls}`);
      }
      assert.equal(asked(server, 'pyodide.asm.wasm'), 1);

      // A second page (started in the background) asks the network for the lock file only.
      page = await open(server.url + 'deeper/sessions.html');
      const second = await run(page, SESSIONS.first);
      assert.ok(second.state.out.length > 0);
      await page.close();
      assert.equal(asked(server, 'pyodide.asm.wasm'), 1, 'the wasm came from the cache');
      assert.equal(asked(server, 'python_stdlib.zip'), 1, 'the standard library came from the cache');
      assert.equal(asked(server, 'pyodide-lock.json'), 2, 'the lock file is always asked for');

      // Another release at the same URLs (here: a lock file of other bytes): fresh files, old cache gone.
      lock['/pyodide/pyodide-lock.json'] = fs.readFileSync(path.join(PYODIDE_DIR, 'pyodide-lock.json'), 'utf8') + '\n';
      page = await open(server.url + 'runner.html');
      await run(page, RUNNER.hello);
      await stored(page, `${server.url}pyodide/pyodide.asm.wasm`);
      const now = await page.eval(cachesOf);
      await page.close();
      delete lock['/pyodide/pyodide-lock.json'];
      assert.equal(asked(server, 'pyodide.asm.wasm'), 2, 'a new lock file: the wasm asked for again');
      assert.equal(now.length, 1, JSON.stringify(now.map((c) => c[0])));
      assert.notEqual(now[0][0], key);
      assert.ok(now[0][0].startsWith(`mdpy ${server.url} `));
      t.diagnostic(`${name}: second page ${second.ms} ms click to output, with Pyodide from the cache`);
    });

    test('two books under sub-paths of one origin keep caches of their own', async (t) => {
      const dir = twoBooks(root);
      const two = await serve(dir, { headers: NO_STORE });
      try {
        for (const b of ['a', 'b']) {
          const page = await open(`${two.url}${b}/runner.html`);
          await run(page, RUNNER.hello);
          await stored(page, `${two.url}${b}/pyodide/pyodide.asm.wasm`);
          await page.close();
        }
        const page = await open(`${two.url}a/runner.html`);
        const held = await page.eval(cachesOf);
        await run(page, RUNNER.hello);
        await page.close();
        if (held === null) return;
        const names = held.map((c) => c[0]).filter((k) => k.includes(two.url)).sort();
        assert.equal(names.length, 2, JSON.stringify(names));
        assert.ok(names[0].startsWith(`mdpy ${two.url}a/ `) && names[1].startsWith(`mdpy ${two.url}b/ `), JSON.stringify(names));
        for (const [k, urls] of held.filter((c) => c[0].includes(two.url))) {
          const b = k.includes(`${two.url}a/ `) ? 'a' : 'b';
          assert.ok(urls.every((u) => u.startsWith(`${two.url}${b}/pyodide/`)), `${k}: ${urls}`);
        }
        const wasm = ['a', 'b'].map((b) => two.requests.filter((p) => p === `/${b}/pyodide/pyodide.asm.wasm`).length);
        if (name === 'webkit' && held.every((c) => !c[0].includes(two.url) || c[1].length === 0)) {
          // WebKit's test browser (an ephemeral session) empties caches past its small storage quota.
          t.diagnostic(`${name} emptied both caches (its storage quota); the wasm was asked for ${wasm} times`);
          return;
        }
        // Each book fetched the wasm once; the third page (book a again) took it from its cache.
        assert.deepEqual(wasm, [1, 1], JSON.stringify(held.map(([k, urls]) => [k, urls.map((u) => u.split('/').pop())])));
      } finally {
        await two.close();
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  });
}
