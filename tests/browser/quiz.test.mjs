// The quiz widget in headless Chromium (playwright-core, /usr/bin/chromium), on the
// fixture book tests/fixtures/quiz-book built with target/debug/mdbook-python
// (or the command in MDPY_QUIZ_PREPROCESSOR).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium } from 'playwright-core';
import { buildBook, serve, REPO, stripCss, stripJs } from './lib/book.mjs';

const THEMES = ['light', 'rust', 'coal', 'navy', 'ayu'];
const AXE = fs.readFileSync(path.join(REPO, 'tests/browser/node_modules/axe-core/axe.min.js'), 'utf8');
// Texts that only an answered question may show (keys and explanations).
const SECRETS = {
  'lists.html': ['cannot change after it is created', 'in place', '[1, 2, 3]', 'same list'],
  'exceptions.html': ['division by zero', 'Dividing by zero', 'computes it', 'borrow it mutably', 'int("42")'],
};

function build() {
  const cmd = process.env.MDPY_QUIZ_PREPROCESSOR;
  if (!cmd) return buildBook('quiz-book');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mdpy-quiz-book-'));
  fs.cpSync(path.join(REPO, 'tests/fixtures/quiz-book'), dir, { recursive: true });
  execFileSync(process.env.MDBOOK || 'mdbook', ['build', dir, '-d', path.join(dir, 'book')], {
    env: { ...process.env, MDBOOK_PREPROCESSOR__PYTHON__COMMAND: cmd },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return path.join(dir, 'book');
}

let root, server, browser;

/** A fresh context (its own localStorage) and a page on `chapter`. */
async function open(chapter, { theme = 'light', js = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled: js, viewport: { width: 1100, height: 900 } });
  await context.addInitScript((t) => { try { localStorage.setItem('mdbook-theme', t); } catch (e) { /* */ } }, theme);
  await context.addInitScript(() => { window.print = () => {}; });
  const page = await context.newPage();
  const errors = [];
  const dialogs = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss(); });
  await page.goto(server.url + chapter);
  const quiz = (i = 0) => page.locator('.mdpy-quiz').nth(i);
  return {
    page, errors, dialogs, quiz,
    cur: (i = 0) => quiz(i).locator('.mdpy-quiz-current'),
    close: () => context.close(),
  };
}

const text = (loc) => loc.evaluate((e) => e.innerText.replace(/\s+/g, ' ').trim());

async function check(cur) {
  await cur.getByRole('button', { name: 'Check' }).click();
  return text(cur.locator('.mdpy-quiz-feedback'));
}

