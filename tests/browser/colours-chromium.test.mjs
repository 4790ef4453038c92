// Terminal colours (issue 20): a block that prints SGR escape sequences shows coloured text, at
// build time (ansi-to-html) and after a Run in the browser alike, never the raw escapes (Chromium).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { launch } from './lib/browsers.mjs';

/** The text and the colour of each coloured piece of an output area. */
const pieces = (origin) => {
  const o = document.querySelector(`.mdpy-output[data-origin="${origin}"] code`);
  return {
    text: o.textContent,
    coloured: [...o.querySelectorAll('[style]')].map((e) => [e.textContent, getComputedStyle(e).color]),
    bold: [...o.querySelectorAll('b')].map((e) => e.textContent),
  };
};

describe('terminal colours in chromium', () => {
  let server;
  let browser;
  before(async () => {
    server = await serve(buildBook('colours-book'));
    browser = await launch('chromium');
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  test('the build and a Run show the same coloured text', async () => {
    const page = await browser.newPage();
    await page.goto(server.url + 'colours.html');
    await page.waitFor(() => document.querySelector('.mdpy-run') !== null, null, 10000);
    const built = await page.eval(pieces, 'build');
    assert.equal(built.text, 'red and bold green plain\n');
    assert.deepEqual(built.coloured, [['red', 'rgb(170, 0, 0)'], ['bold green', 'rgb(0, 170, 0)']]);
    assert.deepEqual(built.bold, ['bold green']);
    await page.clickIn(0, '.mdpy-run');
    await page.waitFor(() => document.querySelector('.mdpy-output[data-origin="browser"]') !== null
      && !document.querySelector('.mdpy-run').disabled, null, 120000);
    assert.deepEqual(await page.eval(pieces, 'browser'), built);
    assert.deepEqual(page.errors, []);
    await page.close();
  });
});
