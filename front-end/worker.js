// @ts-check
// mdbook-python's Pyodide worker (a module worker from a Blob); mdpyBoot also runs under Node.
// In: init, run, line (for input()), forget (a session), cancel. Out: progress, ready, fatal, out, rich, ask, done. runner.py says what a run is.
// The Python side, front-end/runner.py: src/render/assets.rs (worker_source) puts its text here.
const MDPY_RUNNER_PY = /* runner.py */ '';

// The protocol between runner.js (the page) and this worker: one typedef per message kind.
// (JSDoc is for tsc, tests/browser/typecheck.test.mjs; the bundle drops it.)

/**
 * Page -> worker, first: start Pyodide.
 * @typedef {object} InitMessage
 * @property {'init'} type
 * @property {string} indexURL Pyodide's folder, absolute.
 * @property {string} book The book's root URL, absolute: its Pyodide cache is named after it.
 * @property {boolean} noJspi Act as if the browser had no JSPI (`mdpy:no-jspi`, for tests).
 * @property {Int32Array | null} interrupt Pyodide's interrupt buffer, on a cross-origin isolated page.
 * @property {Int32Array | null} askBuffer Where input() waits for the reader's line, likewise.
 * @property {string} [figureFormat] `svg` or `png`.
 * @property {string[]} packages book.toml's `packages`: names and absolute wheel URLs.
 */
/**
 * Page -> worker: run a block (after the runs before it); answered with `done`.
 * @typedef {object} RunMessage
 * @property {'run'} type
 * @property {number} id The run's number: every answer to it carries it.
 * @property {string} code The whole code, hidden lines included, ending in a line break.
 * @property {number[]} hidden Indexes of its hidden lines (tracebacks skip them, when no `line`).
 * @property {string} filename What tracebacks call the code: the chapter's file, or `<block>`.
 * @property {number} [line] The chapter line of the code's first line.
 * @property {string} stdin The Input box's lines.
 * @property {string | null} [session] The session's namespace to run in (none: a fresh one).
 * @property {number} limit The output limit in bytes.
 * @property {boolean} [packages] Install book.toml's `packages` first.
 */
/**
 * Page -> worker: the reader's line for a waiting input(), or false (Stop).
 * @typedef {{ type: 'line', text: string | false }} LineMessage
 */
/**
 * Page -> worker: drop a session's namespace (Restart).
 * @typedef {{ type: 'forget', session: string }} ForgetMessage
 */
/**
 * Page -> worker: stop the running block (its awaits are cancelled).
 * @typedef {{ type: 'cancel' }} CancelMessage
 */
/** @typedef {InitMessage | RunMessage | LineMessage | ForgetMessage | CancelMessage} ToWorker */

/**
 * Worker -> page: Pyodide's files are loaded, the interpreter starts (`text`: `start`).
 * @typedef {{ type: 'progress', text: string }} ProgressMessage
 */
/**
 * Worker -> page: ready to run; `version` is Pyodide's, `python` its Python's (`3.14`).
 * @typedef {{ type: 'ready', jspi: boolean, version: string, python: string }} ReadyMessage
 */
/**
 * Worker -> page: Pyodide could not start.
 * @typedef {{ type: 'fatal', message: string }} FatalMessage
 */
/**
 * Worker -> page: output of run `id` (stdout and stderr in the order written).
 * @typedef {{ type: 'out', id: number, text: string }} OutMessage
 */
/**
 * Worker -> page: a figure or display()ed object of run `id`: `data` is base64 for images.
 * @typedef {{ type: 'rich', id: number, mime: string, data: string, alt: string, figure: boolean }} RichMessage
 */
/**
 * Worker -> page: run `id`'s input() waits for a line (a `line` message or the askBuffer).
 * @typedef {{ type: 'ask', id: number }} AskMessage
 */
/**
 * How a run ended (runner.py's `Runner.run` returns it as JSON).
 * @typedef {object} RunResult
 * @property {'ok' | 'error' | 'truncated' | 'stopped'} status
 * @property {string | null} [error] The exception's name, for `error`.
 * @property {boolean} [truncated] Output was cut at the limit.
 */
/**
 * Worker -> page: run `id` ended.
 * @typedef {{ type: 'done', id: number } & RunResult} DoneMessage
 */
/** @typedef {ProgressMessage | ReadyMessage | FatalMessage | OutMessage | RichMessage | AskMessage | DoneMessage} FromWorker */

