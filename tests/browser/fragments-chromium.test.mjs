// Blocks that do not run at build time (`norun`, fragments of a `run = "marked"` book) get no
// Run button and no "Runs at build time only" note; a block marked `run` does (Chromium).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { launch } from './lib/browsers.mjs';

describe('blocks that do not run', () => {
  let server;
  let browser;
  before(async () => {
    server = await serve(buildBook('fragments-book'));
    browser = await launch('chromium');
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  test('only the block marked run gets a Run button; no note on the others', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + 'fragments.html');
    await page.waitFor(() => document.querySelector('.mdpy-run') !== null, null, 10000);
    const seen = await page.eval(() => ({
      blocks: document.querySelectorAll('pre > code.language-python').length,
      runs: [...document.querySelectorAll('.mdpy-run')].map((b) => {
        const code = b.closest('div.mdpy-snippet').previousElementSibling;
        return code.textContent.trim();
      }),
      text: document.querySelector('main').textContent,
    }));
    assert.equal(seen.blocks, 3);
    assert.deepEqual(seen.runs, ['print("ran")']);
    assert.ok(!seen.text.includes('Runs at build time only'), seen.text);
    assert.ok(!seen.text.includes('runs only when the book is built'), seen.text);
  });
});
