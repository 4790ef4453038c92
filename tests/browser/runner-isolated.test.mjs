// Where the page happens to be cross-origin isolated (COOP + COEP headers, which GitHub Pages
// cannot send), Stop interrupts a CPU loop through Pyodide's interrupt buffer and keeps the
// interpreter. Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { launch } from './lib/browsers.mjs';
import { RUNNER, page$, run } from './lib/runner-suite.mjs';

describe('runner on a cross-origin isolated page', () => {
  let server;
  let browser;
  before(async () => {
    server = await serve(buildBook(), {
      headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
    });
    browser = await launch('chromium');
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  test('Stop interrupts a CPU loop in place and keeps the interpreter', async (t) => {
    const page = await browser.newPage();
    await page.goto(server.url + 'runner.html');
    assert.equal(await page.eval(() => self.crossOriginIsolated), true);
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
    t.diagnostic(`chromium, isolated: Stop of a CPU loop: ${info.stopMs} ms`);
    assert.ok(info.stopMs < 250, `interrupted before the worker would be replaced (${info.stopMs} ms)`);
    assert.equal((await page.eval(page$.state, i)).status, 'Stopped');
    await page.eval(page$.setCode, [i, 'print("same interpreter:", "time" in globals() or "fresh namespace")\n']);
    const again = await run(page, i, 5000);
    assert.ok(again.ms < 1000, `no new interpreter to load (${again.ms} ms)`);
    assert.equal(again.state.out, 'same interpreter: fresh namespace\n');
    await page.close();
  });
});
