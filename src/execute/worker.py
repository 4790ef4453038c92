# mdbook-python's interpreter worker. Started by src/execute/pool.rs as
#   python -s -c <BOOTSTRAP> <this file's text> <settings as JSON>
# (the bootstrap compiles this text under the name "<mdbook-python worker>", so
# tracebacks can drop the worker's own frames).
#
# The process started is a *template*: it sets up the sandbox once (network
# namespace, capabilities, seccomp, Landlock, hard rlimits), imports what every
# job needs, freezes its heap, and then never runs a snippet itself. For each
# job it forks a child that runs the job's programs in order, in one fresh
# `__main__`, and exits; so every job starts from the same pristine state,
# whatever ran before. The template reads the child's output at the file
# descriptor level (fds 1 and 2 share one pipe, as on a terminal) and its
# structured reports on a second pipe, kills whatever the job left running
# (it is a child subreaper) and removes the job's private folder. Only the
# template writes to the build: a job can forge nothing but its own output.
#
# Protocol (one JSON object per line; the Rust types are in pool.rs):
#   template -> build, once: {"ready": true, "version": [3, 13, 0], "sandbox": {...}}
#   build -> template: {"op": "job", "file": str, "argv0": str,
#       "programs": [{"mode": "exec"|"pycon", "code", "line", "stdin", "timeout", "limit"}]}
#   template -> build: {"results": [{"output", "truncated", "exception", "timed_out",
#       "examples", "rich", "crashed", "not_run"}], "left_running": str|null}
# child -> template, on the job's control pipe (JSON lines):
#   {"t": "rich", ...} a figure or display(), at the current output offset
#   {"t": "mark"}      the output so far is what the program printed (a traceback follows)
#   {"t": "example", "line", "source", "want", "got", "ok", "error"?}  a pycon
#                      statement's verdict, as doctest's runner decided it
#   {"t": "done", "exception", "timed_out", "left_running"}  a program ended
import builtins, gc, io, json, linecache, os, select, signal, sys, tempfile, threading, types, warnings

_SELF = "<mdbook-python worker>"
_settings = json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
_GRACE = 2.0

# The protocol keeps private copies of fds 0 and 1 (not inherited by jobs:
# each child closes them first thing). The template's own stray writes go
# to stderr; its stdin is /dev/null.
_proto_in = os.fdopen(os.dup(0), "rb")
_proto_out = os.fdopen(os.dup(1), "wb", buffering=0)
_devnull = os.open(os.devnull, os.O_RDWR)
os.dup2(_devnull, 0)
os.dup2(2, 1)
if sys.path and sys.path[0] in ("", "."):
    del sys.path[0]
sys.argv = [""]
# Ctrl-C raises KeyboardInterrupt in every job, as in a terminal, even when
# the build was started where SIGINT is ignored (a shell's background job,
# some CI runners), which Python would otherwise inherit.
signal.signal(signal.SIGINT, signal.default_int_handler)
_base_dir = _settings.get("base_dir") or tempfile.mkdtemp(prefix="mdbook-python-")
os.environ["HOME"] = os.environ["TMPDIR"] = _base_dir
tempfile.tempdir = None


# ---------------------------------------------------------------- sandbox --
# Linux only, through ctypes (the job boundary is a fork inside this
# process, where no other code can run). Every step reports what it did;
# the build says once what is missing.

def _libc():
    try:
        import ctypes

        return ctypes, ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None, None


_ctypes, _c = _libc() if sys.platform.startswith("linux") else (None, None)
_MACHINE = os.uname().machine
# (audit arch, socket, landlock_create_ruleset) per architecture: the
# landlock numbers are the same on every architecture.
_ARCH = {"x86_64": (0xC000003E, 41), "aarch64": (0xC00000B7, 198)}.get(_MACHINE)


