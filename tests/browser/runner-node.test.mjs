// The worker's core (front-end/worker.js, mdpyBoot) under Node with the pyodide npm package:
// the same Python runner the browser uses gives the build's output for every runnable block
// of the fixture book. Keeps worker.js usable outside a browser (for parity checks).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { loadPyodide } from 'pyodide';
import { REPO, buildBook } from './lib/book.mjs';

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

function snippets(html) {
  const parts = html.split('<div class="mdpy-snippet" data-mdpy="');
  return parts.slice(1).map((chunk, n) => {
    const before = parts[n].split('</div>').pop();
    const build = /^[^]*?<div class="mdpy-output" data-origin="build">[^]*?<code class="nohighlight">([^]*?)<\/code>/
      .exec(chunk.split('<div class="mdpy-snippet"')[0].split('</main>')[0]);
    const data = JSON.parse(unescape(chunk.slice(0, chunk.indexOf('"'))));
    if (data.code == null) Object.assign(data, codeBefore(before));
    return { data, build: build ? unescape(build[1]) : '' };
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
  new Function(fs.readFileSync(path.join(REPO, 'front-end/worker.js'), 'utf8'))();
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
