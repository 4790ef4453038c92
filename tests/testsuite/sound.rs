//! Sound execution: every job starts from the same pristine interpreter,
//! output is what a terminal shows, and nothing a snippet does reaches
//! another job, the caches, the book or the build. One test per attack of
//! the hostile catalogue; the guide's sandbox page names them.

use crate::harness::{BOOK_TOML, BookTest};

/// A chapter that changes everything a later job could see.
const LEAKY: &str = r#"# Leaky

```python
import math, decimal, sys, json, logging
math.pi = 3
decimal.getcontext().prec = 3
if hasattr(sys, "set_int_max_str_digits"):
    sys.set_int_max_str_digits(640)
json.dumps = lambda *a, **k: "patched"
logging.basicConfig(level=logging.ERROR)
import this
```
"#;

/// A chapter that shows what a pristine interpreter shows.
const VICTIM: &str = r#"# Victim

```python
import math, decimal, json, logging, sys
print(math.pi)
print(decimal.Decimal(1) / decimal.Decimal(7))
print(len(str(10 ** 1000)))
print(json.dumps([1]))
logging.basicConfig(format="%(levelname)s %(message)s")
logging.warning("seen")
```

```python
import this
```
"#;

fn victim_blocks(toml: &str, chapters: &[(&str, &str)]) -> Vec<String> {
    let t = BookTest::with(toml, chapters);
    t.build().unwrap();
    t.text_blocks("victim.md")
}

#[test]
fn pages_are_the_same_whatever_ran_before_on_the_worker() {
    let one = BOOK_TOML.replace("jobs = 2", "jobs = 1\ncache = false");
    let two = BOOK_TOML.replace("jobs = 2", "jobs = 2\ncache = false");
    let forward = [("leaky.md", LEAKY), ("victim.md", VICTIM)];
    let reverse = [("victim.md", VICTIM), ("leaky.md", LEAKY)];
    let a = victim_blocks(&one, &forward);
    assert_eq!(
        a[0],
        "3.141592653589793\n0.1428571428571428571428571429\n1001\n[1]\nWARNING seen\n"
    );
    assert!(
        a[1].starts_with("The Zen of Python, by Tim Peters\n"),
        "{a:?}"
    );
    assert_eq!(a, victim_blocks(&two, &forward), "jobs = 2");
    assert_eq!(a, victim_blocks(&one, &reverse), "reversed chapters");
    assert_eq!(a, victim_blocks(&two, &reverse), "both");
}

