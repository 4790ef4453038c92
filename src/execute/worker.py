# mdbook-python's interpreter worker. Started by src/execute/pool.rs as
#   python -s -c <BOOTSTRAP> <this file's text> <settings as JSON>
# (the bootstrap compiles this text under the name "<mdbook-python worker>", so
# tracebacks can drop the worker's own frames).
# It reads one JSON request per line on stdin and answers one JSON line each on
# its original stdout; snippets never see either. Requests:
#   {"op": "run", "fresh": bool, "mode": "exec"|"pycon", "code": str, "file": str,
#    "line": int, "stdin": str|null, "timeout": float, "limit": int, "end": bool}
#   {"op": "end"}   -> {"dirty": null | "why the worker must be replaced"}
# A run with "end": true also closes the job: its reply carries "dirty".
# A run's reply lists, besides the text, its "rich" items: matplotlib figures
# and objects given to display(), each at a byte offset of the text.
import builtins, gc, io, json, linecache, os, signal, sys, threading, types, warnings

# doctest, traceback, shutil and tempfile are imported when first needed:
# a worker's start-up is the fixed cost of every build.

_SELF = "<mdbook-python worker>"
_settings = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}

# The protocol keeps private copies of fds 0 and 1; snippets get /dev/null on
# fd 0 and the worker's stderr on fd 1 (stray C-level writes, child processes).
_proto_in = os.fdopen(os.dup(0), "rb")
_proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDONLY)
os.dup2(_devnull, 0)
os.dup2(2, 1)
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]

try:
    import resource

    for _name, _value in _settings.get("limits", {}).items():
        _which = getattr(resource, "RLIMIT_" + _name.upper(), None)
        if _which is not None and _value:
            _soft, _hard = resource.getrlimit(_which)
            _new = _value if _hard == resource.RLIM_INFINITY else min(_value, _hard)
            resource.setrlimit(_which, (_new, _hard))
except (ImportError, ValueError, OSError):
    pass

def _isolate_network():
    """Move this worker into a new network namespace holding only a loopback
    interface (up): snippets can serve and connect on 127.0.0.1, nothing
    else. Root can do it directly; others through a user namespace that maps
    their own uid. Returns what was done, for the build's report."""
    try:
        import ctypes, fcntl, socket, struct

        libc = ctypes.CDLL(None, use_errno=True)
        newnet, newuser = 0x40000000, 0x10000000
        if libc.unshare(newnet) != 0:
            uid, gid = os.getuid(), os.getgid()
            if libc.unshare(newuser | newnet) != 0:
                return "unavailable"
            for name, text in (("setgroups", "deny"), ("uid_map", "%d %d 1" % (uid, uid)),
                               ("gid_map", "%d %d 1" % (gid, gid))):
                with open("/proc/self/" + name, "w") as f:
                    f.write(text)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            flags = struct.unpack("16sH", fcntl.ioctl(s, 0x8913, struct.pack("16sH", b"lo", 0))[:18])[1]
            fcntl.ioctl(s, 0x8914, struct.pack("16sH", b"lo", flags | 1))
        finally:
            s.close()
        return "isolated"
    except (OSError, AttributeError):
        return "unavailable"


_network = _isolate_network() if _settings.get("network") == "loopback" else "host"

_base_dir = os.path.join(os.environ.get("TMPDIR") or "/tmp", "mdbook-python-%d" % os.getpid())
os.makedirs(_base_dir, mode=0o700, exist_ok=True)
os.environ["HOME"] = _base_dir
os.environ["TMPDIR"] = _base_dir
_job_dir = os.path.join(_base_dir, "job")
os.makedirs(_job_dir)


# Processes: Linux does not apply RLIMIT_NPROC to root, so the worker also
# counts the processes a job starts, in memory shared with every descendant,
# through an audit hook (which a snippet cannot remove).
import mmap

_WORKER_PID = os.getpid()
_FORKS = mmap.mmap(-1, 8)
_FORK_LIMIT = int(_settings.get("process_limit") or 0)
_SPAWN_EVENTS = frozenset(("os.fork", "os.forkpty", "os.posix_spawn", "os.spawn",
                           "subprocess.Popen", "os.system"))


