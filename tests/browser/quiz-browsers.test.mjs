// The quiz widget in all three engines (Chromium, Firefox, WebKit) through the shared page API:
// real clicks and key presses through a whole quiz, feedback, progress kept over a reload, and
// the score. quiz.test.mjs goes deeper (axe-core, themes, no-JS, print) in Chromium.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './lib/book.mjs';
import { BROWSERS, launch } from './lib/browsers.mjs';

/** In-page helpers: each marks one element of the first quiz with data-mdpy-t=N and returns a
 * selector for it, so that the test then clicks it for real. */
const q$ = {
  // The control labelled `label` (exactly, spaces trimmed) in the current question.
  control: ([label, n]) => {
    const cur = document.querySelector('.mdpy-quiz .mdpy-quiz-current');
    const lab = [...cur.querySelectorAll('label')].find((l) => l.textContent.trim() === label);
    const el = lab && (lab.control || lab.querySelector('input, textarea'));
    if (!el) return null;
    el.setAttribute('data-mdpy-t', n);
    el.scrollIntoView({ block: 'center' }); // not under mdBook's sticky menu bar
    return `[data-mdpy-t="${n}"]`;
  },
  // The visible button of the first quiz whose text is `text`.
  button: ([text, n]) => {
    const b = [...document.querySelectorAll('.mdpy-quiz button')]
      .find((x) => x.textContent.trim() === text && x.getClientRects().length > 0);
    if (!b) return null;
    b.setAttribute('data-mdpy-t', n);
    b.scrollIntoView({ block: 'center' });
    return `[data-mdpy-t="${n}"]`;
  },
  read: () => {
    const quiz = document.querySelector('.mdpy-quiz');
    const cur = quiz.querySelector('.mdpy-quiz-current');
    const fb = cur && cur.querySelector('.mdpy-quiz-feedback');
    const t = (e) => (e && e.getClientRects().length ? e.innerText.replace(/\s+/g, ' ').trim() : null);
    return {
      progress: t(quiz.querySelector('.mdpy-quiz-progress')),
      shown: [...quiz.querySelectorAll('.mdpy-quiz-q')].filter((x) => x.getClientRects().length > 0).length,
      feedback: t(fb),
      score: t(quiz.querySelector('.mdpy-quiz-score')),
    };
  },
  fill: ([sel, text]) => {
    const f = document.querySelector(sel);
    f.value = text;
    f.dispatchEvent(new Event('input', { bubbles: true }));
  },
};

for (const name of BROWSERS) {
  describe(`quiz widget in ${name}`, () => {
    let server, browser;
    let n = 0;
    before(async () => {
      server = await serve(buildBook('quiz-book'));
      browser = await launch(name);
    });
    after(async () => {
      if (browser) await browser.close();
      if (server) await server.close();
    });

    test('a whole quiz with real clicks and keys: feedback, progress over a reload, score', async () => {
      const page = await browser.newPage();
      await page.goto(server.url + 'lists.html');
      await page.waitFor(() => document.querySelector('.mdpy-quiz .mdpy-quiz-current') !== null, null, 10000);
      const click = async (kind, label) => {
        const sel = await page.eval(kind === 'button' ? q$.button : q$.control, [label, ++n]);
        assert.ok(sel, `no ${kind} "${label}"`);
        await page.click(sel);
        return sel;
      };
      let st = await page.eval(q$.read);
      assert.equal(st.progress, 'Question 1 of 4');
      assert.equal(st.shown, 1, 'one question at a time');

      // Wrong answer: the right one is named.
      await click('control', 'list');
      await click('button', 'Check');
      st = await page.eval(q$.read);
      assert.match(st.feedback, /^Incorrect\. The correct answer: tuple Explanation A tuple cannot change/);

      // Several answers (checkboxes), right.
      await click('button', 'Next question');
      assert.equal((await page.eval(q$.read)).progress, 'Question 2 of 4');
      await click('control', 'append');
      await click('control', 'sort');
      await click('button', 'Check');
      assert.match((await page.eval(q$.read)).feedback, /^Correct! Explanation append and sort work in place/);

      // Short answer typed on the keyboard, submitted with Enter; case and spaces do not matter.
      await click('button', 'Next question');
      await click('control', 'Your answer');
      await page.type('  LEN ');
      await page.press('Enter');
      assert.match((await page.eval(q$.read)).feedback, /^Correct!/);

      // The answers so far survive a reload.
      await page.reload();
      await page.waitFor(() => document.querySelector('.mdpy-quiz .mdpy-quiz-current') !== null, null, 10000);
      st = await page.eval(q$.read);
      assert.equal(st.progress, 'Question 3 of 4');
      assert.match(st.feedback, /^Correct!/);

      // Tracing: the key is what CPython printed at build time.
      await click('button', 'Next question');
      await click('control', 'runs to the end');
      const out = await click('control', 'What it prints');
      await page.eval(q$.fill, [out, '[1, 2, 3]\n3\n']);
      await click('button', 'Check');
      assert.match((await page.eval(q$.read)).feedback, /^Correct! This program runs to the end and prints: \[1, 2, 3\] 3/);

      await click('button', 'See your score');
      assert.equal((await page.eval(q$.read)).score, 'You answered 3 of 4 questions correctly.');
      await page.eval(() => localStorage.clear());
      assert.deepEqual(page.errors, []);
      await page.close();
    });
  });
}