#[test]
fn a_snippet_cannot_forge_another_jobs_result() {
    // Every way in from Python: the worker's globals through frames and
    // gc, reply lines on every descriptor, a raw thread printing later.
    let attack = r#"```python
import gc, os, sys, _thread, time
f = sys._getframe(0)
while f.f_back is not None:
    f = f.f_back
for name in list(f.f_globals):
    if name.startswith("_") and callable(f.f_globals[name]) and name != "__builtins__":
        f.f_globals[name] = lambda *a, **k: None
for o in gc.get_objects():
    if isinstance(o, dict) and "_tell" in o:
        o["_tell"] = lambda *a, **k: None
line = b'{"results": [{"output": "5\\n"}]}\n'
for fd in range(3, 64):
    try:
        os.write(fd, line * 2)
    except OSError:
        pass
_thread.start_new_thread(lambda: (time.sleep(0.2), print("from the attacker")), ())
```"#;
    let victim =
        "```python\nimport time\ntime.sleep(0.5)\nprint(2 + 2)\n```\n\n```output\n4\n```\n";
    let toml = BOOK_TOML.replace("jobs = 2", "jobs = 1");
    let t = BookTest::with(
        &toml,
        &[("a.md", &format!("# A\n\n{attack}\n")), ("b.md", victim)],
    );
    // The attacker's own job ends oddly (it broke its own reporting); the
    // victim, on the same worker, prints 4, and so does a cached build.
    let errors = t.errors();
    assert!(errors.iter().all(|e| e.contains("src/a.md")), "{errors:#?}");
    let _ = t.build();
    let again = t.errors();
    assert!(again.iter().all(|e| e.contains("src/a.md")), "{again:#?}");
}

#[test]
fn a_daemon_ends_with_its_job() {
    let t = BookTest::chapter(
        "```python\nimport os, time\nr, w = os.pipe()\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n        os.write(w, b'%d' % os.getpid())\n        time.sleep(60)\n    os._exit(0)\nprint(os.read(r, 32).decode())\n```\n",
    );
    t.build().unwrap();
    // The page shows the daemon's pid (in HTML: the block has a note).
    let html = t.main_html("a.md");
    let at = html.find("<code class=\"nohighlight\">").unwrap() + 26;
    let pid: String = html[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Gone, or a zombie waiting for init to reap it: never running.
    assert!(
        stat.is_empty() || stat.contains(") Z "),
        "the daemon {pid} outlived its job: {stat}"
    );
}

#[test]
fn limits_are_hard_and_capabilities_gone() {
    let t = BookTest::chapter(
        "```python\nimport resource\ntry:\n    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\nexcept ValueError as e:\n    print(e)\nfor line in open('/proc/self/status'):\n    if line.startswith(('CapEff', 'CapBnd', 'NoNewPrivs')):\n        print(line.split()[0], int(line.split()[1], 16))\n```\n\n```output\nnot allowed to raise maximum limit\nCapEff: 0\nCapBnd: 0\nNoNewPrivs: 1\n```\n",
    );
    assert_eq!(t.errors(), Vec::<String>::new());
}

#[test]
fn the_book_the_cache_and_the_build_are_out_of_reach() {
    let t = BookTest::chapter("# A\n");
    let root = t.root().display().to_string();
    t.write(
        "src/a.md",
        &format!(
            "```python\nimport os, signal, socket\nfor path in ['{root}/src/a.md', '{root}/book.toml', '{root}/.mdbook-python/x', '{root}/new-file', os.path.expanduser('~') + '/../escape']:\n    try:\n        open(path, 'a').close()\n        print('wrote', path)\n    except PermissionError:\n        print('refused')\nppid = os.getppid()\nbuild = int(open(f'/proc/{{ppid}}/stat').read().rsplit(')', 1)[1].split()[1])\nfor pid in (ppid, build):\n    try:\n        os.kill(pid, signal.SIGSTOP)\n        print('stopped', pid)\n    except PermissionError:\n        print('no signal')\ntry:\n    socket.socket(socket.AF_UNIX)\nexcept PermissionError:\n    print('no UNIX socket')\nopen('mine', 'w').write('ok')\nprint(open('mine').read())\n```\n\n```output\nrefused\nrefused\nrefused\nrefused\nrefused\nno signal\nno signal\nno UNIX socket\nok\n```\n"
        ),
    );
    let before = t.src_snapshot();
    assert_eq!(t.errors(), Vec::<String>::new());
    assert_eq!(before, t.src_snapshot());
}

#[test]
fn output_is_what_a_terminal_shows() {
    let t = BookTest::chapter(
        "```python\nimport os, subprocess, sys, threading, time\nprint('print')\nsubprocess.run(['echo', 'echo'])\nos.system('echo system')\nos.write(1, b'fd 1\\n')\nsys.stderr.write('stderr\\n')\ndef late():\n    time.sleep(0.3)\n    print('late thread')\nthreading.Thread(target=late).start()\nprint(sys.argv, __file__)\n```\n\n```output\nprint\necho\nsystem\nfd 1\nstderr\n['src/a.md'] src/a.md\nlate thread\n```\n\n```pycon\n>>> import sys\n>>> sys.argv\n['']\n>>> '__file__' in globals()\nFalse\n```\n",
    );
    assert_eq!(t.errors(), Vec::<String>::new());
}

#[test]
fn a_huge_single_write_is_cut_at_the_limit() {
    let t = BookTest::chapter("```python\nimport sys\nsys.stdout.write('z' * 10**8)\n```\n");
    assert_eq!(t.errors(), Vec::<String>::new());
    t.build().unwrap();
    assert!(
        t.main_html("a.md").contains("output cut at 65536 bytes"),
        "reported as cut, not as a timeout"
    );
}

#[test]
fn logs_are_bounded_and_show_terminal_controls_escaped() {
    let t = BookTest::chapter(
        "```python\nprint('\\x1b[2J\\x1b]52;c;SGVsbG8=\\x07')\nraise ValueError('x' * 50_000_000)\n```\n",
    );
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert!(!e.contains('\u{1b}') && !e.contains('\u{7}'), "{e:?}");
    assert!(e.contains("\u{241b}[2J"), "{e}");
    assert!(e.len() < 3 * 65536, "the log holds {} bytes", e.len());
}

#[test]
fn every_job_gets_an_empty_private_folder() {
    let t = BookTest::chapter(
        "```python\nimport os, tempfile\nopen('left.txt', 'w').write('x')\nprint(os.getcwd() == os.environ['HOME'] == tempfile.gettempdir())\n```\n\n```output\nTrue\n```\n\n```python\nimport os\nprint(os.listdir('.'), oct(os.stat('.').st_mode & 0o777))\n```\n\n```output\n[] 0o700\n```\n",
    );
    assert_eq!(t.errors(), Vec::<String>::new());
}

#[test]
fn a_killed_build_leaves_nothing_behind_after_the_next() {
    let t = BookTest::chapter("```python,timeout=60\nimport time\ntime.sleep(30)\n```\n");
    let mut child = std::process::Command::new(crate::harness::bin())
        .args(["check", "--no-cache"])
        .arg(t.root())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let prefix = format!("mdbook-python-{}-", child.id());
    let leftovers = || {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
            .count()
    };
    for _ in 0..100 {
        if leftovers() > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(leftovers() > 0, "the build made its private folder");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(leftovers() > 0, "SIGKILL leaves it");
    let other = BookTest::chapter("```python\nprint(1)\n```\n");
    assert_eq!(other.errors(), Vec::<String>::new());
    assert_eq!(leftovers(), 0, "the next build sweeps it");
}

/// `mdbook build` (the real command, so the book cache is used too) with
/// this plugin; the page's text blocks.
fn mdbook_build(t: &BookTest) -> Vec<String> {
    let out = std::process::Command::new("mdbook")
        .arg("build")
        .arg(t.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.text_blocks("a.md")
}

#[test]
fn damaged_or_forged_cache_entries_are_misses_that_heal() {
    let toml = BOOK_TOML.replace(
        "jobs = 2",
        &format!(
            "command = \"{}\"\n\n[build]\nbuild-dir = \"out\"",
            crate::harness::bin().display()
        ),
    );
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(2 + 2)\n```\n")]);
    assert_eq!(mdbook_build(&t), vec!["4\n".to_string()]);
    let cache = t.root().join(".mdbook-python");
    let mut damaged = Vec::new();
    for entry in walk(&cache) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".pack") || name == "chapters.json" || name.starts_with("book-") {
            // Keep the seal, change the payload: 4 becomes 5 where it shows.
            let bytes = std::fs::read(&entry).unwrap();
            let text = String::from_utf8_lossy(&bytes)
                .replace("4\\n", "5\\n")
                .replace("4\n", "5\n");
            assert_ne!(text.as_bytes(), bytes, "{name} holds the output");
            std::fs::write(&entry, text.as_bytes()).unwrap();
            damaged.push(name);
        }
    }
    damaged.sort();
    assert_eq!(
        damaged.len(),
        3,
        "packs, chapters and the book answer: {damaged:?}"
    );
    assert_eq!(mdbook_build(&t), vec!["4\n".to_string()], "edited entries");
    // Entries written by someone else (no valid seal), or cut short.
    std::fs::write(cache.join("results/forged.pack"), "{}").unwrap();
    std::fs::write(cache.join("book-html"), "garbage").unwrap();
    std::fs::write(cache.join("chapters.json"), "").unwrap();
    assert_eq!(mdbook_build(&t), vec!["4\n".to_string()], "forged entries");
    // Healed: a warm build replays the answer again.
    let answer = std::fs::read(cache.join("book-html")).unwrap();
    assert!(answer.starts_with(b"mdbook-python sealed "), "rewritten");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn prose_above_a_block_reruns_nothing_and_moves_its_line_numbers() {
    // Issue 21: results do not depend on where a block sits.
    let chapter = "# A\n\n```python,raises=ValueError\nimport warnings\nwarnings.warn('careful')\nraise ValueError('x')\n```\n\n```output\nsrc/a.md:5: UserWarning: careful\n  warnings.warn('careful')\nTraceback (most recent call last):\n  File \"src/a.md\", line 6, in <module>\n    raise ValueError('x')\nValueError: x\n```\n\n```python\nprint(1)\n```\n";
    let t = BookTest::chapter(chapter);
    let (report, _) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    assert_eq!(report.stats.run, 2);
    t.write(
        "src/a.md",
        &chapter.replacen("# A\n", "# A\n\nA new paragraph.\n", 1),
    );
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!(
        report.errors(),
        0,
        "the locked traceback still passes: {:?}",
        report.diagnostics
    );
    assert_eq!(
        (report.stats.run, report.stats.cached),
        (0, 2),
        "nothing ran again"
    );
    assert!(
        texts[0].contains("src/a.md:7: UserWarning: careful\n"),
        "{}",
        texts[0]
    );
    assert!(
        texts[0].contains("  File \"src/a.md\", line 8, in <module>\n"),
        "{}",
        texts[0]
    );
}

