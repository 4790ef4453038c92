// Builds a fixture book with mdbook + mdbook-python and serves it on loopback, with the
// self-hosted Pyodide (the `pyodide` npm package) at /pyodide/.
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(here, '../../..');
export const PYODIDE_DIR = path.resolve(here, '../node_modules/pyodide');

function preprocessor() {
  const bin = process.env.MDPY_BIN || path.join(REPO, 'target/debug/mdbook-python');
  if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run \`cargo build\` in ${REPO} first`);
  return bin;
}

function mdbook() {
  const local = path.join(os.homedir(), '.cargo/bin/mdbook');
  return process.env.MDBOOK || (fs.existsSync(local) ? local : 'mdbook');
}

// Not part of a fixture's inputs: its build output and cache, and what tests/fixtures/rich-book/setup
// installs beside it (a virtual environment, downloaded wheels).
const LOCAL = new Set(['.mdbook-python', 'book', '.venv', '.wheels']);

function hashTree(h, dir) {
  for (const name of fs.readdirSync(dir).sort()) {
    const p = path.join(dir, name);
    if (LOCAL.has(name)) continue;
    if (fs.statSync(p).isDirectory()) hashTree(h, p);
    else h.update(p).update(fs.readFileSync(p));
  }
}

// The bundle drops comments that start a line (`//`, `/* */` and JSDoc), indentation and blank
// lines; runner.py loses whole-line `#` comments and blank lines, and its indentation shrinks
// to a quarter: as src/render/assets.rs (strip_js, strip_python) does.
export const stripJs = (s) => {
  let open = false;
  return s.split(/(?<=\n)/).map((line) => {
    let code = line.replace(/^ +/, '');
    if (open) {
      const end = code.indexOf('*/');
      if (end < 0) return '';
      open = false;
      code = code.slice(end + 2).replace(/^ +/, '');
    }
    for (;;) {
      if (code.startsWith('//')) code = '';
      else if (code.startsWith('/*')) {
        const end = code.indexOf('*/', 2);
        if (end >= 0) {
          code = code.slice(end + 2).replace(/^ +/, '');
          continue;
        }
        open = true;
        code = '';
      }
      break;
    }
    return code.trim() ? code : '';
  }).join('');
};
export const stripPython = (s) => s.split(/(?<=\n)/).filter((l) => !/^ *#/.test(l) && l.trim())
  .map((l) => l.replace(/^ +/, (m) => ' '.repeat(Math.ceil(m.length / 4)))).join('');
const fe = (f) => fs.readFileSync(path.join(REPO, 'front-end', f), 'utf8');
/**
 * The worker's source: worker.js with runner.py in its slot, as src/render/assets.rs
 * (worker_source) joins them; `stripped` as the bundle has it, else as written.
 */
export function workerSource({ stripped = false } = {}) {
  const [js, py] = stripped ? [stripJs(fe('worker.js')), stripPython(fe('runner.py'))] : [fe('worker.js'), fe('runner.py')];
  return js.replace("/* runner.py */ ''", () => JSON.stringify(py));
}
// CSS: comments, indentation, and white space around { } ; , > and after : outside strings
// (src/render/assets.rs, strip_css_comments and collapse_css).
const collapseCss = (s) => s.replace(/("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|\s+/g, (m, str, at, all) => {
  if (str) return str;
  const before = at === 0 || '{};,>:'.includes(all[at - 1]);
  const next = all[at + m.length];
  return before || next === undefined || '{};,>'.includes(next) ? '' : ' ';
});
export const stripCss = (s) => collapseCss(s.replace(/^ +/gm, '').replace(/\/\*[^]*?\*\/\n?/g, ''));

// The binary embeds front-end/ when it is compiled: testing an older copy would mislead.
function checkBundle(dir, bin) {
  const bundle = fs.readFileSync(path.join(dir, '.mdbook-python/assets/mdbook-python.js'), 'utf8');
  const css = fs.readFileSync(path.join(dir, '.mdbook-python/assets/mdbook-python.css'), 'utf8');
  const worker = JSON.stringify(workerSource({ stripped: true })).replace(/<\//g, '<\\/');
  if (!bundle.includes(stripJs(fe('runner.js'))) || !bundle.includes(worker) || !css.includes(stripCss(fe('runner.css')))) {
    throw new Error(`${bin} embeds an older front-end/: run \`cargo build\` in ${REPO}`);
  }
}

/**
 * Build tests/fixtures/<name> into a temp folder (cached by the inputs); returns the HTML root.
 * `bundle: false` skips the check that the binary embeds the current front-end/.
 * `patch` maps files of the fixture (`src/runner.md`) to functions of their text: a variant of
 * the book, as an author's next edit of it (built into a folder of its own).
 */
export function buildBook(name = 'browser-book', { bundle = true, patch = {} } = {}) {
  const src = path.join(REPO, 'tests/fixtures', name);
  const bin = preprocessor();
  const h = crypto.createHash('sha256').update(bin).update(String(fs.statSync(bin).mtimeMs));
  hashTree(h, src);
  const patched = Object.entries(patch).map(([f, fn]) => [f, fn(fs.readFileSync(path.join(src, f), 'utf8'))]);
  for (const [f, text] of patched) h.update(f).update(text);
  const variant = patched.length ? 'variant-' : '';
  const dir = path.join(os.tmpdir(), `mdpy-${name}-${variant}${h.digest('hex').slice(0, 16)}`);
  const out = path.join(dir, 'book');
  const check = () => bundle && checkBundle(dir, bin);
  if (fs.existsSync(path.join(out, 'index.html'))) return check(), out;
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(src, dir, { recursive: true, filter: (p) => !LOCAL.has(path.basename(p)) || p === src });
  for (const [f, text] of patched) fs.writeFileSync(path.join(dir, f), text);
  // A fixture's virtual environment is used where it is (book.toml says `python = ".venv/bin/python"`).
  if (fs.existsSync(path.join(src, '.venv'))) fs.symlinkSync(path.join(src, '.venv'), path.join(dir, '.venv'));
  try {
    execFileSync(mdbook(), ['build', dir, '-d', out], {
      env: { ...process.env, MDBOOK_PREPROCESSOR__PYTHON__COMMAND: bin },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`mdbook build failed:\n${e.stderr}`);
  }
  check();
  for (const old of fs.readdirSync(os.tmpdir())) {
    if (old.startsWith(`mdpy-${name}-${variant}`) && (variant || !old.startsWith(`mdpy-${name}-variant-`))
      && path.join(os.tmpdir(), old) !== dir) {
      fs.rmSync(path.join(os.tmpdir(), old), { recursive: true, force: true }); // earlier builds
    }
  }
  return out;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm',
  '.zip': 'application/zip', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.woff2': 'font/woff2', '.woff': 'font/woff', '.ttf': 'font/ttf', '.map': 'application/json',
};

/**
 * Serve `root` at / and Pyodide at /pyodide/ on 127.0.0.1 (random port).
 * `requests` records every path asked for, in order; `headers` are added to every answer;
 * `files` maps more paths (`/pyodide/x.whl`) to their contents, served before anything else.
 * `use(root)` serves another book from then on, at the same origin (same localStorage).
 */
export function serve(root, { headers = {}, files = {} } = {}) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    requests.push(url.pathname);
    if (Object.hasOwn(files, url.pathname)) {
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(url.pathname)] || 'application/octet-stream', ...headers });
      return res.end(files[url.pathname]);
    }
    let p = decodeURIComponent(url.pathname);
    let base = root;
    if (p.startsWith('/pyodide/')) {
      base = PYODIDE_DIR;
      p = p.slice('/pyodide'.length);
    }
    let file = path.join(base, path.normalize(p));
    if (!file.startsWith(base)) file = path.join(base, '404.html');
    if (fs.existsSync(file) && fs.statSync(file).isDirectory()) file = path.join(file, 'index.html');
    fs.readFile(file, (err, body) => {
      res.writeHead(err ? 404 : 200, {
        'Content-Type': TYPES[path.extname(file)] || 'application/octet-stream',
        'Cache-Control': 'max-age=600', // what GitHub Pages sends
        ...headers,
      });
      res.end(err ? 'not found' : body);
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const url = `http://127.0.0.1:${server.address().port}/`;
      resolve({
        url,
        requests,
        use: (r) => { root = r; },
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
      });
    });
  });
}