def _isolate_network():
    """A new network namespace holding only a loopback interface (up):
    snippets serve and connect on 127.0.0.1, nothing else. Root does it
    directly, others through a user namespace that maps their own uid."""
    if _c is None:
        return "unavailable"
    try:
        import fcntl, socket, struct

        newnet, newuser = 0x40000000, 0x10000000
        if _c.unshare(newnet) != 0:
            uid, gid = os.getuid(), os.getgid()
            if _c.unshare(newuser | newnet) != 0:
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


def _drop_capabilities():
    """No capabilities, now or after exec (so root cannot nsenter, trace,
    mount, raise its limits or leave the cgroup); no new privileges."""
    if _c is None:
        return False
    for cap in range(64):
        _c.prctl(24, cap, 0, 0, 0)  # PR_CAPBSET_DROP (fails harmlessly past the last cap)
    _c.prctl(47, 4, 0, 0, 0)  # PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL
    header = (_ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_ctypes.c_uint32 * 6)()
    ok = _c.capset(header, data) == 0
    _c.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    return ok


def _seccomp_no_unix_sockets():
    """A seccomp filter: socket(AF_UNIX, ...) fails with EACCES (no
    file-system or abstract UNIX sockets; socketpair() still works), and so
    does any syscall of another architecture's ABI."""
    if _c is None or _ARCH is None:
        return False
    import struct

    arch, nr_socket = _ARCH
    ld, jeq, jset, ret = 0x20, 0x15, 0x45, 0x06
    allow, deny = 0x7FFF0000, 0x00050000 | 13  # SECCOMP_RET_ALLOW, SECCOMP_RET_ERRNO|EACCES
    prog = [
        (ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, deny),  # arch
        (ld, 0, 0, 0), (jset, 5, 0, 0x40000000),  # x32 numbers: deny
        (jeq, 0, 3, nr_socket), (ld, 0, 0, 16), (jeq, 0, 1, 1), (ret, 0, 0, deny),
        (ret, 0, 0, allow), (ret, 0, 0, deny),
    ]
    raw = b"".join(struct.pack("HBBI", *i) for i in prog)
    buf = _ctypes.create_string_buffer(raw, len(raw))

    class Fprog(_ctypes.Structure):
        _fields_ = [("len", _ctypes.c_ushort), ("filter", _ctypes.c_void_p)]

    fprog = Fprog(len(prog), _ctypes.addressof(buf))
    _c.prctl(38, 1, 0, 0, 0)
    return _c.prctl(22, 2, _ctypes.byref(fprog), 0, 0) == 0  # PR_SET_SECCOMP, FILTER


# Landlock: bits of the file-system accesses that write, by ABI version.
_LL_WRITE = {1: 0b1111111110010, 2: 0b11111111110010, 3: 0b111111111110010}
_LL_SCOPE_ABSTRACT_UNIX, _LL_SCOPE_SIGNAL = 1, 2


def _landlock_abi():
    if _c is None:
        return 0
    abi = _c.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)
    return max(abi, 0)


