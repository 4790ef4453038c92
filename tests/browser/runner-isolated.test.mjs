// Where the page happens to be cross-origin isolated (COOP + COEP headers, which GitHub Pages
// cannot send), Stop interrupts a CPU loop through Pyodide's interrupt buffer and keeps the
// interpreter, in every browser that has SharedArrayBuffer there (WebKitGTK has not: there
// Python must still load, and Stop take the ordinary path). There too, input() waits for the
// reader's line through a shared buffer (no JSPI needed).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { BROWSERS, launch } from './lib/browsers.mjs';
import { RUNNER, SESSIONS, inputAnswered, page$, run } from './lib/runner-suite.mjs';

for (const name of BROWSERS) describe(`runner on a cross-origin isolated page in ${name}`, () => {
  let server;
  let browser;
  before(async () => {
    server = await serve(buildBook(), {
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    });
    browser = await launch(name);
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  test('Stop interrupts a CPU loop in place and keeps the interpreter', async (t) => {
    const page = await browser.newPage();
    await page.goto(server.url + 'runner.html');
    assert.equal(await page.eval(() => self.crossOriginIsolated), true);
    // WebKitGTK is isolated but has no SharedArrayBuffer: then Stop takes the ordinary path.
    const sab = await page.eval(() => typeof SharedArrayBuffer === 'function');
    t.diagnostic(`${name}, isolated: SharedArrayBuffer ${sab ? 'available' : 'missing'}`);
    if (name !== 'webkit') assert.ok(sab, 'SharedArrayBuffer on an isolated page');
    const i = RUNNER.edit;
    await page.eval(page$.setCode, [i, 'import time\nprint("started")\nwhile True:\n    time.monotonic()\n']);
    await page.clickIn(i, '.mdpy-run');
    await page.waitFor((i) => {
      const c = document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-output[data-origin="browser"] code');
      return c && c.textContent.includes('started');
    }, i, 60000);
    await new Promise((r) => setTimeout(r, 300));
    await page.clickIn(i, '.mdpy-stop');
    await page.waitFor((i) => !document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-run').disabled, i, 5000);
    const info = await page.eval(() => window.MDPY_RUNNER.info());
    t.diagnostic(`${name}, isolated: Stop of a CPU loop: ${info.stopMs} ms`);
    assert.equal((await page.eval(page$.state, i)).status, 'Stopped');
    assert.equal(await page.eval(() => window.MDPY_RUNNER.loaded()), sab, 'the interpreter is kept only with the buffer');
    if (sab) assert.ok(info.stopMs < 250, `interrupted before the worker would be replaced (${info.stopMs} ms)`);
    await page.eval(page$.setCode, [i, 'print("same interpreter:", "time" in globals() or "fresh namespace")\n']);
    const again = await run(page, i, sab ? 5000 : 120000);
    if (sab) assert.ok(again.ms < 1000, `no new interpreter to load (${again.ms} ms)`);
    assert.equal(again.state.out, 'same interpreter: fresh namespace\n');
    await page.close();
  });

  test('input() past the Input box\'s lines waits for the reader\'s line through the shared buffer', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + 'deeper/sessions.html');
    await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
    if (!(await page.eval(() => typeof SharedArrayBuffer === 'function'))) return page.close();
    await page.eval(() => localStorage.setItem('mdpy:no-jspi', '1'));
    await page.goto(server.url + 'deeper/sessions.html');
    await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
    try {
      await page.eval(page$.setInput, [SESSIONS.input, 'Grace']);
      await inputAnswered(page);
      assert.equal((await page.eval(() => window.MDPY_RUNNER.info())).jspi, false, 'no JSPI: the buffer it was');
    } finally {
      await page.eval(() => localStorage.removeItem('mdpy:no-jspi'));
      await page.close();
    }
  });
});
