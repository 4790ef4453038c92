//! `mdbook-python build` and `serve`: mdBook's engine in the plugin's
//! process. `build` must write exactly what `mdbook build` (the real mdBook
//! 0.5 binary, running the plugin through its command) writes; `serve` must
//! serve that output, watch a file the chapter includes from outside `src/`,
//! rebuild once per save, and tell the open page to reload.

use crate::harness::{BookTest, bin};
use crate::serve::{Serve, builds};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn book_toml() -> String {
    format!(
        "[book]\ntitle = \"engine\"\n\n[preprocessor.python]\ncommand = {:?}\njobs = 1\n\n[output.html]\nadditional-js = [\".mdbook-python/assets/mdbook-python.js\"]\nadditional-css = [\".mdbook-python/assets/mdbook-python.css\"]\n\n[output.html.code.hidelines]\npython = \"~\"\n",
        bin().display().to_string()
    )
}

const CHAPTER: &str = "# A\n\nSome prose.\n\n```python\nprint(6 * 7)\n```\n\n```pycon\n>>> 1 + 1\n2\n```\n\n```python\n~import math\nprint(round(math.pi, 3))\n```\n\n```python\n{{#include ../code/hello.py}}\n```\n";

/// A book whose chapter includes `code/hello.py`, outside `src/`.
fn book() -> BookTest {
    let t = BookTest::with(
        &book_toml(),
        &[("a.md", CHAPTER), ("b.md", "# B\n\nNo Python here.\n")],
    );
    std::fs::create_dir_all(t.root().join("code")).unwrap();
    t.write("code/hello.py", "print('hello')\n");
    t
}

/// Every file under `dir`, relative, with its bytes.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_path_buf();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn run(mut cmd: Command) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed:\n{err}");
    err
}

#[test]
fn build_writes_byte_for_byte_what_mdbook_build_writes() {
    let _guard = crate::harness::heavy();
    // Two copies, each with its own cache: both run every snippet.
    let (by_mdbook, by_us) = (book(), book());
    let mut mdbook = Command::new("mdbook");
    mdbook.arg("build").arg(by_mdbook.root());
    run(mdbook);
    let mut ours = Command::new(bin());
    // The configured command is not run: it would fail.
    ours.arg("build").arg(by_us.root()).env(
        "MDBOOK_PREPROCESSOR__PYTHON__COMMAND",
        "/nonexistent/must-not-run",
    );
    let err = run(ours);
    assert!(err.contains("mdbook-python: 4 snippets, 4 run"), "{err}");
    assert!(err.contains("HTML book written"), "{err}");

    let (theirs, ours) = (
        tree(&by_mdbook.root().join("book")),
        tree(&by_us.root().join("book")),
    );
    let names = |t: &[(PathBuf, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&theirs), names(&ours), "the same files");
    for ((path, a), (_, b)) in theirs.iter().zip(&ours) {
        assert!(
            a == b,
            "{} differs:\n--- mdbook build\n{}\n--- mdbook-python build\n{}",
            path.display(),
            String::from_utf8_lossy(a),
            String::from_utf8_lossy(b)
        );
    }
    let page =
        String::from_utf8_lossy(&ours.iter().find(|(p, _)| p.ends_with("a.html")).unwrap().1)
            .into_owned();
    assert!(page.contains("language-text\">42\n</code>"), "{page}");
    assert!(page.contains("language-text\">hello\n</code>"), "{page}");
}

/// Open the live-reload websocket of a served book (a raw handshake).
fn live_reload(port: u16) -> std::net::TcpStream {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "GET /__livereload HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    s
}

/// `mdbook-python serve` on `t` (the configured command must not run),
/// after its first build and once it watches: the server and its log.
fn serve(t: &BookTest) -> (Serve, Vec<String>) {
    let mut program = Command::new(bin());
    program.env(
        "MDBOOK_PREPROCESSOR__PYTHON__COMMAND",
        "/nonexistent/must-not-run",
    );
    let serve = Serve::start_with(program, t.root());
    let mut log = Vec::new();
    serve.wait_for("HTML book written", Duration::from_secs(60), &mut log);
    serve.wait_for("watching for changes", Duration::from_secs(10), &mut log);
    (serve, log)
}

#[test]
fn serve_serves_watches_an_include_outside_src_rebuilds_once_and_reloads() {
    let _guard = crate::harness::heavy();
    let t = book();
    let (serve, log) = serve(&t);
    assert_eq!(builds(&log), 1, "{}", log.join("\n"));
    let page = serve.get("/a.html");
    assert!(page.contains("language-text\">hello\n</code>"), "{page}");
    assert!(page.contains("__livereload"), "the page reloads: {page}");
    let quiet = serve.lines_during(Duration::from_secs(2));
    assert_eq!(
        builds(&quiet),
        0,
        "rebuilt on its own:\n{}",
        quiet.join("\n")
    );

    // A save of the included file, outside src/: one rebuild, a reload.
    let mut socket = live_reload(serve.port);
    t.write("code/hello.py", "print('hello again')\n");
    let mut log = Vec::new();
    serve.wait_for("HTML book written", Duration::from_secs(60), &mut log);
    assert_eq!(builds(&log), 1, "{}", log.join("\n"));
    assert!(
        log.iter().any(|l| l.contains("hello.py")),
        "{}",
        log.join("\n")
    );
    let mut frame = [0u8; 8];
    socket.read_exact(&mut frame).unwrap();
    assert_eq!(&frame, b"\x81\x06reload", "a text frame `reload`");
    let page = serve.get("/a.html");
    assert!(
        page.contains("language-text\">hello again\n</code>"),
        "{page}"
    );
    let quiet = serve.lines_during(Duration::from_secs(2));
    assert_eq!(
        builds(&quiet),
        0,
        "rebuilt on its own:\n{}",
        quiet.join("\n")
    );
}

#[test]
fn serve_rebuilds_when_a_quiz_file_outside_src_changes() {
    let _guard = crate::harness::heavy();
    let quiz = |prompt: &str| {
        format!(
            "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"{prompt}\"\nanswer.answer = \"len\"\n"
        )
    };
    let t = BookTest::with(
        &book_toml(),
        &[("a.md", "# A\n\n{{#quiz ../quizzes/q.toml}}\n")],
    );
    std::fs::create_dir_all(t.root().join("quizzes")).unwrap();
    t.write("quizzes/q.toml", &quiz("Which built-in counts items?"));
    let (serve, log) = serve(&t);
    assert_eq!(builds(&log), 1, "{}", log.join("\n"));
    assert!(
        serve
            .get("/a.html")
            .contains("Which built-in counts items?")
    );

    t.write("quizzes/q.toml", &quiz("Which built-in gives the length?"));
    let mut log = Vec::new();
    serve.wait_for("HTML book written", Duration::from_secs(60), &mut log);
    assert_eq!(builds(&log), 1, "{}", log.join("\n"));
    let page = serve.get("/a.html");
    assert!(page.contains("Which built-in gives the length?"), "{page}");
}
