# mdbook-python: the Pyodide side of the runner, run by front-end/worker.js (mdpyBoot) in the
# browser and, for `check --browser`, under Node. src/render/assets.rs joins it into the worker.
# The worker takes R, the Runner it drives, from the globals it runs this file in. Checked with
# ruff for Python 3.10+ (tests/browser/typecheck.test.mjs); it runs on Pyodide's Python.
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
            r.emit(('' if r.tail == '\n' else '\n') + '[mdbook-python: output cut at %d bytes'
                   ' (output-limit); the snippet was stopped there]\n' % r.limit)
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
            return got + '\n'
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
        self.truncated, self.tail, self.me = False, '\n', asyncio.current_task()
        lines = code.splitlines(True)
        if isinstance(line, int) and line > 0:
            # At its lines in the chapter, as the build compiles it: tracebacks name the
            # chapter's lines (hidden ones count), and every block of the file keeps its text.
            self.maps[filename] = []
            old = (linecache.cache.get(filename) or (0, None, [], filename))[2]
            old = old + ['\n'] * (line - 1 + len(lines) - len(old))
            old[line - 1:line - 1 + len(lines)] = lines
            linecache.cache[filename] = (0, None, old, filename)
            code = '\n' * (line - 1) + code
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
                sys.stderr.write(text.rstrip('\n') + '\n')
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        return json.dumps({'status': status, 'error': error, 'truncated': self.truncated})

R = Runner()