def _landlock(writable, abi):
    """Enter a new Landlock domain: writes only beneath `writable` (a list
    of (path, is_dir)), and from ABI 6 no signals or abstract UNIX sockets
    to processes outside the domain. Nested domains only ever narrow."""
    if abi < 1:
        return False
    import struct

    handled = _LL_WRITE[min(abi, 3)]
    scoped = (_LL_SCOPE_ABSTRACT_UNIX | _LL_SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("QQQ", handled, 0, scoped) if abi >= 4 else struct.pack("Q", handled)
    fd = _c.syscall(444, attr, len(attr), 0)
    if fd < 0:
        return False
    try:
        for path, is_dir in writable:
            try:
                pfd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            allowed = handled if is_dir else 0b10 | (0b100000000000000 if abi >= 3 else 0)
            rule = struct.pack("=Qi", allowed, pfd)
            _c.syscall(445, fd, 1, rule, 0)  # landlock_add_rule(PATH_BENEATH)
            os.close(pfd)
        _c.prctl(38, 1, 0, 0, 0)
        return _c.syscall(446, fd, 0) == 0  # landlock_restrict_self
    finally:
        os.close(fd)


def _subreaper():
    """Orphans of a job (daemons that double-forked) become our children,
    so they can be found and ended with their job."""
    return _c is not None and _c.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER


try:
    import resource

    for _name, _value in _settings.get("limits", {}).items():
        _which = getattr(resource, "RLIMIT_" + _name.upper(), None)
        if _which is not None and _value:
            _soft, _hard = resource.getrlimit(_which)
            _new = _value if _hard == resource.RLIM_INFINITY else min(_value, _hard)
            resource.setrlimit(_which, (_new, _new))  # hard too: a snippet cannot lift it
except (ImportError, ValueError, OSError):
    pass

_WRITABLE_DEV = [("/dev/null", False), ("/dev/zero", False), ("/dev/full", False),
                 ("/dev/tty", False), ("/dev/shm", True)]
_sandbox = {
    "network": _isolate_network() if _settings.get("network") == "loopback" else "host",
    "subreaper": _subreaper(),
    "capabilities": _drop_capabilities(),
    "seccomp": _seccomp_no_unix_sockets(),
}
_LANDLOCK_ABI = _landlock_abi() if _settings.get("filesystem", "private") == "private" else 0
_extra = [(p, True) for p in _settings.get("writable", [])]
_sandbox["landlock"] = _LANDLOCK_ABI if _landlock(
    [(_base_dir, True)] + _WRITABLE_DEV + _extra, _LANDLOCK_ABI) else 0


# ------------------------------------------------------ in the job's child --

class _Timeout(BaseException):
    pass


class _OutputLimit(BaseException):
    pass


_LIMIT_SIGNAL = signal.SIGRTMIN + 3 if hasattr(signal, "SIGRTMIN") else signal.SIGUSR2
_ctl = {"fd": -1, "ack": -1, "pid": -1, "reporting": False}
# What the child's reporting uses, bound now: a snippet that patches
# json.dumps or os.write (a lesson on mocking) must not break its report.
_encode = json.JSONEncoder(ensure_ascii=False).encode
_write, _read, _getpid, _sigmask = os.write, os.read, os.getpid, signal.pthread_sigmask


def _tell(obj, ack=True):
    """Report to the template and wait for its acknowledgement, so that the
    output written before this report is placed before it, and nothing
    written after it (the template reads output and reports from two
    pipes). The worker's timer signals wait meanwhile."""
    if _getpid() != _ctl["pid"]:
        return  # a process the snippet forked never speaks for the job
    data = (_encode(obj) + "\n").encode("utf-8", "backslashreplace")
    old = _sigmask(signal.SIG_BLOCK, {signal.SIGALRM, _LIMIT_SIGNAL})
    try:
        view = memoryview(data)
        while view:
            view = view[_write(_ctl["fd"], view):]
        if ack:
            _read(_ctl["ack"], 1)
    except OSError:
        pass
    finally:
        _sigmask(signal.SIG_SETMASK, old)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass


# Rich output. display(obj), a builtin as in notebooks, shows the first of
# the object's _repr_html_, _repr_svg_, _repr_png_, _repr_markdown_ (else it
# prints the repr); matplotlib figures (backend Agg) are saved when
# pyplot.show() is called and when the program ends. Each is reported to the
# template, which places it at the current offset of the output.
_RICH_LIMIT = 8 * 1024 * 1024
_REPRS = (("_repr_html_", "text/html"), ("_repr_svg_", "image/svg+xml"),
          ("_repr_png_", "image/png"), ("_repr_markdown_", "text/markdown"))
_rich = {"size": 0}


def _add(mime, data, alt=None, text="", figure=False):
    _rich["size"] += len(data)
    if _rich["size"] > _RICH_LIMIT:
        print("[mdbook-python: figures and displays past %d MiB are left out]" % (_RICH_LIMIT >> 20))
        return
    _flush()
    _tell({"t": "rich", "mime": mime, "data": data, "alt": alt, "text": text, "figure": figure})


def _b64(data):
    import base64

    return base64.b64encode(data.encode("utf-8") if isinstance(data, str) else bytes(data)).decode("ascii")


def _save_figure(fig):
    import matplotlib

    fmt = "png" if _settings.get("figure_format") == "png" else "svg"
    buf = io.BytesIO()
    with matplotlib.rc_context({"svg.hashsalt": "mdbook-python"}):
        # Transparent: the page's own background shows, and dark themes invert the figure (CSS).
        fig.savefig(buf, format=fmt, transparent=True,
                    metadata={"Date": None} if fmt == "svg" else {"Software": None})
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


def _trim(tb):
    while tb is not None and tb.tb_frame.f_code.co_filename == _SELF:
        tb = tb.tb_next
    return tb


def _record(exc, filename, first_line, limit, lines):
    """An exception's traceback text (worker frames removed) and record. Its
    line is that of the deepest frame in this program's own `lines` lines
    (an earlier program of the job, in the same file, may be deeper)."""
    import traceback

    tb = _trim(exc.__traceback__)
    text = "".join(traceback.format_exception(type(exc), exc, tb))
    # Frames of the worker inside the snippet's (display(), pyplot.show()).
    text = "".join(l for l in text.splitlines(True) if not l.startswith('  File "%s"' % _SELF))
    line = None
    t = tb
    while t is not None:
        if t.tb_frame.f_code.co_filename == filename and 0 <= t.tb_lineno - first_line < lines:
            line = t.tb_lineno - first_line + 1
        t = t.tb_next
    if isinstance(exc, SyntaxError) and exc.filename == filename and exc.lineno and exc.lineno >= first_line:
        line = exc.lineno - first_line + 1
    try:
        message = str(exc)
    except Exception:
        message = "<unprintable %s>" % type(exc).__name__
    return text, {
        "name": type(exc).__name__,
        "qualname": type(exc).__module__ + "." + type(exc).__qualname__,
        "mro": [c.__name__ for c in type(exc).__mro__],
        "message": message[:limit],
        "line": line,
        "module": getattr(exc, "name", None) if isinstance(exc, ModuleNotFoundError) else None,
    }


def _lines(p):
    """How many lines a program's code has."""
    return p["code"].count("\n") + 1


def _write_fd2(text, limit):
    """The worker's own text (a traceback, at most `limit` bytes), written
    even if the snippet closed or replaced sys.stderr."""
    data = text.encode("utf-8", "backslashreplace")[:limit]
    try:
        while data:
            data = data[os.write(2, data):]
    except OSError:
        pass


def _report(exc, filename, first, limit, lines):
    """Print a traceback as Python would and return its record."""
    _ctl["reporting"] = True
    _flush()
    text, record = _record(exc, filename, first, limit, lines)
    _tell({"t": "mark"})
    _write_fd2(text, limit)
    return record


def _run_code(ns, p):
    filename = p["file"]
    first = p["line"]
    source = "\n" * (first - 1) + p["code"]
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
        exec(code, ns)
    except SystemExit as e:
        if e.code not in (None, 0):
            return _report(e, filename, first, p["limit"], _lines(p))
    except (_Timeout, _OutputLimit):
        raise
    except BaseException as e:
        return _report(e, filename, first, p["limit"], _lines(p))
    return None


_STDIN_NAME = None


def _stdin_frames(text):
    """doctest names an example's code `<doctest stdin[3]>`; the REPL says
    `<stdin>`."""
    return _STDIN_NAME.sub("<stdin>", text) if _STDIN_NAME else text


def _run_pycon(ns, p):
    """Run a console session exactly as doctest runs it (its parser, its
    runner, its OutputChecker: directives, <BLANKLINE>, the traceback
    header rule; stdout compared, stderr not), and report each statement's
    verdict. Output also reaches fd 1, so the output limit holds."""
    import doctest, re, traceback

    global _STDIN_NAME
    _STDIN_NAME = re.compile(r"<doctest stdin\[\d+\]>")
    first = p["line"]
    try:
        examples = doctest.DocTestParser().get_examples(p["code"], "stdin")
    except ValueError as e:
        # doctest's words: "line 3 of the docstring for stdin lacks blank ..."
        m = re.match(r"line (\d+) of the \w+ for stdin (.*)", str(e), re.S)
        at, what = (int(m.group(1)), m.group(2)) if m else (1, str(e))
        _tell({"t": "example", "line": first + at - 1, "source": "", "want": "", "got": "",
               "ok": False, "error": what})
        return None
    real = sys.stdout

    class Tee(doctest._SpoofOut):
        last = ""

        def write(self, s):
            n = super().write(s)
            try:
                real.write(s)
            except Exception:
                pass
            return n

        def getvalue(self):
            self.last = super().getvalue()
            return self.last

    def tb_text(exc_info):
        """The traceback as the REPL prints it: frames of `<stdin>` show no
        source line (the REPL keeps none)."""
        tb = exc_info[2]
        while tb is not None and tb.tb_frame.f_code.co_filename in (doctest.__file__, _SELF):
            tb = tb.tb_next
        out, stdin = [], False
        for line in _stdin_frames("".join(traceback.format_exception(exc_info[0], exc_info[1], tb))).splitlines(True):
            if line.startswith("  File "):
                stdin = line.startswith('  File "<stdin>"')
            elif stdin and line.startswith("    "):
                continue
            else:
                stdin = False
            out.append(line)
        return "".join(out)

    class Runner(doctest.DocTestRunner):
        def report_start(self, out, test, example):
            pass

        def _say(self, example, got, ok):
            stop = _ctl.get("stop")
            if stop is not None:
                raise stop
            _flush()
            try:
                real.flush()
            except Exception:
                pass
            _tell({"t": "example", "line": first + example.lineno, "source": example.source,
                   "want": example.want, "got": got, "ok": ok})

        def report_success(self, out, test, example, got):
            self._say(example, got, True)

        def report_failure(self, out, test, example, got):
            self._say(example, got, False)

        def report_unexpected_exception(self, out, test, example, exc_info):
            self._say(example, self._fakeout.last + tb_text(exc_info), False)

    doctest._exception_traceback = tb_text
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        show(message, category, _stdin_frames(str(filename)), lineno, file, line)

    warnings.showwarning = showwarning
    runner = Runner(verbose=False, optionflags=0)
    runner._fakeout = Tee()
    test = doctest.DocTest(examples, ns, "stdin", p["file"], 0, None)
    try:
        runner.run(test, clear_globs=False)
    except KeyboardInterrupt as e:
        return _report(e, p["file"], first, p["limit"], _lines(p))
    finally:
        warnings.showwarning = show
    return None


def _join_threads(deadline_reached):
    """Wait for non-daemon threads as interpreter shutdown does; return the
    name of one still running when the time is up."""
    while True:
        alive = [t for t in threading.enumerate()
                 if t is not threading.main_thread() and not t.daemon and t.is_alive()]
        if not alive:
            return None
        if deadline_reached():
            return alive[0].name
        alive[0].join(0.05)


def _left_running(name):
    return "a non-daemon thread (%s) is still running, so as a script it would never exit" % name


def _recording_print(filename, first, prints):
    """A print() that also records what it writes to stdout and the line
    of the program that called it (the innermost frame in the program), as
    pytest-examples attributes output to `#>` comments."""
    real = builtins.print

    def print(*args, sep=" ", end="\n", file=None, flush=False):
        if file is None or file is sys.stdout:
            f = sys._getframe(1)
            while f is not None and f.f_code.co_filename != filename:
                f = f.f_back
            buf = io.StringIO()
            real(*args, sep=sep, end=end, file=buf)
            if f is not None:
                prints.append([f.f_lineno - first + 1, buf.getvalue()])
        real(*args, sep=sep, end=end, file=file, flush=flush)

    return print


def _program(ns, p, last):
    """Run one program; tell the template how it ended."""
    import time

    filename = p["file"]
    prints = []
    saved_print = builtins.print
    if p.get("inline"):
        builtins.print = _recording_print(filename, p["line"], prints)
    sys.stdin = io.StringIO(p.get("stdin") or "")
    timeout = float(p.get("timeout", 10))
    end = time.monotonic() + timeout
    reply = {"t": "done", "exception": None, "timed_out": False, "left_running": None}
    _ctl["reporting"] = False
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        try:
            if p.get("mode") == "pycon":
                reply["exception"] = _run_pycon(ns, p)
            else:
                reply["exception"] = _run_code(ns, p)
            try:
                _figures()
            except (_Timeout, _OutputLimit):
                raise
            except Exception as e:
                reply["exception"] = reply["exception"] or _report(e, filename, p["line"], p["limit"], _lines(p))
            if last:
                # As at a script's end: non-daemon threads, then atexit. No
                # timer signal during the joins (one can leave a thread that
                # is still running marked as stopped).
                signal.setitimer(signal.ITIMER_REAL, 0)
                left = _join_threads(lambda: time.monotonic() >= end)
                if left is not None:
                    reply["left_running"] = _left_running(left)
                else:
                    import atexit

                    signal.setitimer(signal.ITIMER_REAL, max(end - time.monotonic(), 0.001))
                    atexit._run_exitfuncs()
        except _Timeout as e:
            signal.setitimer(signal.ITIMER_REAL, 0)
            reply["timed_out"] = True
            reply["exception"] = _record(e, filename, p["line"], p["limit"], _lines(p))[1]
        except _OutputLimit:
            pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    try:
        _figures(close_only=True)
    except Exception:
        pass
    builtins.print = saved_print
    _flush()
    if os.getpid() != _ctl["pid"]:
        os._exit(1 if reply["exception"] else 0)  # a forked child ends as a script's would
    reply["prints"] = prints
    # The job's last report needs no answer: the process ends right after.
    _tell(reply, ack=not last)


def _on_alarm(signum, frame):
    # Remembered: doctest's runner catches every exception of a statement.
    _ctl["stop"] = _Timeout()
    raise _ctl["stop"]


def _on_limit(signum, frame):
    # Stop the snippet, not the worker's own reporting of how it ended (a
    # traceback that crosses the limit is cut by the template instead).
    if not _ctl["reporting"]:
        _ctl["stop"] = _OutputLimit()
        raise _ctl["stop"]


def _child(req, job_dir, out_w, ctl_w, ack_r):
    """The job's process: never returns."""
    try:
        _proto_in.close()
        _proto_out.close()
        os.dup2(out_w, 1)
        os.dup2(out_w, 2)
        os.close(out_w)
        _ctl["fd"], _ctl["ack"], _ctl["pid"] = ctl_w, ack_r, os.getpid()
        import atexit

        atexit._clear()
        os.chdir(job_dir)
        os.environ["HOME"] = os.environ["TMPDIR"] = job_dir
        if _LANDLOCK_ABI:
            _landlock([(job_dir, True)] + _WRITABLE_DEV + _extra, _LANDLOCK_ABI)
        signal.signal(signal.SIGALRM, _on_alarm)
        signal.signal(_LIMIT_SIGNAL, _on_limit)
        if hasattr(signal, "SIGXFSZ"):
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        # The template's objects stay frozen: the collector never walks
        # them, so the child does not copy the template's pages to do so.
        # As `python3 chapter.md` would: argv names the chapter, and so does
        # __file__; a console session has the REPL's [''] and no __file__.
        script = req["programs"][0]["file"]
        pycon = all(p.get("mode") == "pycon" for p in req["programs"])
        sys.argv = [""] if pycon else [script]
        main = types.ModuleType("__main__")
        main.__builtins__ = builtins
        if not pycon:
            main.__file__ = script
        sys.modules["__main__"] = main
        # A terminal's streams: stdout line-buffered, stderr unbuffered.
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), "utf-8", "strict",
                                      line_buffering=True)
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), "utf-8", "backslashreplace",
                                      write_through=True)
        sys.__stdout__, sys.__stderr__ = sys.stdout, sys.stderr
        last = len(req["programs"]) - 1
        for k, p in enumerate(req["programs"]):
            _program(main.__dict__, p, k == last)
    except BaseException:
        pass
    finally:
        _flush()
        os._exit(0)


