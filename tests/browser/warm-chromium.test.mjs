// Warm pages (Chromium): once the reader has run code anywhere in the book, later pages start
// Python in the background as they open, and say so in the toolbar. Measured: the first Run on
// a second page, click to output, without and with the warm start, from loopback.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { launch } from './lib/browsers.mjs';
import { RUNNER, SESSIONS, run } from './lib/runner-suite.mjs';

describe('warm pages in chromium', () => {
  let server;
  let browser;
  before(async () => {
    server = await serve(buildBook());
    browser = await launch('chromium');
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  const open = async (chapter) => {
    const page = await browser.newPage();
    await page.goto(server.url + chapter);
    await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
    return page;
  };
  const status = () => document.querySelector('.mdpy-status').textContent;

  test('after a first Run, a second page starts Python as it opens; its first Run is then quick', async (t) => {
    // A first page: nothing starts before Run (no earlier Run in this book).
    let page = await open('runner.html');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(server.requests.filter((p) => p.startsWith('/pyodide/')).length, 0, 'cold: nothing before Run');
    assert.equal(await page.eval(status), '');
    await run(page, RUNNER.hello);
    assert.equal(await page.eval(() => localStorage.getItem('mdpy:warm')), '1');
    await page.close();

    // Before: the second page as without the warm start (the mark removed).
    page = await open('runner.html');
    await page.eval(() => localStorage.removeItem('mdpy:warm'));
    page = (await page.close(), await open('deeper/sessions.html'));
    assert.equal(await page.eval(() => window.MDPY_RUNNER.loaded()), false);
    const cold = await run(page, SESSIONS.first);
    await page.close();

    // After: the page starts Python by itself and says so.
    page = await open('deeper/sessions.html');
    const first = await page.eval(status);
    assert.equal(first, 'Starting Python in the background…');
    assert.equal(await page.eval(() => window.MDPY_RUNNER.loaded()), true, 'started without a Run');
    await page.waitFor(() => document.querySelector('.mdpy-status').textContent === 'Python is ready', null, 60000);
    const warm = await run(page, SESSIONS.first);
    assert.equal(warm.state.out, cold.state.out);
    await page.close();

    // A reader who clicks Run at once, while Python still starts.
    page = await open('deeper/sessions.html');
    const early = await run(page, SESSIONS.first);
    assert.equal(early.state.out, cold.state.out);
    await page.close();
    t.diagnostic(`first Run on a second page, click to output: ${cold.ms} ms cold, ${warm.ms} ms warm `
      + `(Python started in the background before the click), ${early.ms} ms clicked as the page opened`);
    assert.ok(warm.ms * 3 < cold.ms, `warm ${warm.ms} ms vs cold ${cold.ms} ms`);
  });
});