#[test]
fn a_rebuilt_plugin_renders_chapters_afresh() {
    // Issue 21: the chapter cache's key names the plugin binary, so a
    // rebuilt plugin of the same version does not serve chapters rendered
    // by the old code.
    let t = BookTest::chapter("```python\nprint(1)\n```\n");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::copy(crate::harness::bin(), &a).unwrap();
    std::fs::copy(crate::harness::bin(), &b).unwrap();
    let build = |plugin: &std::path::Path| {
        let out = std::process::Command::new("mdbook")
            .arg("build")
            .arg(t.root())
            .env("MDBOOK_PREPROCESSOR__PYTHON__COMMAND", plugin)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read(t.root().join(".mdbook-python/chapters.json")).unwrap()
    };
    let first = build(&a);
    assert_eq!(
        build(&a),
        first,
        "the same plugin: the chapter comes from the cache"
    );
    assert_ne!(build(&b), first, "another plugin binary renders it again");
}

#[test]
fn ctrl_c_works_in_a_snippet_even_when_the_build_ignores_sigint() {
    // A build started as a shell's background job inherits SIGINT ignored;
    // a snippet must still see Ctrl-C as a terminal's script would.
    let t = BookTest::chapter(
        "```python\nimport signal\ntry:\n    signal.raise_signal(signal.SIGINT)\nexcept KeyboardInterrupt:\n    print('interrupted')\n```\n\n```output\ninterrupted\n```\n",
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' INT; exec \"$0\" check --no-cache \"$1\"")
        .arg(crate::harness::bin())
        .arg(t.root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_exception_whose_traceback_crosses_the_output_limit_is_still_reported() {
    // The template stops a snippet whose output passes the limit; the
    // worker's own traceback must not be stopped that way (it lost the
    // exception, now and then, and the block passed).
    let toml = BOOK_TOML.replace("jobs = 2", "jobs = 2\noutput-limit = 200");
    let chapter: String = (0..6)
        .map(|i| format!("```python\nprint('x' * 190)\nraise ValueError('boom {i}')\n```\n\n"))
        .collect();
    let t = BookTest::with(&toml, &[("a.md", &chapter)]);
    let errors = t.errors();
    assert_eq!(errors.len(), 6, "{errors:#?}");
    for (i, e) in errors.iter().enumerate() {
        assert!(
            e.starts_with(&format!(
                "error: this snippet raised ValueError: boom {i}\n"
            )),
            "{e}"
        );
    }
}
