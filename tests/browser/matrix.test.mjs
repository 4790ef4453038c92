// The runtime matrix's switcher (issue 22) in headless Chromium: a `versions=differ` block shows
// the build's output (Python 3.13) and a radio button for 3.11's; arrow keys switch; no axe-core
// violations in any of mdBook's five themes; print.html shows every output with its caption; and
// it works without JavaScript. Fixture: tests/fixtures/matrix-book (3.13 primary, 3.11 matrix).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { REPO, buildBook, serve } from './lib/book.mjs';

const THEMES = ['light', 'rust', 'coal', 'navy', 'ayu'];
const AXE = fs.readFileSync(path.join(REPO, 'tests/browser/node_modules/axe-core/axe.min.js'), 'utf8');

let server, browser;

async function open(page, { theme = 'light', js = true, media = 'screen' } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1000, height: 800 } });
  await context.addInitScript((t) => { try { localStorage.setItem('mdbook-theme', t); } catch (e) { /* */ } }, theme);
  await context.addInitScript(() => { window.print = () => {}; });
  const p = await context.newPage();
  await p.emulateMedia({ media });
  const errors = [];
  p.on('pageerror', (e) => errors.push(e.message));
  await p.goto(server.url + page);
  return { p, errors, close: () => context.close() };
}

/** The texts of the switcher's visible outputs. */
const visible = async (p) => (await p.locator('.mdpy-versions .mdpy-v pre:visible').allInnerTexts()).map((t) => t.trim());

describe('the runtime matrix switcher in chromium', () => {
  before(async () => {
    server = await serve(buildBook('matrix-book'));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  });
  after(async () => {
    if (browser) await browser.close();
    if (server) await server.close();
  });

  it('shows the build\'s output first and switches with the keyboard', async () => {
    const { p, errors, close } = await open('gc.html');
    const group = p.getByRole('group', { name: 'Output' });
    const radios = group.getByRole('radio');
    assert.equal(await radios.count(), 2);
    assert.match(await radios.nth(0).evaluate((r) => r.labels[0].textContent), /^Python 3\.13\.\d+ \(build\)$/);
    assert.match(await radios.nth(1).evaluate((r) => r.labels[0].textContent), /^Python 3\.11\.\d+$/);
    assert.deepEqual(await visible(p), ['(2000, 10, 10)']);
    // From the block's last button, Tab reaches the chosen radio; an arrow key chooses the
    // next, and its output shows.
    await p.waitForSelector('.mdpy-toolbar');
    await p.locator('.mdpy-toolbar').first().getByRole('button').last().focus();
    for (let i = 0; i < 10 && !(await radios.nth(0).evaluate((r) => r === document.activeElement)); i++) {
      await p.keyboard.press('Tab');
    }
    assert.ok(await radios.nth(0).evaluate((r) => r === document.activeElement), 'Tab reaches the switcher');
    await p.keyboard.press('ArrowRight');
    assert.ok(await radios.nth(1).isChecked());
    assert.deepEqual(await visible(p), ['(700, 10, 10)']);
    const outline = await radios.nth(1).evaluate((r) => getComputedStyle(r.labels[0]).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused choice is outlined');
    await p.keyboard.press('ArrowLeft');
    assert.deepEqual(await visible(p), ['(2000, 10, 10)']);
    assert.deepEqual(errors, []);
    await close();
  });

  for (const theme of THEMES) {
    it(`has no axe-core violations (${theme} theme)`, async () => {
      const { p, close } = await open('gc.html', { theme });
      assert.ok(await p.evaluate((th) => document.documentElement.classList.contains(th), theme));
      await p.addScriptTag({ content: AXE });
      for (const pick of [0, 1]) {
        await p.getByRole('radio').nth(pick).check();
        const r = await p.evaluate(() => window.axe.run({ include: [['.mdpy-versions']] }, { resultTypes: ['violations'] }));
        const v = r.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(' ')).join(', ')})`);
        assert.deepEqual(v, [], `output ${pick}, ${theme} theme`);
      }
      await close();
    });
  }

  it('print.html shows every output under its caption', async () => {
    const { p, close } = await open('print.html', { media: 'print' });
    assert.deepEqual(await visible(p), ['(2000, 10, 10)', '(700, 10, 10)']);
    const captions = await p.locator('.mdpy-vcaption:visible').allInnerTexts();
    assert.equal(captions.length, 2);
    assert.match(captions[0], /^Python 3\.13\.\d+ \(build\)$/);
    assert.equal(await p.getByRole('radio').first().isVisible(), false, 'no buttons on paper');
    await close();
  });

  it('works without JavaScript', async () => {
    const { p, close } = await open('gc.html', { js: false });
    assert.deepEqual(await visible(p), ['(2000, 10, 10)']);
    await p.locator('label', { hasText: /^Python 3\.11/ }).click();
    assert.deepEqual(await visible(p), ['(700, 10, 10)']);
    await close();
  });
});
