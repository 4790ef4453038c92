//! Hostile snippets: each is stopped and reported at its Markdown line, the
//! build fails cleanly, and the next snippet runs normally on a healthy worker.

use crate::harness::{BOOK_TOML, BookTest};

/// A chapter with the hostile snippet first and a healthy one after it; the
/// only error must be the hostile one's, and the healthy one's output block
/// must verify.
fn only_error(hostile: &str, toml_extra: &str) -> String {
    let chapter = format!(
        "# A\n\n{hostile}\n\n```python\nprint('still fine')\n```\n\n```output\nstill fine\n```\n"
    );
    let toml = BOOK_TOML.replace("jobs = 2", &format!("jobs = 1{toml_extra}"));
    let t = BookTest::with(&toml, &[("a.md", &chapter)]);
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(t.build().is_err());
    assert!(
        !t.root().join("out/a.html").exists(),
        "nothing half-written"
    );
    errors[0].clone()
}

#[test]
fn a_memory_bomb() {
    let e = only_error("```python\nx = bytearray(64 * 1024**3)\n```", "");
    assert!(
        e.starts_with("error: this snippet raised MemoryError: \n  --> src/a.md:4\n"),
        "{e}"
    );
}

#[test]
fn a_fork_bomb() {
    let e = only_error(
        "```python,timeout=5\nimport os\nwhile True:\n    os.fork()\n```",
        "\nprocess-limit = 64",
    );
    // The kernel refuses the 65th process (a pids cgroup as root, RLIMIT_NPROC
    // otherwise), and the build says which key that was.
    assert!(
        e.starts_with("error: this snippet raised BlockingIOError: [Errno 11] Resource temporarily unavailable\n  --> src/a.md:6\n"),
        "{e}"
    );
    assert!(
        e.contains("= help: the snippet started more processes than `process-limit`"),
        "{e}"
    );
}

#[test]
fn a_snippet_that_prints_forever() {
    let t = BookTest::chapter(
        "```python\nwhile True:\n    print('spam' * 1000)\n```\n\n```python\nprint('next')\n```\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(html.contains("output cut at 65536 bytes"));
    assert!(html.contains(">next\n</code>"));
}

#[test]
fn a_huge_file() {
    let e = only_error(
        "```python\nwith open('big', 'wb') as f:\n    while True:\n        f.write(b'x' * 2**20)\n```",
        "\nfile-size-limit = 8",
    );
    assert!(
        e.starts_with(
            "error: this snippet raised OSError: [Errno 27] File too large\n  --> src/a.md:6\n"
        ),
        "{e}"
    );
}

#[test]
fn closing_stdout() {
    let e = only_error(
        "```python\nimport sys\nsys.stdout.close()\nprint('gone')\n```",
        "",
    );
    assert!(e.starts_with("error: this snippet raised ValueError: I/O operation on closed file.\n  --> src/a.md:6\n"), "{e}");
}

#[test]
fn invalid_utf8_is_shown_replaced() {
    let t = BookTest::chapter(
        "```python\nimport sys\nsys.stdout.buffer.write(b'ok \\xff\\xfe end\\n')\n```\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
    t.build().unwrap();
    assert!(t.main_html("a.md").contains("ok \u{fffd}\u{fffd} end"));
}

#[test]
fn a_snippet_that_kills_its_interpreter() {
    let e = only_error(
        "```python\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n```",
        "",
    );
    assert!(e.starts_with("error: the interpreter died while running this snippet: the interpreter was killed by signal 9 (SIGKILL: often the memory limit)\n  --> src/a.md:4\n"), "{e}");
}

#[test]
fn a_thread_that_sleeps_forever() {
    let e = only_error(
        "```python\nimport threading, time\nthreading.Thread(target=time.sleep, args=(10**6,)).start()\n```",
        "",
    );
    assert!(e.starts_with("error: this snippet ended but a non-daemon thread (Thread-1 (sleep)) is still running, so as a script it would never exit\n  --> src/a.md:4\n"), "{e}");
}

#[test]
fn a_forked_child_never_speaks_for_the_worker() {
    // As in a terminal, the child's line shows; the child ends like a
    // script's, without answering for the job.
    let t = BookTest::chapter(
        "```python\nimport os\npid = os.fork()\nif pid == 0:\n    print('child')\nelse:\n    os.waitpid(pid, 0)\n    print('parent')\n```\n\n```output\nchild\nparent\n```\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
}

#[test]
fn no_network_but_loopback() {
    let t = BookTest::chapter(
        "```python\nimport socket\nsrv = socket.create_server(('127.0.0.1', 0))\nc = socket.create_connection(srv.getsockname())\nprint('loopback works')\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\nexcept OSError as e:\n    print(type(e).__name__)\n```\n\n```output\nloopback works\nOSError\n```\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
}

#[test]
fn a_non_utf8_chapter_is_named() {
    let t = BookTest::chapter("# A\n");
    std::fs::write(t.root().join("src/a.md"), b"# A \xff\xfe\n").unwrap();
    let out = std::process::Command::new(crate::harness::bin())
        .arg("check")
        .arg(t.root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "mdbook-python: cannot load the book in {}: failed to read chapter `a.md`: stream did not contain valid UTF-8\n",
            t.root().display()
        )
    );
}

#[test]
fn a_chapter_with_ten_thousand_blocks() {
    let _heavy = crate::harness::heavy();
    let mut chapter = String::from("# Many\n\n");
    for i in 0..10_000 {
        chapter.push_str(&format!("```python\nprint({i} * 2)\n```\n\n"));
    }
    let t = BookTest::chapter(&chapter);
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics.first());
    assert_eq!(report.stats.programs, 10_000);
    assert!(texts[0].contains("\n```text\n19998\n```\n"));
    assert_eq!(texts[0].matches("\n```text\n").count(), 10_000);
    // One element for the whole chapter, listing every block.
    assert_eq!(texts[0].matches("class=\"mdpy-chapter\"").count(), 1);
    // Each a plain entry: `{"l": N}`, its first code line.
    assert_eq!(texts[0].matches("&#123;&quot;l&quot;:").count(), 10_000);
}

#[test]
fn hostile_text_in_code_and_output_stays_text() {
    let code = "print('{{#quiz evil.toml}}')\nprint('</pre></code></div><script>alert(1)</script>')\nx = '\" onmouseover=\"alert(2)'\n";
    let t = BookTest::chapter(&format!(
        "```python\n{code}input()\n```\n\n```stdin\n\" onmouseover=\"alert(3)\n```\n"
    ));
    assert!(t.errors().is_empty(), "{:?}", t.errors());
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(!html.contains("<script>alert"), "{html}");
    // The quote stays escaped inside the data attribute: no attribute breakout.
    assert!(
        html.contains("&#92;&quot; onmouseover=&#92;&quot;alert(3)"),
        "{html}"
    );
    assert!(html.contains("{{#quiz evil.toml}}\n&lt;/pre&gt;&lt;/code&gt;&lt;/div&gt;&lt;script&gt;alert(1)&lt;/script&gt;\n"), "{html}");
    assert!(!html.contains("mdpy-quiz"), "no quiz from output: {html}");
}