def _audit(event, args):
    if event in _SPAWN_EVENTS:
        n = int.from_bytes(_FORKS[:8], "little") + 1
        _FORKS[:8] = n.to_bytes(8, "little")
        if _FORK_LIMIT and n > _FORK_LIMIT:
            raise RuntimeError("mdbook-python: this snippet started more than %d processes "
                               "(process-limit)" % _FORK_LIMIT)


sys.addaudithook(_audit)


class _Timeout(BaseException):
    pass


class _OutputLimit(BaseException):
    pass


def _on_alarm(signum, frame):
    raise _Timeout()


signal.signal(signal.SIGALRM, _on_alarm)
if hasattr(signal, "SIGXFSZ"):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


class _Bytes:
    def __init__(self, text):
        self._text = text

    def write(self, b):
        self._text.write(bytes(b).decode("utf-8", "replace"))
        return len(b)

    def flush(self):
        pass


class _Capture(io.TextIOBase):
    """stdout and stderr of a snippet, in the order they were written."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, limit):
        self.parts = []
        self.size = 0
        self.limit = limit
        self.truncated = False
        self.buffer = _Bytes(self)

    def writable(self):
        return True

    def isatty(self):
        return False

    def fileno(self):
        raise io.UnsupportedOperation("fileno")

    def write(self, s):
        if self.closed:
            raise ValueError("I/O operation on closed file.")
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not " + type(s).__name__)
        if self.truncated:
            raise _OutputLimit()
        s = s.encode("utf-8", "backslashreplace").decode("utf-8")
        n = len(s.encode("utf-8"))
        if self.size + n > self.limit:
            room = self.limit - self.size
            self.parts.append(s.encode("utf-8")[:room].decode("utf-8", "ignore"))
            self.size = self.limit
            self.truncated = True
            raise _OutputLimit()
        self.parts.append(s)
        self.size += n
        return len(s)

    def force(self, s):
        """Append the worker's own text (a traceback) even if the snippet
        closed the stream, still within the limit."""
        room = self.limit - self.size
        if room > 0:
            b = s.encode("utf-8", "backslashreplace")[:room]
            self.parts.append(b.decode("utf-8", "ignore"))
            self.size += len(b)
            if len(b) < len(s.encode("utf-8", "backslashreplace")):
                self.truncated = True

    def text(self):
        return "".join(self.parts)


# Rich output. display(obj), a builtin as in notebooks, records the first of
# the object's _repr_html_, _repr_svg_, _repr_png_, _repr_markdown_ (else it
# prints the repr); matplotlib figures (backend Agg, from the pool's
# environment) are saved when pyplot.show() is called and when the snippet
# ends. Each becomes {"at": byte offset in the text, "mime", "data" (images in
# base64), "alt", "text": the repr, "figure"}. matplotlib is touched only if
# the snippet imported pyplot.
_RICH_LIMIT = 8 * 1024 * 1024
_REPRS = (("_repr_html_", "text/html"), ("_repr_svg_", "image/svg+xml"),
          ("_repr_png_", "image/png"), ("_repr_markdown_", "text/markdown"))
_rich = {"items": None, "cap": None, "size": 0}


def _add(mime, data, alt=None, text="", figure=False):
    items, cap = _rich["items"], _rich["cap"]
    if items is None:
        return
    _rich["size"] += len(data)
    if _rich["size"] > _RICH_LIMIT:
        cap.write("[mdbook-python: figures and displays past %d MiB are left out]\n" % (_RICH_LIMIT >> 20))
        return
    items.append({"at": cap.size, "mime": mime, "data": data, "alt": alt, "text": text,
                  "figure": figure})


def _b64(data):
    import base64

    return base64.b64encode(data.encode("utf-8") if isinstance(data, str) else bytes(data)).decode("ascii")


def _save_figure(fig):
    import matplotlib

    fmt = "png" if _settings.get("figure_format") == "png" else "svg"
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "mdbook-python"}):
        fig.savefig(buf, format=fmt, metadata={"Date": None} if fmt == "svg" else {"Software": None})
    title = getattr(fig, "_suptitle", None)
    alt = title.get_text() if title is not None else ""
    for ax in fig.get_axes():
        alt = alt or ax.get_title()
    _add("image/" + ("svg+xml" if fmt == "svg" else "png"), _b64(buf.getvalue()), alt or None,
         "<Figure>", True)


def _figures(close_only=False):
    """Save every open figure (unless close_only), then close them all."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return
    try:
        if not close_only:
            for num in plt.get_fignums():
                _save_figure(plt.figure(num))
    finally:
        plt.close("all")