# ------------------------------------------------------------ in the template --

def _decode(data):
    return bytes(data).decode("utf-8", "replace")  # as a terminal shows bad bytes


def _cut(data, limit):
    """At most `limit` bytes, not ending inside a UTF-8 sequence."""
    cut = bytes(data[:limit])
    for back in range(1, min(4, len(cut)) + 1):
        b = cut[-back]
        if b & 0xC0 != 0x80:
            if b >= 0xC0 and back < (2 if b < 0xE0 else 3 if b < 0xF0 else 4):
                cut = cut[:-back]
            break
    return cut


def _children():
    pids = []
    me = str(os.getpid())
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    stat = f.read()
            except OSError:
                continue
            if stat[stat.rfind(b")") + 2:].split()[1].decode() == me:
                pids.append(int(name))
    return pids


def _end_descendants():
    """Kill and reap every process the job left (they are our children, or
    become so as their parents die: we are a subreaper)."""
    while True:
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
        except ChildProcessError:
            return
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _describe(status):
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return {"signal": sig, "name": name}
    return {"exit": os.WEXITSTATUS(status)}


class _Program:
    def __init__(self, p):
        self.limit = int(p.get("limit", 65536))
        self.data = bytearray()
        self.size = 0
        self.truncated = False
        self.rich = []
        self.examples = []
        self.mark = None
        self.done = None

    def feed(self, chunk):
        room = self.limit - len(self.data)
        self.size += len(chunk)
        if len(chunk) > room:
            self.data += chunk[:max(room, 0)]
            self.truncated = True
            return False
        self.data += chunk
        return True

    def text(self):
        return _decode(_cut(self.data, self.limit) if self.truncated else self.data)


