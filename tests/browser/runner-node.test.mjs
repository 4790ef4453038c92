// The worker's core (front-end/worker.js, mdpyBoot) under Node with the pyodide npm package:
// the same Python runner the browser uses gives the build's output for every runnable block
// of the fixture book. Keeps worker.js usable outside a browser (for parity checks).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadPyodide } from 'pyodide';
import { buildBook, workerSource } from './lib/book.mjs';

const unescape = (s) => s.replace(/&(#\d+|#x[\da-f]+|lt|gt|amp|quot|apos);/gi, (_, e) => (
  e[0] === '#' ? String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : +e.slice(1))
    : { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[e]));

// The code of a snippet is the page's own code block (hidden lines are the
// `.boring` spans), as the runner reads it.
function codeBefore(html) {
  const m = /<pre><code class="language-python[^"]*">([^]*?)<\/code><\/pre>\s*$/.exec(html);
  if (!m) return { code: '', hidden: [] };
  const lines = m[1].split('\n');
  // mdBook wraps each hidden line in its own span.
  const hidden = [];
  lines.forEach((line, i) => line.includes('<span class="boring">') && hidden.push(i));
  const text = unescape(m[1].replace(/<[^>]+>/g, ''));
  return { code: text.endsWith('\n') ? text : text + '\n', hidden };
}

// The blocks of a page as the runner finds them: the chapter element lists
// them in page order; each Python code block is followed by its stdin and
// output text blocks, or by a div.mdpy-snippet (`h`).
function snippets(html) {
  const main = html.split('<main>')[1].split('</main>')[0];
  const m = /<div class="mdpy-chapter" hidden="" data-mdpy="([^"]*)"><\/div>/.exec(main);
  if (!m) return [];
  const chapter = JSON.parse(unescape(m[1]));
  const parts = main.split(/(?=<pre><code class="language-python)/).slice(1);
  assert.equal(parts.length, chapter.s.length, 'one entry per Python block');
  return chapter.s.map((data, n) => {
    const codeEnd = parts[n].indexOf('</pre>') + 6;
    Object.assign(data, codeBefore(parts[n].slice(0, codeEnd)));
    data.key = chapter.src + '#' + (data.i == null ? n : data.i);
    data.file = chapter.file;
    let rest = parts[n].slice(codeEnd);
    let build = null;
    if (data.h) {
      build = /^\s*<div class="mdpy-snippet">(?:<div class="mdpy-stdin">[^]*?<\/div>)?<div class="mdpy-output" data-origin="build"><div class="mdpy-label">[^<]*<\/div><pre><code class="nohighlight">([^]*?)<\/code>/.exec(rest);
    } else {
      const block = () => {
        const b = /^\s*<pre><code class="language-text">([^]*?)<\/code><\/pre>/.exec(rest);
        if (b) rest = rest.slice(b[0].length);
        return b;
      };
      if (data.stdin != null) assert.ok(block(), data.key + ': its stdin block');
      if (data.o !== 0) assert.ok((build = block()), data.key + ': its output block');
    }
    const text = build ? unescape(build[1]) : '';
    return { data, build: data.nonl ? text.replace(/\n$/, '') : text };
  });
}

test('the worker core runs under Node and prints what the build printed', async (t) => {
  const root = buildBook('browser-book', { bundle: false });
  // Cancelled asyncio sleeps leave their timers behind; clear them so Node can exit.
  const timers = new Set();
  const setTimer = globalThis.setTimeout;
  globalThis.setTimeout = (...a) => {
    const h = setTimer(...a);
    timers.add(h);
    return h;
  };
  t.after(() => timers.forEach(clearTimeout));
  new Function(workerSource())();
  const posted = [];
  const core = await globalThis.mdpyWorker.boot({ loadPyodide, post: (m) => posted.push(m) });
  let id = 0;
  let checked = 0;
  for (const page of ['runner.html', 'asyncio.html', 'deeper/sessions.html']) {
    for (const { data, build } of snippets(fs.readFileSync(path.join(root, page), 'utf8'))) {
      if (data.browser === false) continue;
      const m = {
        id: ++id, code: data.code, hidden: data.hidden, filename: '<block>', stdin: data.stdin,
        session: data.session && data.file + "\n" + data.session, limit: data.limit || 65536,
      };
      const res = await core.run(m);
      const out = posted.filter((p) => p.type === 'out' && p.id === m.id).map((p) => p.text).join('');
      if (data.raises) {
        assert.equal(res.error, data.raises, data.key);
        assert.equal(out.trimEnd().split('\n').pop(), build.trimEnd().split('\n').pop(), data.key);
      } else {
        assert.equal(res.status, 'ok', data.key);
        assert.equal(out, build, data.key);
      }
      checked++;
    }
  }
  const fresh = { id: ++id, code: 'print([k for k in globals() if k[0] != "_"])\n', hidden: [], filename: '<block>', limit: 65536 };
  await core.run(fresh);
  const names = posted.filter((p) => p.type === 'out' && p.id === fresh.id).map((p) => p.text).join('');
  assert.equal(names, '[]\n', 'a block outside a session starts with empty globals');
  t.diagnostic(`${checked} blocks agree with the build`);
  assert.ok(checked >= 11);
});
