// On a phone: Chromium (playwright-core) emulating a 390 x 844 touch screen. Taps run code and
// answer a quiz; text fields are 16px or more (iOS Safari zooms the page into smaller ones);
// buttons are finger-sized; nothing makes the page scroll sideways. On a desktop (a mouse) the
// same fields keep the book's code size, so the phone rules are what the test sees.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';
import { buildBook, serve } from './lib/book.mjs';

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 3 };

/** Computed sizes of what a reader touches on the page. */
const sizes = () => {
  const px = (e) => (e ? parseFloat(getComputedStyle(e).fontSize) : null);
  const quiz = document.querySelector('.mdpy-quiz');
  return {
    overflow: document.documentElement.scrollWidth - innerWidth,
    editor: px(document.querySelector('.mdpy-ta')),
    input: px(document.querySelector('.mdpy-in')),
    quizFields: quiz ? [...quiz.querySelectorAll('input[type="text"], textarea')].map(px) : [],
    buttons: [...document.querySelectorAll('.mdpy-toolbar button, .mdpy-quiz-current button')]
      .filter((b) => b.getClientRects().length > 0)
      .map((b) => Math.round(b.getBoundingClientRect().height)),
  };
};

describe('on a phone (Chromium, touch, 390 px wide)', () => {
  let browser, runner, quizzes;
  before(async () => {
    runner = await serve(buildBook());
    quizzes = await serve(buildBook('quiz-book'));
    browser = await chromium.launch({
      executablePath: process.env.MDPY_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });
  after(async () => {
    await browser?.close();
    await runner?.close();
    await quizzes?.close();
  });

  test('the runner: 16px fields, finger-sized buttons, no sideways scroll, and a tap runs', async () => {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    await page.goto(runner.url + 'deeper/sessions.html');
    await page.waitForSelector('.mdpy-toolbar');
    const s = await page.evaluate(sizes);
    assert.equal(s.overflow, 0, 'the page scrolls sideways');
    assert.ok(s.editor >= 16, `editor at ${s.editor}px`);
    assert.ok(s.input >= 16, `input box at ${s.input}px`);
    assert.ok(s.buttons.length >= 3 && s.buttons.every((h) => h >= 44), `buttons ${s.buttons}`);

    await page.goto(runner.url + 'runner.html');
    await page.waitForSelector('.mdpy-toolbar');
    const build = await page.evaluate(() => document.querySelector('div.mdpy-snippet .mdpy-output code').textContent);
    await page.tap('div.mdpy-snippet .mdpy-run');
    await page.waitForFunction(() => {
      const s = document.querySelector('div.mdpy-snippet');
      return !s.querySelector('.mdpy-run').disabled && s.querySelector('.mdpy-output[data-origin="browser"]');
    }, null, { timeout: 60000, polling: 50 });
    const out = await page.evaluate(() => document.querySelector('div.mdpy-snippet .mdpy-output[data-origin="browser"] code').textContent);
    assert.equal(out, build);
    await ctx.close();

    // The control: with a mouse, the editor keeps the book's code size.
    const desk = await browser.newContext({ viewport: { width: 1100, height: 900 } });
    const dp = await desk.newPage();
    await dp.goto(runner.url + 'runner.html');
    await dp.waitForSelector('.mdpy-toolbar');
    const d = await dp.evaluate(sizes);
    assert.ok(d.editor < 16, `desktop editor at ${d.editor}px`);
    await desk.close();
  });

  test('a quiz: taps answer it, and its answer fields are 16px', async () => {
    const ctx = await browser.newContext(PHONE);
    const page = await ctx.newPage();
    await page.goto(quizzes.url + 'lists.html');
    const cur = page.locator('.mdpy-quiz').first().locator('.mdpy-quiz-current');
    await cur.getByRole('radio', { name: 'tuple' }).tap();
    await cur.getByRole('button', { name: 'Check' }).tap();
    assert.match(await cur.locator('.mdpy-quiz-feedback').innerText(), /^✓?\s*Correct!/);
    await cur.getByRole('button', { name: 'Next question' }).tap();
    await cur.getByRole('button', { name: 'Next question' }).waitFor({ state: 'hidden' }).catch(() => {});
    const s = await page.evaluate(sizes);
    assert.equal(s.overflow, 0, 'the page scrolls sideways');
    assert.ok(s.buttons.length > 0 && s.buttons.every((h) => h >= 44), `quiz buttons ${s.buttons}`);
    // Questions 3 and 4 hold a text field and a code textarea.
    assert.ok(s.quizFields.length >= 2 && s.quizFields.every((px) => px >= 16), `quiz fields ${s.quizFields}`);
    await ctx.close();
  });
});