/**
 * What mdpyBoot needs: in a worker, from the `init` message; under Node, from parity.mjs or a test.
 * @typedef {object} BootOptions
 * @property {(m: FromWorker) => void} post
 * @property {string} [indexURL]
 * @property {(o: object) => Promise<any>} [loadPyodide] Loads Pyodide instead of `indexURL`'s pyodide.mjs.
 * @property {boolean} [noJspi]
 * @property {Int32Array | null} [interrupt]
 * @property {Int32Array | null} [askBuffer]
 * @property {boolean} [ask] input() may ask the page for lines.
 * @property {string} [figureFormat]
 * @property {string[]} [packages]
 */

/** @param {BootOptions} opts */
async function mdpyBoot(opts) {
  const post = opts.post;
  if (opts.noJspi) {
    delete WebAssembly.Suspending;
    delete WebAssembly.promising;
  }
  const load = opts.loadPyodide || (await import(opts.indexURL + 'pyodide.mjs')).loadPyodide;
  const py = await load(opts.loadPyodide ? {} : { indexURL: opts.indexURL, env: { PYTHONHASHSEED: '0' } });
  post({ type: 'progress', text: 'start' });
  // WebKit (JavaScriptCore) ends a terminated worker only when JavaScript runs: a Stopped
  // busy loop kept a core busy for good. An interrupt buffer, even one nothing can write
  // (no cross-origin isolation), makes CPython call into JavaScript now and then. Elsewhere
  // terminate() works alone, and those calls cost Firefox a fifth of a busy loop's speed.
  const ua = typeof navigator === 'undefined' ? '' : navigator.userAgent || '';
  const jsc = /AppleWebKit/.test(ua) && !/Chrom/.test(ua);
  if (opts.interrupt || jsc) py.setInterruptBuffer(opts.interrupt || new Int32Array(1));
  let emit = null;
  const dec = new TextDecoder();
  const raw = { write: (b) => (emit && emit(dec.decode(b, { stream: true })), b.length) };
  py.setStdout(raw);
  py.setStderr(raw);
  const scope = py.toPy({});
  py.runPython(MDPY_RUNNER_PY, { globals: scope, filename: '<mdpy-runner>' });
  const runner = scope.get('R');
  if (opts.figureFormat) runner.fmt = opts.figureFormat;
  // book.toml's `packages` (names, then wheel URLs with micropip), before the first run of a page that needs them.
  const pkgs = opts.packages || [];
  const quiet = { messageCallback() {}, errorCallback() {} };
  let installed = null;
  let answer = null;
  const install = async () => {
    const urls = pkgs.filter((p) => p.includes('/'));
    await py.loadPackage(pkgs.filter((p) => !urls.includes(p)).concat(urls.length ? ['micropip'] : []), quiet);
    for (const u of urls) await py.pyimport('micropip').install(u);
  };
  return {
    py,
    jspi: typeof WebAssembly.Suspending === 'function',
    cancel: () => emit && runner.cancel(),
    forget: (session) => runner.forget(session),
    answer: (text) => answer && (answer(text), (answer = null)),
    python: py.runPython('import sys; "%d.%d" % sys.version_info[:2]'),
    // Output is posted as it comes, at most every 40 ms.
    /** @param {RunMessage} m @returns {Promise<RunResult>} */
    async run(m) {
      let buf = '';
      let last = 0;
      let timer = 0;
      const flush = () => {
        clearTimeout(timer);
        timer = 0;
        last = Date.now();
        if (buf) post({ type: 'out', id: m.id, text: buf });
        buf = '';
      };
      emit = (text) => {
        buf += text;
        if (Date.now() - last >= 40 || buf.length > 65536) flush();
        else if (!timer) timer = setTimeout(flush, 40);
      };
      const show = (mime, data, alt, figure) => {
        flush();
        post({ type: 'rich', id: m.id, mime, data, alt, figure: figure === true });
      };
      // input() past the Input box's lines: the page asks the reader. With a shared buffer
      // (a cross-origin isolated page) this thread waits for the line; with JSPI, Python awaits
      // it; otherwise input() sees the end of input. A line is a string; false is Stop.
      const ask = (sync) => {
        const b = opts.askBuffer;
        if (!b && !sync) return undefined;
        flush();
        if (b) Atomics.store(b, 0, 0);
        post({ type: 'ask', id: m.id });
        if (!b) return new Promise((r) => (answer = r));
        Atomics.wait(b, 0, 0);
        if (Atomics.load(b, 0) !== 1) return false;
        return new TextDecoder().decode(new Uint8Array(b.buffer, 8, b[1]).slice());
      };
      let res;
      try {
        await py.loadPackagesFromImports(m.code, quiet).catch(() => {});
        if (m.packages && pkgs.length && !installed) {
          installed = install().catch((e) => {
            installed = null;
            emit('Could not install ' + pkgs + ': ' + e + '\n');
          });
        }
        await installed;
        res = JSON.parse(await runner.run(m.code, m.filename, m.hidden || [], m.stdin || '', m.session || undefined, m.limit, emit, show, m.line || undefined, opts.ask ? ask : undefined));
      } catch (e) {
        emit(String((e && e.message) || e) + '\n');
        res = { status: 'error', error: 'InternalError' };
      }
      flush();
      emit = null;
      return res;
    },
  };
}