def _show(*args, **kwargs):
    _figures()


def display(*objs, **kwargs):
    """Show objects under the snippet the way a notebook would."""
    for obj in objs:
        if type(obj).__module__.startswith("matplotlib.") and hasattr(obj, "savefig"):
            _save_figure(obj)
            sys.modules["matplotlib.pyplot"].close(obj)
            continue
        text = repr(obj)
        for name, mime in _REPRS:
            method = None if isinstance(obj, type) else getattr(obj, name, None)
            data = method() if callable(method) else None
            if isinstance(data, tuple):
                data = data[0]
            if mime.startswith("image/") and isinstance(data, (str, bytes)):
                data = _b64(data)
            if isinstance(data, str):
                _add(mime, data, type(obj).__name__, text)
                break
        else:
            print(text)


builtins.display = display


class _PyplotHook:
    """Gives matplotlib.pyplot a show() that saves the figures (Agg's own
    show() only warns that it cannot show them)."""

    @staticmethod
    def find_spec(name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(name, path)
        loader = spec and spec.loader
        if loader is not None and hasattr(loader, "exec_module"):
            load = loader.exec_module

            def exec_module(module):
                load(module)
                module.show = _show

            loader.exec_module = exec_module
        return spec


sys.meta_path.insert(0, _PyplotHook)

_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGALRM)


def _baseline():
    builtins_now = dict(builtins.__dict__)
    builtins_now.pop("_", None)
    return {
        "path": list(sys.path),
        "meta_path": list(sys.meta_path),
        "builtins": builtins_now,
        "signals": [signal.getsignal(s) for s in _SIGNALS],
    }


_BASE = _baseline()
_ENV = dict(os.environ._data)
_RECURSION = sys.getrecursionlimit()
_SWITCH = sys.getswitchinterval()
_GC = gc.get_threshold()
_WARNINGS = list(warnings.filters)
_state = {"ns": None}


def _fresh():
    """A new job: a new `__main__`, and an empty working directory (one per
    worker, emptied after any job that left files in it: creating and
    removing a directory per job costs a millisecond on a slow disk)."""
    _FORKS[:8] = bytes(8)
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    _state["ns"] = main.__dict__
    os.chdir(_job_dir)


def _end_dir():
    os.chdir(_job_dir)
    if os.listdir(_job_dir):
        import shutil

        shutil.rmtree(_job_dir, ignore_errors=True)
        os.makedirs(_job_dir, exist_ok=True)


def _trim(tb):
    while tb is not None and tb.tb_frame.f_code.co_filename == _SELF:
        tb = tb.tb_next
    return tb


def _exception(exc, filename, first_line):
    import traceback

    tb = _trim(exc.__traceback__)
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    # Frames of the worker inside the snippet's (display(), pyplot.show()).
    text = "".join(l for l in text.splitlines(True) if not l.startswith('  File "%s"' % _SELF))
    line = None
    t = tb
    while t is not None:
        if t.tb_frame.f_code.co_filename == filename:
            line = t.tb_lineno - first_line + 1
        t = t.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == filename and exc.lineno:
        line = exc.lineno - first_line + 1
    return text, {
        "name": type(exc).__name__,
        "qualname": type(exc).__module__ + "." + type(exc).__qualname__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": str(exc),
        "line": line,
        "module": getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None,
    }


def _run_code(req, cap):
    """Run a script; return the exception record or None."""
    filename, first = req["file"], req["line"]
    source = "\n" * (first - 1) + req["code"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, _state["ns"])
    except SystemExit as e:
        if e.code not in (None, 0):
            text, record = _exception(e, filename, first)
            cap.force(text)
            return record
    except (_Timeout, _OutputLimit):
        raise
    except BaseException as e:
        text, record = _exception(e, filename, first)
        record["output_len"] = sum(len(p) for p in cap.parts)
        cap.force(text)
        return record
    return None