describe('quiz widget (chromium)', () => {
  before(async () => {
    root = build();
    const page = fs.readFileSync(path.join(root, 'lists.html'), 'utf8');
    assert.match(page, /data-mdpy-quiz=/, 'the preprocessor did not render the quiz widget');
    server = await serve(root);
    // chromium.launch gives every run a fresh, temporary user-data-dir.
    browser = await chromium.launch({
      executablePath: process.env.MDPY_CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
  });

  it('answers right and wrong with feedback, explanation and a score', async () => {
    const t = await open('lists.html');
    const { page, cur, quiz } = t;
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 1 of 4');
    assert.equal(await quiz().locator('.mdpy-quiz-q:visible').count(), 1, 'one question at a time');

    // Wrong: the right choice and the explanation appear, highlighted like the book.
    await cur().getByRole('radio', { name: 'list', exact: true }).check();
    let fb = await check(cur());
    assert.match(fb, /^✓?\s*Incorrect\. The correct answer: tuple Explanation A tuple cannot change after it is created:/);
    assert.ok(await cur().locator('.mdpy-quiz-choice.mdpy-quiz-right', { hasText: 'tuple' }).count());
    assert.ok(await cur().locator('.mdpy-quiz-choice.mdpy-quiz-wrong', { hasText: 'list' }).count());
    const code = cur().locator('.mdpy-quiz-context pre code.language-python');
    assert.ok(await code.evaluate((c) => c.classList.contains('hljs') && c.querySelector('span[class^="hljs-"]') !== null),
      'code in the explanation is highlighted');
    await page.waitForFunction(() => /Incorrect\. The correct answer: tuple/.test(document.querySelector('.mdpy-quiz [role=status]').textContent));
    assert.equal(await cur().getByRole('radio', { name: 'tuple' }).isDisabled(), true, 'an answer is final');

    // Right: several answers (checkboxes).
    await cur().getByRole('button', { name: 'Next question' }).click();
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 2 of 4');
    await cur().getByRole('checkbox', { name: 'append' }).check();
    await cur().getByRole('checkbox', { name: 'sort' }).check();
    fb = await check(cur());
    assert.match(fb, /Correct! Explanation append and sort work in place/);
    assert.doesNotMatch(fb, /The correct answer/);

    // Short answer: case and surrounding spaces do not matter; Enter submits.
    await cur().getByRole('button', { name: 'Next question' }).click();
    await cur().getByLabel('Your answer').fill('  LEN ');
    await cur().getByLabel('Your answer').press('Enter');
    assert.match(await text(cur().locator('.mdpy-quiz-feedback')), /^Correct!/);

    // Tracing: the key is what CPython printed.
    await cur().getByRole('button', { name: 'Next question' }).click();
    await cur().getByRole('radio', { name: 'runs to the end' }).check();
    await cur().getByLabel('What it prints').fill('[1, 2, 3]\n3\n');
    fb = await check(cur());
    assert.match(fb, /^Correct! This program runs to the end and prints: \[1, 2, 3\] 3 Explanation/);

    await quiz().getByRole('button', { name: 'See your score' }).click();
    assert.equal(await text(quiz().locator('.mdpy-quiz-score')), 'You answered 3 of 4 questions correctly.');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'mdpy-quiz-score');
    assert.deepEqual(t.errors, []);
    await t.close();
  });

  it('saves progress, restores it on reload, and starts fresh when the quiz changed', async () => {
    const t = await open('lists.html');
    const { page, cur, quiz } = t;
    const key = 'mdpy-quiz:' + JSON.parse(await quiz().getAttribute('data-mdpy-quiz')).key;
    await cur().getByRole('radio', { name: 'tuple' }).check();
    await check(cur());
    await page.reload();
    // The answered question comes back answered.
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 1 of 4');
    assert.match(await text(cur().locator('.mdpy-quiz-feedback')), /^Correct!/);
    assert.equal(await cur().getByRole('radio', { name: 'tuple' }).isChecked(), true);
    await cur().getByRole('button', { name: 'Next question' }).click();
    await page.reload();
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 2 of 4');
    assert.equal(await cur().locator('.mdpy-quiz-feedback').isHidden(), true);

    // Progress of another version of the quiz (another content hash) is ignored.
    await page.evaluate((k) => {
      const s = JSON.parse(localStorage.getItem(k));
      s.h = 'an-older-version';
      localStorage.setItem(k, JSON.stringify(s));
    }, key);
    await page.reload();
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 1 of 4');
    assert.equal(await cur().locator('.mdpy-quiz-feedback').isHidden(), true);
    assert.equal(await cur().getByRole('radio', { name: 'tuple' }).isChecked(), false);
    await t.close();
  });

  it('retries only the questions answered wrong', async () => {
    const t = await open('lists.html');
    const { page, cur, quiz } = t;
    const next = () => quiz().locator('.mdpy-quiz-next:visible').click();
    await cur().getByRole('radio', { name: 'dict' }).check();
    await check(cur());
    await next();
    await cur().getByRole('checkbox', { name: 'append' }).check();
    await cur().getByRole('checkbox', { name: 'sort' }).check();
    await check(cur());
    await next();
    await cur().getByLabel('Your answer').fill('size');
    await check(cur());
    await next();
    await cur().getByRole('radio', { name: 'runs to the end' }).check();
    await cur().getByLabel('What it prints').fill('[1, 2, 3]\n3');
    await check(cur());
    await next();
    assert.equal(await text(quiz().locator('.mdpy-quiz-score')), 'You answered 2 of 4 questions correctly.');

    await quiz().getByRole('button', { name: 'Retry the questions you got wrong' }).click();
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 1 of 2');
    assert.match(await text(cur().locator('.mdpy-quiz-qhead')), /Question 1/);
    assert.equal(await cur().getByRole('radio', { name: 'dict' }).isChecked(), false, 'a fresh form');
    await cur().getByRole('radio', { name: 'tuple' }).check();
    assert.match(await check(cur()), /^Correct!/);
    await next();
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 2 of 2');
    assert.match(await text(cur().locator('.mdpy-quiz-qhead')), /Question 3/);
    await cur().getByLabel('Your answer').fill('len()');
    assert.match(await check(cur()), /^Correct!/);
    await next();
    assert.equal(await text(quiz().locator('.mdpy-quiz-score')), 'You answered 4 of 4 questions correctly.');
    assert.equal(await quiz().getByRole('button', { name: 'Retry the questions you got wrong' }).count(), 0);

    await page.reload();
    assert.equal(await text(quiz().locator('.mdpy-quiz-score')), 'You answered 4 of 4 questions correctly.');
    await quiz().getByRole('button', { name: 'Start over' }).click();
    assert.equal(await text(quiz().locator('.mdpy-quiz-progress')), 'Question 1 of 4');
    await t.close();
  });

  it('works with the keyboard only', async () => {
    const t = await open('exceptions.html');
    const { page } = t;
    const url = page.url();
    const rid = await t.quiz().getAttribute('id');
    const active = () => page.evaluate(() => {
      const a = document.activeElement;
      return { cls: a.className, id: a.id, type: a.type || '', inQuiz: !!a.closest('.mdpy-quiz') };
    });
    for (let i = 0; i < 80 && !(await active()).inQuiz; i++) await page.keyboard.press('Tab');
    assert.deepEqual(await active(), { cls: '', id: rid + '-q1-run', type: 'radio', inQuiz: true });
    // Arrow keys move within the radio group (and do not turn mdBook's page).
    await page.keyboard.press('ArrowRight');
    assert.equal((await active()).id, rid + '-q1-raise');
    await page.keyboard.press('Tab');
    assert.equal((await active()).id, rid + '-q1-exc');
    await page.keyboard.type('ZeroDivisionError');
    await page.keyboard.press('Enter');
    assert.match(await text(t.cur().locator('.mdpy-quiz-feedback')), /^Correct! This program raises ZeroDivisionError: division by zero on line 2\. Before that, it prints: start/);
    assert.equal((await active()).cls, 'mdpy-quiz-next', 'focus moves to the next step');
    await page.keyboard.press('Enter');
    assert.deepEqual(await active(), { cls: 'mdpy-quiz-qhead', id: rid + '-q2-h', type: '', inQuiz: true });
    await page.keyboard.press('Tab');
    await page.keyboard.press('Space');
    await page.keyboard.press('Tab');
    assert.equal((await active()).id, rid + '-q2-out');
    await page.keyboard.type('7');
    await page.keyboard.press('Tab');
    assert.equal((await active()).cls, 'mdpy-quiz-submit');
    await page.keyboard.press('Enter');
    assert.match(await text(t.cur().locator('.mdpy-quiz-feedback')), /^Incorrect\. The correct answer: This program runs to the end and prints: 6/);
    await page.keyboard.press('Enter');
    // A multiple-choice question: Tab to the group, arrows choose, Space selects.
    await page.keyboard.press('Tab');
    assert.equal((await active()).type, 'radio');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    assert.match(await text(t.cur().locator('.mdpy-quiz-feedback')), /^Correct!/);
    assert.equal(page.url(), url, 'no key press left the page');
    assert.deepEqual(t.errors, []);
    await t.close();
  });

  for (const theme of THEMES) {
    it(`has no axe-core violations (${theme} theme)`, async () => {
      const t = await open('exceptions.html', { theme });
      const { page, cur, quiz } = t;
      assert.ok(await page.evaluate((th) => document.documentElement.classList.contains(th), theme), `${theme} theme applied`);
      await page.addScriptTag({ content: AXE });
      // The quizzes, not mdBook's own chrome (its sidebar toggle has violations of its
      // own); the colours of highlighted code tokens are mdBook's highlight.js theme
      // (ayu's comments fail contrast in every code block of every book), not the widget's.
      const audit = async (state, p = page) => {
        const r = await p.evaluate(() => window.axe.run(
          { include: [['.mdpy-quiz']], exclude: [['.mdpy-quiz pre code span[class^="hljs-"]']] },
          { resultTypes: ['violations'] }));
        const v = r.violations.map((x) => `${x.id}: ${x.help} (${x.nodes.map((n) => n.target.join(' ')).join(', ')})`);
        assert.deepEqual(v, [], `${state}, ${theme} theme`);
      };
      await audit('unanswered');
      await cur().getByRole('radio', { name: 'runs to the end' }).check();
      await cur().getByLabel('What it prints').fill('start');
      await check(cur());
      await audit('answered wrong');
      await cur().getByRole('button', { name: 'Next question' }).click();
      await cur().getByRole('radio', { name: 'raises an exception' }).check();
      await audit('an exception to name');
      await cur(1).getByLabel('Your answer').fill('int');
      await check(cur(1));
      await audit('answered right');
      for (let i = 1; i < 5; i++) {
        const c = cur();
        if (await c.getByRole('button', { name: 'Check' }).isVisible()) {
          const first = c.locator('input').first();
          if ((await first.getAttribute('type')) === 'text') await first.fill('x'); else await first.check();
          if (await c.getByLabel('Which exception?').isVisible()) await c.getByLabel('Which exception?').fill('KeyError');
          await check(c);
        }
        await quiz().locator('.mdpy-quiz-next:visible').click();
      }
      assert.ok(await quiz().locator('.mdpy-quiz-score').isVisible());
      await audit('the score');
      assert.deepEqual(t.errors, []);
      await t.close();

      // An explanation with a highlighted code block, and checkboxes.
      const l = await open('lists.html', { theme });
      await l.page.addScriptTag({ content: AXE });
      await l.cur().getByRole('radio', { name: 'list', exact: true }).check();
      await check(l.cur());
      await audit('explanation with code', l.page);
      await l.cur().getByRole('button', { name: 'Next question' }).click();
      await l.cur().getByRole('checkbox', { name: 'sort' }).check();
      await audit('checkboxes', l.page);
      await l.close();
    });
  }

  it('keeps answer keys out of the visible text and the search index', async () => {
    for (const chapter of Object.keys(SECRETS)) {
      const t = await open(chapter);
      const visible = await t.page.evaluate(() => document.body.innerText);
      for (const s of SECRETS[chapter]) assert.ok(!visible.includes(s), `${chapter}: "${s}" is visible before answering`);
      assert.ok(visible.includes('Which of these') || visible.includes('Does this program'), 'questions are visible');
      await t.close();
    }
    const file = fs.readdirSync(root).find((f) => /^searchindex.*\.js$/.test(f));
    const js = fs.readFileSync(path.join(root, file), 'utf8');
    const json = js.slice(js.indexOf("JSON.parse('") + 12, js.lastIndexOf("'));")).replace(/\\'/g, "'").replace(/\\\\/g, '\\');
    const index = JSON.parse(json);
    const bodies = Object.values(index.index.documentStore.docs).map((d) => d.body).join('\n');
    assert.ok(bodies.includes('Which of these types is immutable?'), 'the questions are searchable');
    for (const s of Object.values(SECRETS).flat()) assert.ok(!bodies.includes(s), `"${s}" is in the search index`);
  });

  it('is readable without JavaScript, each answer behind a disclosure', async () => {
    const t = await open('lists.html', { js: false });
    const { page, quiz } = t;
    const qs = quiz().locator('.mdpy-quiz-q');
    assert.equal(await qs.count(), 4);
    for (let i = 0; i < 4; i++) assert.ok(await qs.nth(i).isVisible(), `question ${i + 1} is shown`);
    const visible = await quiz().innerText();
    assert.match(visible, /Which of these types is immutable\?/);
    assert.match(visible, /tuple/);
    assert.match(visible, /print\(len\(b\)\)/);
    for (const s of SECRETS['lists.html']) assert.ok(!visible.includes(s), `"${s}" is visible`);
    assert.equal(await quiz().locator('details[open]').count(), 0);
    const key = (i) => qs.nth(i).locator('.mdpy-quiz-key').first()
      .evaluate((e) => getComputedStyle(e, '::before').content);
    // Open the fourth answer with the keyboard.
    await qs.nth(3).locator('summary').focus();
    await page.keyboard.press('Enter');
    assert.equal(await qs.nth(3).locator('details').getAttribute('open'), '');
    assert.ok(await qs.nth(3).locator('.mdpy-quiz-key').first().isVisible());
    assert.equal(await key(3), '"This program runs to the end and prints:\\a [1, 2, 3]\\a 3"');
    const explanation = await qs.nth(3).locator('.mdpy-quiz-key-context')
      .evaluate((e) => getComputedStyle(e, '::before').content);
    assert.match(explanation, /Explanation: b = a does not copy the list/);
    await qs.nth(0).locator('summary').click();
    assert.equal(await key(0), '"tuple"');
    await t.close();
  });

  it('shows each quiz once on print.html, readable, with unique ids', async () => {
    const t = await open('print.html');
    const { page } = t;
    await page.emulateMedia({ media: 'print' });
    const r = await page.evaluate(() => {
      const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
      const shown = (e) => e.checkVisibility({ checkVisibilityCSS: true, visibilityProperty: true });
      return {
        keys: [...document.querySelectorAll('.mdpy-quiz')].map((q) => JSON.parse(q.dataset.mdpyQuiz).key),
        duplicateIds: ids.filter((x, i) => ids.indexOf(x) !== i),
        questions: document.querySelectorAll('.mdpy-quiz-q').length,
        shownQuestions: [...document.querySelectorAll('.mdpy-quiz-q')].filter(shown).length,
        shownControls: [...document.querySelectorAll('.mdpy-quiz button, .mdpy-quiz textarea, .mdpy-quiz input[type=text], .mdpy-quiz details')].filter(shown).length,
        text: [...document.querySelectorAll('.mdpy-quiz')].map((q) => q.innerText).join('\n'),
      };
    });
    assert.equal(r.keys.length, 3);
    assert.equal(new Set(r.keys).size, 3, 'each quiz once');
    assert.deepEqual(r.duplicateIds, []);
    assert.equal(r.questions, 11);
    assert.equal(r.shownQuestions, 11, 'every question is printed');
    assert.equal(r.shownControls, 0, 'no buttons or answer fields on paper');
    assert.match(r.text, /Which built-in function gives the number of items in a list\?/);
    for (const s of Object.values(SECRETS).flat()) assert.ok(!r.text.includes(s), `"${s}" is printed`);
    assert.deepEqual(t.errors, []);
    await t.close();
  });

  it('shows markup in quiz text as text', async () => {
    const t = await open('exceptions.html');
    const q = t.quiz(1).locator('.mdpy-quiz-q').nth(1);
    assert.match(await q.innerText(), /<script>alert\(‘pwned’\)<\/script>/);
    assert.equal(await q.locator('script').count(), 0);
    assert.match(await q.locator('.mdpy-quiz-choices').innerText(), /The <script> tag/);
    assert.deepEqual(t.dialogs, []);
    await t.close();
  });
});

describe('quiz bundle', () => {
  it('quiz.js and quiz.css stay small (gzipped, as the bundle has them)', () => {
    const size = (f, strip) => zlib.gzipSync(strip(fs.readFileSync(path.join(REPO, 'front-end', f), 'utf8')), { level: 9 }).length;
    const total = size('quiz.js', stripJs) + size('quiz.css', stripCss);
    assert.ok(total <= 6 * 1024, `quiz.js + quiz.css are ${total} bytes gzipped`);
  });
});