// Pyodide's files from this book's Cache API cache, named after the book's root URL (two books
// of one origin keep their own) and a hash of pyodide-lock.json, fetched afresh each time (the
// cached one offline): a pyodide/ folder replaced by another release at the same URLs is never
// served stale, and the book's older caches go. No Cache API (an insecure origin, some private
// modes): the network, as before.
async function bookCache(indexURL, book) {
  const net = self.fetch.bind(self);
  const lockURL = indexURL + 'pyodide-lock.json';
  const pre = 'mdpy ' + book + ' ';
  const head = (r, k) => r.headers.get(k);
  try {
    const mine = (await caches.keys()).filter((k) => k.startsWith(pre));
    let lock = await net(lockURL, { cache: 'no-cache' }).catch(() => ({}));
    for (const k of mine) if (!lock.ok) lock = await (await caches.open(k)).match(lockURL);
    if (!lock.ok) return;
    const bytes = await lock.arrayBuffer();
    const name = pre + btoa(String.fromCharCode(...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))));
    const cache = await caches.open(name);
    const again = () => new Response(bytes, { headers: lock.headers });
    if (!mine.includes(name)) await cache.put(lockURL, again());
    for (const k of mine) if (k !== name) caches.delete(k);
    self.fetch = async (req, init) => {
      const url = req instanceof Request ? req.url : String(req);
      const ours = url.startsWith(indexURL);
      if (url === lockURL) return again();
      const res = ours && (await cache.match(url).catch(() => 0));
      if (res && 'userAgentData' in navigator && /\.wasm$/.test(url)) {
        // Chromium keeps a wasm's compiled code with its HTTP cache entry only: that entry if it
        // is this very response (WebKit would ask the network); another origin's (a CDN's) wasm
        // as before, through the HTTP cache, and this copy offline.
        const mine = new URL(url).origin === location.origin;
        const h = await net(url, mine ? { cache: 'only-if-cached', mode: 'same-origin' } : init).catch(() => 0);
        if (h.ok && (!mine || ['date', 'etag', 'last-modified', 'content-length'].every((k) => head(h, k) === head(res, k)))) return h;
      }
      return res || net(req, init).then((r) => (r.ok && ours && cache.put(url, r.clone()).catch(() => {}), r));
    };
  } catch (e) {
    // No Cache API here.
  }
}

if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  let core = null;
  let ready = null;
  let ia = null;
  let queue = Promise.resolve();
  /** @param {FromWorker} m */
  const post = (m) => self.postMessage(m);
  /** @param {MessageEvent<ToWorker>} e */
  self.onmessage = ({ data: m }) => {
    if (m.type === 'init') {
      ia = m.interrupt || null;
      core = bookCache(m.indexURL, m.book).then(() => mdpyBoot({ indexURL: m.indexURL, noJspi: m.noJspi, interrupt: ia, post, packages: m.packages, figureFormat: m.figureFormat, askBuffer: m.askBuffer, ask: true }));
      core.then(
        (c) => post({ type: 'ready', jspi: (ready = c).jspi, version: c.py.version, python: c.python }),
        (e) => post({ type: 'fatal', message: String((e && e.message) || e) }),
      );
    } else if (m.type === 'run') {
      queue = queue.then(async () => {
        const c = await core;
        if (ia) Atomics.store(ia, 0, 0);
        post(Object.assign({ type: 'done', id: m.id }, await c.run(m)));
      }).catch(() => {});
    } else if (m.type === 'line') {
      if (ready) ready.answer(m.text);
    } else if (m.type === 'forget') {
      queue = queue.then(async () => (await core).forget(m.session)).catch(() => {});
    } else if (m.type === 'cancel') {
      // Cleared first, or the cancelling call itself is interrupted.
      if (ia) Atomics.store(ia, 0, 0);
      if (ready) ready.cancel();
    }
  };
} else {
  globalThis.mdpyWorker = { boot: mdpyBoot, RUNNER_PY: MDPY_RUNNER_PY };
}
