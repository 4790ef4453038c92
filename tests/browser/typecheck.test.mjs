// The front end's static checks, no browser needed: tsc over front-end/ (`// @ts-check` and the
// JSDoc types that mirror src/render/page_data.rs and the worker protocol; front-end/tsconfig.json),
// and ruff over the worker's Python (front-end/runner.py), which must hold on Python 3.10 and later.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { REPO } from './lib/book.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNNER_PY = path.join(REPO, 'front-end/runner.py');
const output = (r) => `${r.stdout || ''}${r.stderr || ''}${r.error ? r.error.message : ''}`;

test('tsc: runner.js, worker.js and quiz.js type-check', () => {
  const tsc = path.join(here, 'node_modules/typescript/bin/tsc');
  assert.ok(fs.existsSync(tsc), `${tsc} is missing: run \`npm ci\` in tests/browser`);
  const r = spawnSync(process.execPath, [tsc, '--project', path.join(REPO, 'front-end/tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `tsc found type errors:\n${output(r)}`);
});

test('ruff: runner.py lints clean for Python 3.10+', () => {
  // Pinned in scripts/lib.sh (ensure_lint_tools), which installs it here from PyPI.
  const ruff = path.join(here, '.venv/bin/ruff');
  assert.ok(fs.existsSync(ruff), `${ruff} is missing: scripts/test installs it (scripts/lib.sh, ensure_lint_tools)`);
  // Pyflakes' rules (F), pycodestyle's errors (E4, E7, E9) and bugbear's (B); the imports stay on
  // one line (E401) to keep the bundle small.
  const args = ['check', '--isolated', '--no-cache', '--target-version', 'py310', '--select', 'E4,E7,E9,F,B', '--ignore', 'E401', RUNNER_PY];
  const r = spawnSync(ruff, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ruff:\n${output(r)}`);
});

test('runner.py compiles without warnings on this machine\'s python3', () => {
  const code = 'import sys; compile(open(sys.argv[1], encoding="utf-8").read(), sys.argv[1], "exec")';
  const r = spawnSync('python3', ['-W', 'error', '-c', code, RUNNER_PY], { encoding: 'utf8' });
  assert.equal(r.status, 0, output(r));
});
