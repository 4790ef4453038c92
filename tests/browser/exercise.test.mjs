// Exercises (issue 24) in Chromium, Firefox and WebKit: Check runs the reader's code and the checks
// the build proved; a wrong attempt shows the failing check's message (not its source) and offers
// the next hint; the solution typed in passes, and stays solved after a reload; Stop ends an endless
// attempt. In Chromium also: no axe-core violations in five themes, and without JavaScript the
// hints and the solution are disclosures. Fixture: tests/fixtures/exercise-book.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { REPO, buildBook, serve } from './lib/book.mjs';
import { BROWSERS, launch } from './lib/browsers.mjs';
import { page$ } from './lib/runner-suite.mjs';

const THEMES = ['light', 'rust', 'coal', 'navy', 'ayu'];
const AXE = fs.readFileSync(path.join(REPO, 'tests/browser/node_modules/axe-core/axe.min.js'), 'utf8');
const verdict = () => {
  const v = document.querySelector('.mdpy-verdict');
  return v ? v.textContent : null;
};
const hintsOpen = () => [...document.querySelectorAll('details.mdpy-hint')].map((d) => d.open);

let server;
before(async () => {
  server = await serve(buildBook('exercise-book'));
});
after(async () => {
  if (server) await server.close();
});

for (const name of BROWSERS) {
  describe(`exercises in ${name}`, () => {
    let browser;
    before(async () => {
      browser = await launch(name);
    });
    after(async () => {
      if (browser) await browser.close();
    });

    it('grades an attempt, offers a hint, accepts the solution and remembers it', async () => {
      const page = await browser.newPage();
      await page.goto(server.url + 'exercise.html');
      await page.waitFor(() => document.querySelector('.mdpy-check') !== null, null, 10000);
      assert.equal(await page.eval(verdict), '');
      await page.clickIn(0, '.mdpy-check');
      await page.waitFor(() => /Not yet/.test(document.querySelector('.mdpy-verdict').textContent), null, 120000);
      const failed = await page.eval(verdict);
      assert.match(failed, /^✗ Not yet: double\(2\) should be 4/);
      assert.ok(!/assert/.test(failed), 'the message, not the check\'s source');
      assert.deepEqual(await page.eval(hintsOpen), [false, false]);
      await page.click('.mdpy-hint-btn');
      assert.deepEqual(await page.eval(hintsOpen), [true, false], 'the first hint opens');
      await page.eval(page$.setCode, [0, 'def double(x):\n    return 2 * x']);
      await page.clickIn(0, '.mdpy-check');
      await page.waitFor(() => /Solved/.test(document.querySelector('.mdpy-verdict').textContent), null, 30000);
      assert.match(await page.eval(() => document.querySelector('.mdpy-ex-summary').textContent), /: 1 \/ 1$/);
      await page.reload();
      await page.waitFor(() => document.querySelector('.mdpy-verdict') !== null, null, 10000);
      assert.match(await page.eval(verdict), /^✓ Solved/, 'remembered after a reload');
      assert.deepEqual(page.errors, []);
      await page.close();
    });

    it('Stop ends an endless attempt', async () => {
      const page = await browser.newPage();
      await page.goto(server.url + 'exercise.html');
      await page.waitFor(() => document.querySelector('.mdpy-check') !== null, null, 10000);
      await page.eval(page$.setCode, [0, 'while True:\n    pass']);
      await page.clickIn(0, '.mdpy-check');
      await page.waitFor(() => /Running/.test(document.querySelector('.mdpy-status').textContent), null, 120000);
      await page.clickIn(0, '.mdpy-stop');
      await page.waitFor(() => !document.querySelector('.mdpy-check').disabled, null, 15000);
      assert.match(await page.eval(() => document.querySelector('.mdpy-status').textContent), /Stopped/);
      await page.close();
    });
  });
}

describe('exercises in chromium: themes and no JavaScript', () => {
  let browser;
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  after(async () => {
    if (browser) await browser.close();
  });
  const open = async (theme, js = true) => {
    const context = await browser.newContext({ javaScriptEnabled: js });
    await context.addInitScript((t) => { try { localStorage.setItem('mdbook-theme', t); } catch (e) { /* */ } }, theme);
    const p = await context.newPage();
    await p.goto(server.url + 'exercise.html');
    return { p, close: () => context.close() };
  };

  for (const theme of THEMES) {
    it(`has no axe-core violations (${theme} theme)`, async () => {
      const { p, close } = await open(theme);
      await p.waitForSelector('.mdpy-check');
      await p.addScriptTag({ content: AXE });
      await p.evaluate(() => { document.querySelectorAll('details').forEach((d) => { d.open = true; }); });
      const r = await p.evaluate(() => window.axe.run(
        { include: [['.mdpy-snippet'], ['details.mdpy-hint'], ['details.mdpy-solution']],
          exclude: [['pre code span[class^="hljs-"]']] },
        { resultTypes: ['violations'] }));
      assert.deepEqual(r.violations.map((x) => `${x.id}: ${x.help}`), [], theme);
      await close();
    });
  }

  it('without JavaScript: hints and the solution are disclosures that open', async () => {
    const { p, close } = await open('light', false);
    assert.equal(await p.locator('details.mdpy-hint').count(), 2);
    assert.equal(await p.locator('details.mdpy-solution pre').isVisible(), false);
    await p.locator('details.mdpy-solution > summary').click();
    assert.match(await p.locator('details.mdpy-solution pre').innerText(), /return 2 \* x/);
    assert.equal(await p.getByText('double(2) == 4').count(), 0, 'the checks are not on the page');
    await close();
  });
});
