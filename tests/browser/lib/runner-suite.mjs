// The runner's real-browser scenarios, shared by the runner-*.test.mjs files. Every expected
// output is the build-time output read from the page itself.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import { after, before, describe, test } from 'node:test';
import { buildBook, serve } from './book.mjs';
import { launch } from './browsers.mjs';

// Fixture block indices (div.mdpy-snippet order on each page).
export const RUNNER = { hello: 0, stream: 1, error: 2, html: 3, nobrowser: 4, edit: 5 };
export const SESSIONS = { first: 0, second: 1, input: 2 };

/** In-page helpers, passed as functions (each is serialised on its own). */
export const page$ = {
  build: () => [...document.querySelectorAll('div.mdpy-snippet')].map((s) => {
    const c = s.querySelector('.mdpy-output[data-origin="build"] code');
    return c ? c.textContent : '';
  }),
  state: (i) => {
    const s = document.querySelectorAll('div.mdpy-snippet')[i];
    const run = s.querySelector('.mdpy-run');
    const out = s.querySelector('.mdpy-output[data-origin="browser"] code');
    const st = s.querySelector('.mdpy-status');
    return {
      idle: !!run && !run.disabled,
      status: st ? st.textContent : null,
      out: out ? out.textContent : null,
      code: s.previousElementSibling.querySelector('textarea') ? s.previousElementSibling.querySelector('textarea').value : null,
    };
  },
  idleWithOutput: (i) => {
    const s = document.querySelectorAll('div.mdpy-snippet')[i];
    return !s.querySelector('.mdpy-run').disabled && !!s.querySelector('.mdpy-output[data-origin="browser"]');
  },
  setCode: ([i, text]) => {
    const ta = document.querySelectorAll('div.mdpy-snippet')[i].previousElementSibling.querySelector('textarea');
    ta.value = text;
    ta.dispatchEvent(new Event('input', { bubbles: true }));
  },
  focusEditor: (i) => {
    document.querySelectorAll('div.mdpy-snippet')[i].previousElementSibling.querySelector('textarea').focus();
  },
  setInput: ([i, text]) => {
    document.querySelectorAll('div.mdpy-snippet')[i].querySelector('textarea.mdpy-in').value = text;
  },
};

/** CPU time (clock ticks) of every process below `root`, by pid (from /proc). */
function treeTicks(root) {
  const kids = new Map();
  const ticks = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
    } catch {
      continue;
    }
    // After "pid (comm) ": state, ppid, ..., utime (14th field), stime (15th).
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ppid = Number(f[1]);
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(Number(d));
    ticks.set(Number(d), Number(f[11]) + Number(f[12]));
  }
  const out = new Map();
  const stack = [...(kids.get(root) || [])];
  while (stack.length) {
    const pid = stack.pop();
    out.set(pid, ticks.get(pid));
    stack.push(...(kids.get(pid) || []));
  }
  return out;
}

/**
 * How many cores the browser this test started (every process below the test's own) kept
 * busy over `ms`, after waiting `after` ms. Not the whole machine's: other work on a shared
 * machine does not count.
 */
export async function coresBusy(after, ms) {
  const sleep = (t) => new Promise((r) => setTimeout(r, t));
  await sleep(after);
  const a = treeTicks(process.pid);
  const t0 = performance.now();
  await sleep(ms);
  const b = treeTicks(process.pid);
  const seconds = (performance.now() - t0) / 1000;
  let ticks = 0;
  for (const [pid, t] of b) if (a.has(pid)) ticks += t - a.get(pid);
  return ticks / 100 / seconds;
}