def _job(req):
    import shutil, time

    programs = req["programs"]
    job_dir = tempfile.mkdtemp(prefix="job-", dir=_base_dir)
    out_r, out_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    ack_r, ack_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        for fd in (out_r, ctl_r, ack_w):
            os.close(fd)
        _child(req, job_dir, out_w, ctl_w, ack_r)
    for fd in (out_w, ctl_w, ack_r):
        os.close(fd)
    os.set_blocking(out_r, False)
    os.set_blocking(ctl_r, False)
    try:
        pidfd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        pidfd = None

    results = []
    state = {"current": _Program(programs[0]), "start": time.monotonic(), "limited": False,
             "out_open": True, "ctl": bytearray()}

    def drain_out(budget=1 << 22):
        """Read what the job wrote so far (to EOF once every writer is gone),
        at most `budget` bytes: many writers must not keep us from the
        clock."""
        while state["out_open"] and budget > 0:
            budget -= 65536
            try:
                chunk = os.read(out_r, 65536)
            except BlockingIOError:
                return
            if not chunk:
                state["out_open"] = False
                return
            if not state["current"].feed(chunk) and not state["limited"]:
                state["limited"] = True  # stop the program, once
                try:
                    os.kill(pid, _LIMIT_SIGNAL)
                except OSError:
                    pass

    def handle(msg):
        current = state["current"]
        kind = msg.get("t") if isinstance(msg, dict) else None
        if kind == "rich":
            item = {k: msg.get(k) for k in ("mime", "data", "alt", "text", "figure")}
            if isinstance(item["mime"], str) and isinstance(item["data"], str):
                item["at"] = len(current.data)
                item["text"] = item["text"] if isinstance(item["text"], str) else ""
                item["alt"] = item["alt"] if isinstance(item["alt"], str) else None
                item["figure"] = bool(item["figure"])
                current.rich.append(item)
        elif kind == "mark":
            current.mark = len(_decode(current.data))
        elif kind == "example":
            line = msg.get("line")
            error = msg.get("error")
            current.examples.append({"line": line if isinstance(line, int) else 0,
                                     "source": str(msg.get("source")),
                                     "want": str(msg.get("want")), "got": str(msg.get("got")),
                                     "ok": msg.get("ok") is True,
                                     "error": error if isinstance(error, str) else None})
        elif kind == "done" and len(results) < len(programs):
            exc = msg.get("exception") if isinstance(msg.get("exception"), dict) else None
            if exc is not None and current.mark is not None:
                exc["output_len"] = current.mark
            left = msg.get("left_running")
            prints = msg.get("prints") if isinstance(msg.get("prints"), list) else []
            prints = [[x[0], x[1]] for x in prints if isinstance(x, list) and len(x) == 2
                      and isinstance(x[0], int) and x[0] >= 0 and isinstance(x[1], str)]
            results.append({"prints": prints, "output": current.text(), "truncated": current.truncated,
                            "exception": exc, "timed_out": bool(msg.get("timed_out")),
                            "examples": current.examples, "rich": current.rich,
                            "left_running": left if isinstance(left, str) else None})
            if len(results) < len(programs):
                state.update(current=_Program(programs[len(results)]), start=time.monotonic(),
                             limited=False)

    def read_reports(ack):
        """Handle every complete report line; each is placed after the output
        written before it, then acknowledged."""
        while True:
            try:
                chunk = os.read(ctl_r, 1 << 20)
            except BlockingIOError:
                break
            if not chunk:
                break
            state["ctl"] += chunk
            if len(state["ctl"]) > 64 << 20:  # a job that floods its report pipe
                state["ctl"].clear()
        *lines, rest = state["ctl"].split(b"\n")
        state["ctl"] = bytearray(rest)
        for line in lines:
            drain_out()
            try:
                handle(json.loads(line))
            except (ValueError, TypeError, AttributeError):
                pass
            if ack:
                try:
                    os.write(ack_w, b".")
                except OSError:
                    pass

    status, killed_for_time = None, False
    while status is None:
        k = min(len(results), len(programs) - 1)
        left = state["start"] + float(programs[k].get("timeout", 10)) + _GRACE - time.monotonic()
        if left <= 0:
            os.kill(pid, signal.SIGKILL)
            killed_for_time = True
            _, status = os.waitpid(pid, 0)
            break
        watch = [ctl_r] + ([out_r] if state["out_open"] else []) + ([pidfd] if pidfd is not None else [])
        ready, _, _ = select.select(watch, [], [], left if pidfd is not None else min(left, 0.02))
        if out_r in ready:
            drain_out()
        if ctl_r in ready:
            read_reports(ack=True)
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
    if pidfd is not None:
        os.close(pidfd)
    _end_descendants()
    # Every writer is gone (all descendants are ours to end, as subreaper):
    # read both pipes to their ends.
    os.set_blocking(out_r, not _sandbox["subreaper"])
    drain_out(budget=float("inf"))
    os.set_blocking(ctl_r, not _sandbox["subreaper"])
    read_reports(ack=False)
    for fd in (out_r, ctl_r, ack_w):
        os.close(fd)
    if len(results) < len(programs):
        current = state["current"]
        results.append({"output": current.text(), "truncated": current.truncated, "exception": None,
                        "timed_out": killed_for_time, "examples": current.examples,
                        "rich": current.rich, "left_running": None,
                        "crashed": None if killed_for_time else _describe(status)})
    while len(results) < len(programs):
        results.append({"not_run": True})
    shutil.rmtree(job_dir, ignore_errors=True)
    return {"results": results}


def _send(obj):
    _proto_out.write(json.dumps(obj, ensure_ascii=False).encode("utf-8", "backslashreplace") + b"\n")


def _main():
    gc.collect()
    if hasattr(gc, "freeze"):
        gc.freeze()
    _send({"ready": True, "version": list(sys.version_info[:3]), "sandbox": _sandbox})
    while True:
        line = _proto_in.readline()
        if not line:
            break
        req = json.loads(line)
        if req.get("op") == "job" and req.get("programs"):
            _send(_job(req))
    import shutil

    shutil.rmtree(_base_dir, ignore_errors=True)


_main()
