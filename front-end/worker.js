// mdbook-python's Pyodide worker (a module worker from a Blob); mdpyBoot also runs under Node.
// In: init, run, line (for input()), forget (a session), cancel. Out: progress, ready, fatal, out, rich, ask, done. MDPY_RUNNER_PY says what a run is.
const MDPY_RUNNER_PY = `
import ast, asyncio, base64, builtins, codecs, io, json, linecache, os, sys, traceback, types

os.environ.setdefault('MPLBACKEND', 'Agg')

class OutputLimit(BaseException):
    pass

async def arun(main, *, debug=None, loop_factory=None):
    # asyncio.run() on Pyodide's running loop: no stack switching needed.
    if not asyncio.iscoroutine(main):
        raise ValueError('a coroutine was expected, got %r' % (main,))
    before = asyncio.all_tasks()
    task = asyncio.ensure_future(main)
    try:
        return await task
    finally:
        rest = [t for t in asyncio.all_tasks() if t not in before and t is not task]
        for t in rest:
            t.cancel()
        if rest:
            await asyncio.gather(*rest, return_exceptions=True)

def run_elsewhere(main, **kw):
    if asyncio.iscoroutine(main):
        main.close()
    raise RuntimeError('in the browser, asyncio.run() works at the top level of a block, not inside a function')

builtins.__mdpy_arun__, asyncio.run = arun, run_elsewhere

# Figures and display(), as at build time (src/execute/worker.py): R.show(mime, data, alt) posts them.
def b64(d):
    return base64.b64encode(d.encode() if isinstance(d, str) else d).decode()

def save(fig):
    b = io.BytesIO()
    fig.savefig(b, format=R.fmt, transparent=True)
    t = getattr(fig, '_suptitle', None)
    t = [t.get_text()] if t else []
    t = [x for x in t + [a.get_title() for a in fig.get_axes()] if x] + ['Figure']
    R.show('image/' + ('png' if R.fmt == 'png' else 'svg+xml'), b64(b.getvalue()), t[0], True)

def figures(keep=True):
    plt = sys.modules.get('matplotlib.pyplot')
    if plt:
        try:
            for n in plt.get_fignums() * keep:
                save(plt.figure(n))
        finally:
            plt.close('all')

def display(*objs, **kw):
    for o in objs:
        if 'matplotlib' in type(o).__module__ and hasattr(o, 'savefig'):
            save(o)
            sys.modules['matplotlib.pyplot'].close(o)
            continue
        for m in 'text/html', 'image/svg+xml', 'image/png', 'text/markdown':
            f = None if isinstance(o, type) else getattr(o, '_repr_%s_' % m.split('/')[1].split('+')[0], None)
            d = f() if callable(f) else None
            d = d[0] if isinstance(d, tuple) else d
            if d is not None and m[0] == 'i':
                d = b64(d)
            if isinstance(d, str):
                R.show(m, d, type(o).__name__)
                break
        else:
            print(repr(o))

builtins.display = display

class Rewrite(ast.NodeTransformer):
    # asyncio.run(x) outside functions -> await __mdpy_arun__(x) (top-level await).
    def __init__(self, tree):
        self.mods, self.funcs = {'asyncio'}, set()
        for n in ast.walk(tree):
            if isinstance(n, ast.Import):
                self.mods |= {a.asname or a.name for a in n.names if a.name == 'asyncio'}
            elif isinstance(n, ast.ImportFrom) and n.module == 'asyncio':
                self.funcs |= {a.asname or a.name for a in n.names if a.name == 'run'}

    def skip(self, node):
        return node

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = visit_ClassDef = visit_GeneratorExp = skip

    def visit_Call(self, node):
        self.generic_visit(node)
        f = node.func
        if (isinstance(f, ast.Attribute) and f.attr == 'run' and isinstance(f.value, ast.Name)
                and f.value.id in self.mods) or (isinstance(f, ast.Name) and f.id in self.funcs):
            call = ast.Call(ast.Name('__mdpy_arun__', ast.Load()), node.args, node.keywords)
            ast.copy_location(call.func, node)
            return ast.copy_location(ast.Await(ast.copy_location(call, node)), node)
        return node

class Sink(io.RawIOBase):
    def __init__(self, r):
        self.r, self.dec = r, codecs.getincrementaldecoder('utf-8')('replace')

    def writable(self):
        return True

    def write(self, b):
        r, b = self.r, bytes(b)
        if r.used + len(b) > r.limit:
            r.write(self.dec.decode(b[:max(0, r.limit - r.used)], True))
            r.used, r.truncated = r.limit + 1, True
            r.emit(('' if r.tail == '\\n' else '\\n') + '[mdbook-python: output cut at %d bytes'
                   ' (output-limit); the snippet was stopped there]\\n' % r.limit)
            raise OutputLimit()
        r.used += len(b)
        r.write(self.dec.decode(b))
        return len(b)

class Stdin(io.StringIO):
    # The Input box's lines; past them, the reader's next line where the page can wait for it.
    def readline(self, size=-1):
        line = super().readline(size)
        if line or size == 0 or R.ask is None:
            return line
        try:
            from pyodide.ffi import can_run_sync, run_sync
            sync = can_run_sync()
        except ImportError:
            sync = False
        got = R.ask(sync)
        if got is not None and not isinstance(got, str):
            got = run_sync(got)
        if isinstance(got, str):
            return got + '\\n'
        if got is False:
            raise KeyboardInterrupt
        return ''

class Runner:
    def __init__(self):
        self.sessions, self.maps, self.stopping, self.me = {}, {}, False, None
        self.fmt, self.show, self.ask = 'svg', lambda *a: None, None

    def fix(self, te, seen, top=False):
        if te is None or id(te) in seen:
            return
        seen.add(id(te))
        fr = [f for f in te.stack if not (f.filename == '<mdpy-runner>' or 'pyodide/' in f.filename)]
        first = [i for i, f in enumerate(fr) if f.filename in self.maps]
        fr = fr[first[0]:] if first else [] if top else fr
        for f in fr:
            f.lineno, f.end_lineno = self.shown(f.filename, f.lineno), self.shown(f.filename, f.end_lineno)
        te.stack = traceback.StackSummary.from_list(fr)
        for a in ('lineno', 'end_lineno'):
            v = getattr(te, a, None)
            if v is not None and getattr(te, 'filename', None) in self.maps:
                setattr(te, a, type(v)(self.shown(te.filename, int(v))))
        for sub in [te.__cause__, te.__context__] + list(getattr(te, 'exceptions', None) or ()):
            self.fix(sub, seen)

    def shown(self, filename, n):
        hidden = self.maps.get(filename)
        return max(1, n - sum(h < n - 1 for h in hidden)) if hidden and n else n

    def cancel(self):
        self.stopping = True
        for t in asyncio.all_tasks(asyncio.get_event_loop()):
            if t is not self.me:
                t.cancel()

    def write(self, text):
        if text:
            self.tail = text[-1]
            self.emit(text)

    def forget(self, session):
        self.sessions.pop(session, None)

    async def run(self, code, filename, hidden, stdin, session, limit, emit, show=None, line=None, ask=None):
        self.stopping, self.used, self.limit, self.emit = False, 0, int(limit), emit
        self.show, self.ask = show or (lambda *a: None), ask
        self.truncated, self.tail, self.me = False, '\\n', asyncio.current_task()
        lines = code.splitlines(True)
        if isinstance(line, int) and line > 0:
            # At its lines in the chapter, as the build compiles it: tracebacks name the
            # chapter's lines (hidden ones count), and every block of the file keeps its text.
            self.maps[filename] = []
            old = (linecache.cache.get(filename) or (0, None, [], filename))[2]
            old = old + ['\\n'] * (line - 1 + len(lines) - len(old))
            old[line - 1:line - 1 + len(lines)] = lines
            linecache.cache[filename] = (0, None, old, filename)
            code = '\\n' * (line - 1) + code
        else:
            self.maps[filename] = [int(h) for h in hidden]
            linecache.cache[filename] = (len(code), None, lines, filename)
        session = session if isinstance(session, str) else None  # JS null arrives as jsnull
        mod = self.sessions.get(session)
        if mod is None:
            mod = types.ModuleType('__main__')
            mod.__builtins__ = builtins
            if session is not None:
                self.sessions[session] = mod
        sys.modules['__main__'] = mod
        if 'matplotlib' in code:
            try:
                import matplotlib.pyplot as plt
                plt.show = lambda *a, **k: figures()
            except ImportError:
                pass
        sys.stdin = Stdin(stdin or '')
        sys.stdout, sys.stderr = [io.TextIOWrapper(Sink(self), encoding='utf-8', errors=e, write_through=True)
                                  for e in ('strict', 'backslashreplace')]
        status, error, text = 'ok', None, ''
        try:
            tree = ast.parse(code, filename)
            co = compile(ast.fix_missing_locations(Rewrite(tree).visit(tree)), filename, 'exec',
                         flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            res = eval(co, mod.__dict__)
            if asyncio.iscoroutine(res):
                await asyncio.ensure_future(res)
            figures()
        except OutputLimit:
            status = 'truncated'
        except SystemExit as e:
            if e.code not in (None, 0):
                status, error, text = 'error', 'SystemExit', e.code if isinstance(e.code, str) else ''
        except BaseException as e:
            if self.stopping or isinstance(e, KeyboardInterrupt):
                status = 'stopped'
            else:
                status, error = 'error', type(e).__name__
                te = traceback.TracebackException.from_exception(e)
                self.fix(te, set(), True)
                text = ''.join(te.format())
        try:
            figures(False)
        except BaseException:
            pass
        try:
            if text:
                sys.stderr.write(text.rstrip('\\n') + '\\n')
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        return json.dumps({'status': status, 'error': error, 'truncated': self.truncated})

R = Runner()
R
`;

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
  const runner = py.runPython(MDPY_RUNNER_PY, { globals: py.toPy({}), filename: '<mdpy-runner>' });
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
  const post = (m) => self.postMessage(m);
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