def _run_pycon(req, cap, results):
    import doctest, traceback

    filename, first = req["file"], req["line"]
    examples = doctest.DocTestParser().get_examples(req["code"])
    for ex in examples:
        start = len(cap.parts)
        line = first + ex.lineno
        source = "\n" * (line - 1) + ex.source
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        try:
            exec(compile(source, filename, "single", dont_inherit=True), _state["ns"])
        except (_Timeout, _OutputLimit):
            raise
        except BaseException as e:
            tb = _trim(e.__traceback__)
            cap.force("Traceback (most recent call last):\n")
            cap.force("".join(traceback.format_exception_only(type(e), e)))
            del tb
        results.append({"line": line, "source": ex.source, "want": ex.want,
                        "got": "".join(cap.parts[start:])})


def _run(req):
    if req.get("fresh") or _state["ns"] is None:
        _fresh()
    cap = _Capture(int(req.get("limit", 65536)))
    stdin = req.get("stdin")
    sys.stdin = io.StringIO(stdin if stdin is not None else "")
    sys.stdout = sys.stderr = cap
    reply = {"exception": None, "timed_out": False, "examples": [], "rich": []}
    _rich.update(items=reply["rich"], cap=cap, size=0)
    signal.setitimer(signal.ITIMER_REAL, float(req.get("timeout", 10)))
    try:
        if req.get("mode") == "pycon":
            _run_pycon(req, cap, reply["examples"])
        else:
            reply["exception"] = _run_code(req, cap)
        try:
            _figures()
        except (_Timeout, _OutputLimit):
            raise
        except Exception as e:
            text, record = _exception(e, req["file"], req["line"])
            cap.force(text)
            reply["exception"] = reply["exception"] or record
    except _Timeout as e:
        signal.setitimer(signal.ITIMER_REAL, 0)
        reply["timed_out"] = True
        _, record = _exception(e, req["file"], req["line"])
        reply["exception"] = record
    except _OutputLimit:
        pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        if os.getpid() != _WORKER_PID:
            # A process the snippet forked must never return into the worker.
            os._exit(0)
        _rich.update(items=None, cap=None)
        try:
            _figures(close_only=True)
        except Exception:
            pass
        sys.stdout, sys.stderr, sys.stdin = sys.__stdout__, sys.__stderr__, sys.__stdin__
    reply["output"] = cap.text()
    reply["truncated"] = cap.truncated
    return reply


def _end():
    """Close a job: clean up, restore what can be restored, and say whether
    the worker is still fit for the next job."""
    _state["ns"] = None
    sys.modules["__main__"] = types.ModuleType("__main__")
    _end_dir()
    sys.setrecursionlimit(_RECURSION)
    sys.setswitchinterval(_SWITCH)
    gc.set_threshold(*_GC)
    gc.enable()
    sys.settrace(None)
    sys.setprofile(None)
    warnings.filters[:] = _WARNINGS
    if "asyncio" in sys.modules:
        sys.modules["asyncio"].set_event_loop_policy(None)
    threads = [t for t in threading.enumerate() if t is not threading.main_thread()]
    for t in threads:
        t.join(0.05)
    alive = [t for t in threads if t.is_alive()]
    if any(not t.daemon for t in alive):
        return "thread: a non-daemon thread (%s) is still running, so as a script it would never exit" % alive[0].name
    if alive:
        return "a daemon thread it started is still running"
    try:
        while True:
            pid, _ = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                return "a process it started is still running"
    except ChildProcessError:
        pass
    now = _baseline()
    for key in ("path", "meta_path", "builtins", "signals"):
        if now[key] != _BASE[key]:
            return "it changed " + {"path": "sys.path", "meta_path": "sys.meta_path",
                                    "builtins": "builtins", "signals": "signal handlers"}[key]
    if os.environ._data != _ENV:
        os.environ.clear()
        os.environ.update({k.decode(): v.decode() for k, v in _ENV.items()})
    return None


def _send(obj):
    _proto_out.write(json.dumps(obj, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n")


def _main():
    _send({"ready": True, "version": list(sys.version_info[:3]), "network": _network})
    while True:
        line = _proto_in.readline()
        if not line:
            break
        req = json.loads(line)
        if req.get("op") == "end":
            _send({"dirty": _end()})
        else:
            reply = _run(req)
            if req.get("end"):
                reply["dirty"] = _end()
            _send(reply)
    import shutil

    shutil.rmtree(_base_dir, ignore_errors=True)


_main()
