//! `mdbook serve` for real: the installed mdBook 0.5 binary watching a book
//! that uses the plugin. Preprocessors that wrote into the book's folders have
//! made `mdbook serve` rebuild forever; this one must build once, stay quiet,
//! rebuild once per save, serve the new output, and leave `src/` alone.

use crate::harness::{BookTest, bin};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A running `mdbook serve`, killed on drop; its log lines arrive on `lines`.
pub(crate) struct Serve {
    child: Child,
    lines: Receiver<String>,
    pub(crate) port: u16,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Serve {
    fn start(book: &std::path::Path) -> Serve {
        Self::start_with(Command::new("mdbook"), book)
    }

    /// `program serve -n 127.0.0.1 -p PORT BOOK` (`mdbook` or `mdbook-python`).
    pub(crate) fn start_with(mut program: Command, book: &std::path::Path) -> Serve {
        // A free port: bind to 0, read it, release it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = program
            .args(["serve", "-n", "127.0.0.1", "-p", &port.to_string()])
            .arg(book)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("`mdbook` (0.5) on PATH: scripts/test installs it");
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Serve { child, lines, port }
    }

    /// Log lines until one contains `needle` (panics with the log after `limit`).
    pub(crate) fn wait_for(&self, needle: &str, limit: Duration, log: &mut Vec<String>) {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let found = line.contains(needle);
                    log.push(line);
                    if found {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    panic!(
                        "no `{needle}` within {limit:?}; mdbook serve said:\n{}",
                        log.join("\n")
                    )
                }
            }
        }
    }

    /// Every log line of the next `quiet` (nothing should happen).
    pub(crate) fn lines_during(&self, quiet: Duration) -> Vec<String> {
        let end = Instant::now() + quiet;
        let mut out = Vec::new();
        while let Some(left) = end.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) => out.push(line),
                Err(_) => break,
            }
        }
        out
    }

    /// GET a path from the server (HTTP/1.0, so the server closes).
    pub(crate) fn get(&self, path: &str) -> String {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        body
    }
}

pub(crate) fn builds(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.contains("Book building has started"))
        .count()
}

#[test]
fn mdbook_serve_builds_once_rebuilds_once_per_save_and_never_writes_into_src() {
    let _guard = crate::harness::heavy();
    let toml = format!(
        "[book]\ntitle = \"serve\"\n\n[preprocessor.python]\ncommand = {:?}\njobs = 1\n\n[output.html]\nadditional-js = [\".mdbook-python/assets/mdbook-python.js\"]\nadditional-css = [\".mdbook-python/assets/mdbook-python.css\"]\n",
        bin().display().to_string()
    );
    let t = BookTest::with(&toml, &[("a.md", "# A\n\n```python\nprint(6 * 7)\n```\n")]);
    let before = t.src_snapshot();
    let serve = Serve::start(t.root());
    let mut log = Vec::new();
    serve.wait_for("HTML book written", Duration::from_secs(60), &mut log);
    assert_eq!(builds(&log), 1, "{}", log.join("\n"));
    assert!(
        log.iter()
            .any(|l| l.contains("mdbook-python: 1 snippets, 1 run")),
        "{}",
        log.join("\n")
    );

    // Nothing changed: no second build (the plugin's cache and assets are
    // written only when they change, and never under src/).
    let quiet = serve.lines_during(Duration::from_secs(3));
    assert_eq!(
        builds(&quiet),
        0,
        "rebuilt on its own:\n{}",
        quiet.join("\n")
    );
    assert_eq!(t.src_snapshot(), before, "the build wrote into src/");
    let page = serve.get("/a.html");
    assert!(
        page.contains("<code class=\"language-text\">42\n</code>"),
        "{page}"
    );

    // A save: exactly one rebuild, which runs the new code; then quiet again.
    t.write("src/a.md", "# A\n\n```python\nprint(6 * 9)\n```\n");
    let mut log = Vec::new();
    serve.wait_for("HTML book written", Duration::from_secs(60), &mut log);
    assert_eq!(builds(&log), 1, "{}", log.join("\n"));
    let quiet = serve.lines_during(Duration::from_secs(3));
    assert_eq!(
        builds(&quiet),
        0,
        "rebuilt on its own:\n{}",
        quiet.join("\n")
    );
    let page = serve.get("/a.html");
    assert!(
        page.contains("<code class=\"language-text\">54\n</code>"),
        "{page}"
    );
    assert!(!page.contains(">42\n<"), "{page}");
    let script = serve.get("/.mdbook-python/assets/mdbook-python.js");
    assert!(
        script.lines().next().is_some_and(|l| l.contains(" 200 ")),
        "the runner script is not served: {}",
        script.lines().next().unwrap_or_default()
    );
}