/** Click Run on block i, wait for input() to ask for a line, type 36 into the focused field. */
export async function inputAsked(page, i) {
  await page.clickIn(i, '.mdpy-run');
  await page.waitFor((i) => !!document.querySelectorAll('div.mdpy-snippet')[i].querySelector('input.mdpy-ask'), i, 60000);
  const field = await page.eval((i) => {
    const f = document.activeElement;
    f.value = '36';
    return [f.className, f.getAttribute('aria-label'), document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-status').textContent];
  }, i);
  assert.deepEqual(field, ['mdpy-ask', 'A line for input(); Enter sends it', 'Waiting for your input…']);
}

/**
 * On the sessions page, with 'Grace' in the Input box: input() asks for the age, Enter sends
 * it and the run ends; asked again, Stop ends the wait and keeps the interpreter.
 */
export async function inputAnswered(page) {
  const i = SESSIONS.input;
  await inputAsked(page, i);
  assert.equal((await page.eval(page$.state, i)).out, 'Name? Age? ');
  await page.press('Enter');
  await page.waitFor(page$.idleWithOutput, i, 10000);
  assert.equal((await page.eval(page$.state, i)).out, 'Name? Age? 36\nGrace is 36\n');
  await inputAsked(page, i);
  await page.clickIn(i, '.mdpy-stop');
  await page.waitFor((i) => !document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-run').disabled, i, 5000);
  assert.equal((await page.eval(page$.state, i)).status, 'Stopped');
  assert.equal(await page.eval(() => document.querySelectorAll('input.mdpy-ask').length), 0);
  assert.equal(await page.eval(() => window.MDPY_RUNNER.loaded()), true, 'Stop while waiting keeps the interpreter');
}

/** Click Run on block i and wait for the run to end; returns {state, ms}. */
export async function run(page, i, timeout = 60000) {
  const t0 = Date.now();
  await page.clickIn(i, '.mdpy-run');
  await page.waitFor(page$.idleWithOutput, i, timeout);
  return { state: await page.eval(page$.state, i), ms: Date.now() - t0 };
}

/** Start a browser and the book server for a describe() block. */
export function fixture(browserName, opts = {}) {
  const ctx = {};
  before(async () => {
    ctx.root = buildBook();
    ctx.server = await serve(ctx.root);
    ctx.browser = await launch(browserName);
  });
  after(async () => {
    if (ctx.browser) await ctx.browser.close();
    if (ctx.server) await ctx.server.close();
  });
  ctx.open = async (chapter) => {
    const page = await ctx.browser.newPage(opts);
    await page.goto(ctx.server.url + chapter);
    await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
    page.build = await page.eval(page$.build);
    return page;
  };
  return ctx;
}

/** The asyncio chapter: every block's browser output equals its build output. */
export function asyncioTests(ctx, { jspi }) {
  test('asyncio (gather, TaskGroup, timeout, cancellation) prints what the build printed', async (t) => {
    const page = await ctx.open('asyncio.html');
    try {
      for (let i = 0; i < page.build.length; i++) {
        const { state, ms } = await run(page, i);
        t.diagnostic(`asyncio block ${i}: ${ms} ms`);
        assert.ok(page.build[i].length > 0, `block ${i} has build output`);
        assert.equal(state.out, page.build[i], `block ${i}`);
      }
      const info = await page.eval(() => window.MDPY_RUNNER.info());
      t.diagnostic(`WebAssembly stack switching (JSPI) in the worker: ${info.jspi}`);
      if (jspi !== undefined) assert.equal(info.jspi, jspi, `JSPI ${jspi ? 'available' : 'hidden'}`);
      assert.deepEqual(page.errors, []);
    } finally {
      await page.close();
    }
  });
}

export function runnerSuite(browserName) {
  describe(`runner in ${browserName}`, () => {
    const ctx = fixture(browserName);
    let page;

    test('a page loads no Pyodide before the first Run and shows its controls', async () => {
      page = await ctx.open('runner.html');
      const asked = ctx.server.requests.filter((p) => p.startsWith('/pyodide/'));
      assert.deepEqual(asked, [], 'no Pyodide request on page load');
      const ui = await page.eval(() => {
        const s = [...document.querySelectorAll('div.mdpy-snippet')];
        const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);
        return {
          runs: s.map((x) => !!x.querySelector('button.mdpy-run')),
          visible: s.map((x) => {
            const bar = x.querySelector('.mdpy-toolbar');
            return !!bar && getComputedStyle(bar).visibility === 'visible' && bar.getBoundingClientRect().height > 0;
          }),
          playground: document.querySelectorAll('.playground').length,
          dupIds: ids.filter((id, k) => ids.indexOf(id) !== k),
          note: s[4].querySelector('.mdpy-note') && s[4].querySelector('.mdpy-note').textContent,
          editors: document.querySelectorAll('textarea.mdpy-ta').length,
        };
      });
      assert.deepEqual(ui.runs, [true, true, true, true, false, true], 'the nobrowser block has no Run button');
      assert.deepEqual(ui.visible, [true, true, true, true, false, true], 'toolbars are visible without hover');
      assert.equal(ui.playground, 0, 'no block is a Rust playground');
      assert.deepEqual(ui.dupIds, []);
      assert.ok(ui.note, 'the nobrowser block keeps its note');
      assert.equal(ui.editors, 5);
    });

    test('Run prints what the build printed (first Run loads Pyodide)', async (t) => {
      const { state, ms } = await run(page, RUNNER.hello);
      t.diagnostic(`${browserName}: first Run, click to output, Pyodide loading included: ${ms} ms`);
      const info = await page.eval(() => window.MDPY_RUNNER.info());
      t.diagnostic(`${browserName}: Pyodide ${info.version} ready in ${info.loadMs} ms; JSPI ${info.jspi}`);
      assert.equal(state.out, page.build[RUNNER.hello]);
      assert.ok(ctx.server.requests.some((p) => p === '/pyodide/pyodide.mjs'), 'Pyodide came from the book host');
      const labels = await page.eval(() => [...document.querySelectorAll('.mdpy-output > .mdpy-label')].map((l) => l.textContent));
      assert.match(labels[0], /^Your run, Python 3\.\d+ in the browser$/, 'the browser output names its Python');
      assert.equal(labels[0], `Your run, Python ${info.python} in the browser`);
      assert.match(labels[1], /^Output, CPython 3\.\d+ at build$/, 'the build output names its Python');
      const again = await run(page, RUNNER.hello);
      t.diagnostic(`${browserName}: second Run: ${again.ms} ms`);
      assert.equal(again.state.out, page.build[RUNNER.hello]);
      if (ctx.browser.hosts) {
        const origin = new URL(ctx.server.url).origin;
        const foreign = [...ctx.browser.hosts].filter((h) => h !== origin && !/^(blob|data):|^null$/.test(h));
        assert.deepEqual(foreign, [], 'no request to any other host');
      }
    });

    test('output streams line by line, and a last line without newline shows', async () => {
      await page.clickIn(RUNNER.stream, '.mdpy-run');
      await page.waitFor((i) => {
        const c = document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-output[data-origin="browser"] code');
        return c && c.textContent.includes('tick 0');
      }, RUNNER.stream, 10000);
      const early = await page.eval(page$.state, RUNNER.stream);
      assert.ok(!early.idle, 'still running');
      assert.ok(!early.out.includes('tick 3'), `the first line arrived before the last: ${JSON.stringify(early.out)}`);
      await page.waitFor(page$.idleWithOutput, RUNNER.stream, 10000);
      const end = await page.eval(page$.state, RUNNER.stream);
      assert.equal(end.out, page.build[RUNNER.stream]);
      assert.ok(end.out.endsWith('done'));
    });

    test('an exception shows the traceback the build shows: the chapter\'s file and line', async () => {
      const { state } = await run(page, RUNNER.error);
      const out = state.out;
      assert.ok(out.startsWith('dividing\nTraceback (most recent call last):\n'), out);
      // The chapter's line, hidden lines counted (they are in the Markdown), as at build time.
      assert.match(out, /File "src\/runner\.md", line 32, in <module>\n {4}print\(total \/ helper\(\)\)/);
      assert.equal(out, page.build[RUNNER.error]);
      assert.ok(!/mdpy|pyodide|webloop/.test(out), `no runner frames: ${out}`);
      const last = (s) => s.trimEnd().split('\n').pop();
      assert.equal(last(out), last(page.build[RUNNER.error]));
      assert.equal(last(out), 'ZeroDivisionError: division by zero');
      assert.equal(state.status, 'ZeroDivisionError');
    });

    test('output that looks like HTML shows as text and runs no script', async () => {
      const { state } = await run(page, RUNNER.html);
      assert.equal(state.out, page.build[RUNNER.html]);
      const dom = await page.eval((i) => {
        const o = document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-output code');
        return { children: o.children.length, xss: window.__mdpyXss === undefined ? null : window.__mdpyXss };
      }, RUNNER.html);
      assert.deepEqual(dom, { children: 0, xss: null });
    });

    test('edit then Run (Ctrl+Enter) runs the edited code; edits survive a reload; Reset restores', async () => {
      const i = RUNNER.edit;
      await page.eval(page$.setCode, [i, 'print("edited", 6 * 7)\n']);
      await page.eval(page$.focusEditor, i);
      await page.press('Control+Enter');
      await page.waitFor(page$.idleWithOutput, i, 10000);
      assert.equal((await page.eval(page$.state, i)).out, 'edited 42\n');
      await page.goto(page.url());
      await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
      let st = await page.eval(page$.state, i);
      assert.equal(st.code, 'print("edited", 6 * 7)\n', 'the edit survived a reload');
      assert.equal(st.out, null, 'a reload shows the build output again');
      await page.clickIn(i, '.mdpy-reset');
      st = await page.eval(page$.state, i);
      assert.equal(st.code, 'print(6 * 7)');
      const left = await page.eval((i) => {
        const s = document.querySelectorAll('div.mdpy-snippet')[i];
        return [localStorage.getItem('mdpy:edit:' + s.mdpy.key), s.querySelector('.mdpy-output').dataset.origin];
      }, i);
      assert.deepEqual(left, [null, 'build']);
      // Run, then Reset brings back the build output.
      await run(page, i);
      await page.clickIn(i, '.mdpy-reset');
      const back = await page.eval((i) => {
        const s = document.querySelectorAll('div.mdpy-snippet')[i];
        return [s.querySelectorAll('.mdpy-output').length, s.querySelector('.mdpy-output').dataset.origin];
      }, i);
      assert.deepEqual(back, [1, 'build']);
    });

    test('Stop ends an endless await and an endless CPU loop within a second; the page stays responsive', async (t) => {
      const i = RUNNER.edit;
      const stopAfter = async (code, label) => {
        await page.eval(page$.setCode, [i, code]);
        await page.clickIn(i, '.mdpy-run');
        await page.waitFor((i) => {
          const c = document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-output[data-origin="browser"] code');
          return c && c.textContent.includes('started');
        }, i, 60000);
        await new Promise((r) => setTimeout(r, 300));
        const t0 = Date.now();
        const ping = await page.eval(() => new Promise((r) => requestAnimationFrame(() => r(1))));
        const pingMs = Date.now() - t0;
        assert.equal(ping, 1);
        const t1 = Date.now();
        await page.clickIn(i, '.mdpy-stop');
        await page.waitFor((i) => !document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-run').disabled, i, 5000);
        const ms = Date.now() - t1;
        const st = await page.eval(page$.state, i);
        const inPage = (await page.eval(() => window.MDPY_RUNNER.info())).stopMs;
        t.diagnostic(`${browserName}: Stop of ${label}: ${inPage} ms in the page, ${ms} ms seen by the test `
          + `(the page answered in ${pingMs} ms while it ran)`);
        assert.ok(inPage < 1000, `${label} stopped in ${inPage} ms`);
        assert.ok(ms < 2500, `${label} stopped in ${ms} ms, as the test saw it`);
        assert.ok(pingMs < 500, `page responsive while ${label} ran (${pingMs} ms)`);
        assert.equal(st.status, 'Stopped');
        return ms;
      };
      await stopAfter('import asyncio\n\nasync def main():\n    print("started")\n    await asyncio.sleep(3600)\n\nasyncio.run(main())\n', 'await asyncio.sleep(3600)');
      const kept = await page.eval(() => window.MDPY_RUNNER.loaded());
      assert.equal(kept, true, 'an await is cancelled without replacing the interpreter');
      await page.eval(page$.setCode, [i, 'print("again")\n']);
      const again = await run(page, i, 10000);
      assert.equal(again.state.out, 'again\n', 'the next Run works');
      await stopAfter('print("started")\nwhile True:\n    pass\n', 'while True: pass');
      // Stopped for real: within 10 s the loop's worker no longer burns a core (WebKit kept it
      // spinning for good until the worker gave JavaScriptCore a chance to end it).
      const t2 = Date.now();
      let busy = await coresBusy(0, 1000);
      while (busy >= 0.6 && Date.now() - t2 < 10000) busy = await coresBusy(0, 1000);
      t.diagnostic(`${browserName}: the stopped loop's core was free ${Date.now() - t2} ms after Stop `
        + `(cores busy over the last second: ${busy.toFixed(2)})`);
      assert.ok(busy < 0.6, `10 s after Stop, the stopped loop still keeps ${busy.toFixed(2)} cores busy`);
      await page.eval(page$.setCode, [i, 'print(6 * 7)\n']);
      const { state, ms } = await run(page, i);
      t.diagnostic(`${browserName}: first Run after a CPU loop was stopped (new interpreter): ${ms} ms`);
      assert.equal(state.out, '42\n');
      await page.clickIn(i, '.mdpy-reset');
    });

    test('output is cut at the build\'s limit, with the build\'s note, and the run ends', async () => {
      const i = RUNNER.edit;
      await page.eval(page$.setCode, [i, 'while True:\n    print("x" * 99)\n']);
      const { state } = await run(page, i, 20000);
      const note = '[mdbook-python: output cut at 65536 bytes (output-limit); the snippet was stopped there]\n';
      assert.ok(state.out.endsWith('\n' + note), state.out.slice(-200));
      assert.equal(state.out.length, 65536 + 1 + note.length);
      assert.equal(state.status, 'Output limit reached');
      await page.clickIn(i, '.mdpy-reset');
    });

    test('keys typed in the editor stay there: arrows, Tab; Escape leaves it', async () => {
      const url = page.url();
      await page.eval(page$.focusEditor, RUNNER.hello);
      await page.eval(() => document.activeElement.setSelectionRange(0, 0));
      for (const k of ['ArrowRight', 'ArrowLeft', 'ArrowDown', 'ArrowUp', 'ArrowRight']) await page.press(k);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(page.url(), url, 'arrow keys in the editor do not change the chapter');
      await page.eval(() => document.activeElement.setSelectionRange(0, 0));
      await page.press('Tab');
      let st = await page.eval(page$.state, RUNNER.hello);
      assert.ok(st.code.startsWith('    print("Hello'), 'Tab indents');
      await page.press('Shift+Tab');
      st = await page.eval(page$.state, RUNNER.hello);
      assert.ok(st.code.startsWith('print("Hello'), 'Shift+Tab dedents');
      await page.press('Escape');
      const focused = await page.eval(() => document.activeElement.className);
      assert.equal(focused, 'mdpy-run', 'Escape moves focus to the Run button');
      // The control: outside the editor the same key does change the chapter.
      await page.press('ArrowRight');
      await page.waitFor(() => location.pathname.endsWith('/asyncio.html'), null, 5000);
      await page.close();
    });

    test('sessions share state: running the 2nd block runs the 1st first', async () => {
      page = await ctx.open('deeper/sessions.html');
      const { state } = await run(page, SESSIONS.second);
      assert.equal(state.out, page.build[SESSIONS.second]);
      const first = await page.eval(page$.state, SESSIONS.first);
      assert.equal(first.out, page.build[SESSIONS.first], 'the first block ran, once, in its own output area');
      const twice = await run(page, SESSIONS.second);
      assert.ok(twice.state.out.startsWith('20 '), `same namespace: ${twice.state.out}`);
    });

    test('input lines reach input(); past them the reader types the next line, or is told to', async () => {
      const { state } = await run(page, SESSIONS.input);
      assert.equal(state.out, page.build[SESSIONS.input]);
      await page.eval(page$.setInput, [SESSIONS.input, 'Grace']);
      const { jspi } = await page.eval(() => window.MDPY_RUNNER.info());
      if (jspi) {
        await inputAnswered(page);
      } else {
        const short = await run(page, SESSIONS.input);
        assert.match(short.state.out, /^Name\? Age\? Traceback/);
        assert.match(short.state.out, /EOFError: EOF when reading a line\n$/);
        assert.equal(short.state.status, 'input() needs more lines: type them in the Input box, one per line, and Run again');
      }
      await page.close();
    });

    test('Copy link: the page\'s address with the edited code reopens it in its block, from no storage', async () => {
      page = await ctx.open('runner.html');
      const i = RUNNER.edit;
      const code = 'print("shared", "é ✓", 6 * 7)';
      await page.eval(page$.setCode, [i, code]);
      await page.clickIn(i, '.mdpy-share');
      await page.waitFor((i) => /Link|link/.test(document.querySelectorAll('div.mdpy-snippet')[i].querySelector('.mdpy-status').textContent), i, 5000);
      const link = await page.eval(() => location.href);
      assert.match(link, /#mdpy:[\w.]+:[\w-]+$/, 'the code is in the fragment');
      await page.clickIn(i, '.mdpy-reset');
      assert.equal(await page.eval(() => Object.keys(localStorage).filter((k) => k.startsWith('mdpy:edit:')).length), 0);
      await page.close();
      page = await ctx.browser.newPage();
      await page.goto(link);
      await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
      const st = await page.eval(page$.state, i);
      assert.equal(st.code, code, 'the link brought the code');
      assert.equal((await run(page, i)).state.out, 'shared é ✓ 42\n');
      await page.clickIn(i, '.mdpy-reset');
      await page.close();
    });

    test('a browser-only block: Run, no build output, a note saying why; it runs in the browser', async () => {
      page = await ctx.open('end.html');
      const ui = await page.eval(() => {
        const s = document.querySelector('div.mdpy-snippet');
        return { run: !!s.querySelector('.mdpy-run'), outputs: s.querySelectorAll('.mdpy-output').length, note: s.querySelector('.mdpy-note').textContent };
      });
      assert.deepEqual([ui.run, ui.outputs], [true, 0], 'Run, and no build output');
      assert.match(ui.note, /^Runs in your browser only \(Python 3\.\d+\): press Run to see its output; the book's build did not run it\.$/);
      const { state } = await run(page, 0);
      assert.equal(state.out, 'running on emscripten\n');
      await page.clickIn(0, '.mdpy-reset');
      assert.equal(await page.eval(() => document.querySelectorAll('.mdpy-output').length), 0, 'Reset: no output again');
      await page.close();
    });

    test('Restart (session blocks only) gives the session a fresh namespace; Reset keeps it', async () => {
      page = await ctx.open('deeper/sessions.html');
      const restarts = await page.eval(() => [...document.querySelectorAll('div.mdpy-snippet')].map((s) => !!s.querySelector('.mdpy-restart')));
      assert.deepEqual(restarts, [true, true, false], 'a Restart button on session blocks only');
      await run(page, SESSIONS.second);
      const twice = await run(page, SESSIONS.second);
      assert.ok(twice.state.out.startsWith('20 '), `same namespace: ${twice.state.out}`);
      await page.clickIn(SESSIONS.second, '.mdpy-reset');
      const kept = await run(page, SESSIONS.second);
      assert.ok(kept.state.out.startsWith('25 '), `Reset restores code only, not the state: ${kept.state.out}`);
      await page.clickIn(SESSIONS.second, '.mdpy-restart');
      const fresh = await run(page, SESSIONS.second);
      assert.equal(fresh.state.out, page.build[SESSIONS.second], 'after Restart the earlier block ran again first');
      await page.close();
    });

    test('mdBook\'s eye button shows and hides the hidden lines in the editor; code scrolls, never wraps', async () => {
      page = await ctx.open('runner.html');
      const i = RUNNER.error;
      const eye = (i) => {
        const pre = document.querySelectorAll('div.mdpy-snippet')[i].previousElementSibling;
        const b = pre.querySelector('.buttons > button:not(.clip-button)');
        b.click();
        return pre.querySelector('textarea').value;
      };
      const shown = await page.eval(eye, i);
      assert.equal(shown, 'def helper():\n    return 0\ntotal = 10\nprint("dividing")\nprint(total / helper())');
      await page.eval(page$.setCode, [i, shown.replace('total = 10', 'total = 12')]);
      const hidden = await page.eval(eye, i);
      assert.equal(hidden, 'total = 12\nprint("dividing")\nprint(total / helper())', 'hidden again, the edit kept');
      const { state } = await run(page, i);
      assert.match(state.out, /line 32, in <module>/, 'the hidden lines ran');
      await page.clickIn(i, '.mdpy-reset');
      const measure = (i) => {
        const code = document.querySelectorAll('div.mdpy-snippet')[i].previousElementSibling.querySelector('code');
        const ta = code.querySelector('textarea');
        const hl = code.querySelector('.mdpy-hl');
        return { scroll: code.scrollWidth - code.clientWidth, ta: ta.getBoundingClientRect().toJSON(), hl: hl.getBoundingClientRect().toJSON() };
      };
      await page.eval(page$.setCode, [RUNNER.hello, 'print(1)']);
      const short = await page.eval(measure, RUNNER.hello);
      await page.eval(page$.setCode, [RUNNER.hello, 'print("' + 'x'.repeat(300) + '")']);
      const box = await page.eval(measure, RUNNER.hello);
      assert.ok(box.scroll > 100, `the long line scrolls sideways (${box.scroll} px)`);
      assert.equal(box.hl.height, short.hl.height, 'one line, not wrapped');
      assert.equal(Math.round(box.ta.width), Math.round(box.hl.width), 'the editor lies over the text');
      assert.equal(Math.round(box.ta.height), Math.round(box.hl.height));
      // At the top: WebKit's WebDriver scrolls a button to the top edge, under mdBook's menu bar.
      await page.eval(() => window.scrollTo(0, 0));
      await page.clickIn(RUNNER.hello, '.mdpy-reset');
      await page.close();
    });

    test('an edit is kept by its code: it survives a block inserted above, shows a mark, and goes with Reset', async () => {
      page = await ctx.open('runner.html');
      const edit = RUNNER.edit;
      const mark = (i) => {
        const s = document.querySelectorAll('div.mdpy-snippet')[i];
        const m = s.querySelector('.mdpy-mark');
        return {
          mark: getComputedStyle(m).display !== 'none' && m.getBoundingClientRect().width > 0,
          text: m.textContent,
          label: s.querySelector('.mdpy-output[data-origin="build"] > .mdpy-label').textContent,
          code: s.previousElementSibling.querySelector('textarea').value,
        };
      };
      let m = await page.eval(mark, edit);
      assert.equal(m.mark, false, 'no mark before an edit');
      await page.eval(page$.setCode, [edit, 'print("mine")']);
      m = await page.eval(mark, edit);
      assert.equal(m.mark, true, 'an edited block shows its mark');
      assert.equal(m.text, 'edited');
      assert.match(m.label, /^Output of the original code, CPython 3\.\d+ at build$/);
      // The author inserts a block above it; the reader reloads.
      const inserted = buildBook('browser-book', {
        patch: { 'src/runner.md': (t) => t.replace('A plain block:', '```python\nprint("new")\n```\n\nA plain block:') },
      });
      ctx.server.use(inserted);
      try {
        // A new URL: the server lets browsers cache pages for 10 minutes.
        await page.goto(page.url() + '?v=1');
        await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
        assert.equal((await page.eval(page$.state, 0)).code, 'print("new")', 'the new block, unedited');
        m = await page.eval(mark, edit + 1);
        assert.equal(m.code, 'print("mine")', 'the edit moved with its block');
        assert.equal(m.mark, true);
        assert.equal((await page.eval(mark, 0)).mark, false, 'the new block is not marked');
        await page.clickIn(edit + 1, '.mdpy-reset');
        m = await page.eval(mark, edit + 1);
        assert.deepEqual([m.code, m.mark], ['print(6 * 7)', false], 'Reset restores the code and clears the mark');
        assert.match(m.label, /^Output, CPython 3\.\d+ at build$/);
        assert.equal(await page.eval(() => Object.keys(localStorage).filter((k) => k.startsWith('mdpy:edit:')).length), 0);
        // An edit of code the author then changed is dropped.
        await page.eval(page$.setCode, [edit + 1, 'print("mine")']);
        const changed = buildBook('browser-book', {
          patch: { 'src/runner.md': (t) => t.replace('print(6 * 7)', 'print(6 * 8)') },
        });
        ctx.server.use(changed);
        await page.goto(page.url().replace('?v=1', '?v=2'));
        await page.waitFor(() => document.querySelector('.mdpy-toolbar') !== null, null, 10000);
        m = await page.eval(mark, edit);
        assert.deepEqual([m.code, m.mark], ['print(6 * 8)', false], 'the new original, no edit');
        assert.equal(await page.eval(() => Object.keys(localStorage).filter((k) => k.startsWith('mdpy:edit:')).length), 0, 'the old edit is gone');
      } finally {
        ctx.server.use(ctx.root);
        await page.close();
      }
    });

    asyncioTests(ctx, { jspi: { chromium: true, webkit: false }[browserName] });
  });
}
