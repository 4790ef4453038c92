//! `check --browser`: every browser-runnable snippet run in Pyodide under
//! Node with the page's runner and compared with the build. Needs `node` and
//! tests/browser/node_modules/pyodide (scripts/test installs them); without
//! them these tests say so and pass, except in CI.

use crate::harness::{BOOK_TOML, BookTest, bin};
use mdbook_python::Mode;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The npm `pyodide` package, when it and `node` are here.
fn pyodide() -> Option<PathBuf> {
    let dir = repo().join("tests/browser/node_modules/pyodide");
    let node = Command::new("node").arg("--version").output();
    if dir.join("pyodide.mjs").is_file() && node.is_ok_and(|o| o.status.success()) {
        return Some(dir);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "the browser check needs `node` and tests/browser/node_modules/pyodide: run `npm ci` in tests/browser"
    );
    eprintln!("skipped: no `node` or no tests/browser/node_modules/pyodide");
    None
}

/// A copy of tests/fixtures/parity-book that runs this repository's Pyodide.
fn fixture(pyodide: &Path) -> BookTest {
    let dir = tempfile::tempdir().unwrap();
    let src = repo().join("tests/fixtures/parity-book");
    for rel in [
        "book.toml",
        "src/SUMMARY.md",
        "src/platform.md",
        "src/sessions.md",
    ] {
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(src.join(rel), to).unwrap();
    }
    let book = BookTest { dir };
    let toml = book.read("book.toml").replace(
        "[preprocessor.python]\n",
        &format!(
            "[preprocessor.python]\nbrowser-check-pyodide = {:?}\n",
            pyodide.display().to_string()
        ),
    );
    book.write("book.toml", &toml);
    book
}

fn check_browser(dir: &Path) -> (bool, String) {
    let out = Command::new(bin())
        .args(["check", "--browser"])
        .arg(dir)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const NOTE: &str = "Runs on Python 3.14 in your browser; the output there will differ";

#[test]
fn check_browser_flags_exactly_the_unmarked_difference() {
    let Some(pyodide) = pyodide() else { return };
    let book = fixture(&pyodide);
    let root = book.root().display().to_string();

    // Before any browser check, only the marked block carries the note.
    book.build().unwrap();
    assert_eq!(book.main_html("platform.md").matches(NOTE).count(), 1);

    let (ok, err) = check_browser(book.root());
    assert!(!ok, "{err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");
    assert!(
        err.contains(
            "error: in the browser this block prints something else than the page shows: Python 3."
        ),
        "{err}"
    );
    assert!(err.contains("(build) vs Python 3.14."), "{err}");
    assert!(err.contains("(browser, Pyodide 314."), "{err}");
    assert!(
        err.contains(&format!("  --> {root}/src/platform.md:13\n")),
        "{err}"
    );
    assert!(err.contains("   | -linux\n   | +emscripten\n"), "{err}");
    assert!(
        err.contains("= help: if the difference is expected, mark the block `browser=differs` and say why in the prose"),
        "{err}"
    );
    // The thread block and the pycon block are not run in the browser.
    assert!(
        err.contains(": 9 snippets checked, 9 run, 0 cached, 2 differ (1 marked), 1 failed ("),
        "{err}"
    );
    assert!(err.contains("Pyodide loaded in"), "{err}");

    // Warm: the same report from the cache, without starting Node.
    let (ok, warm) = check_browser(book.root());
    assert!(!ok);
    assert!(
        warm.contains(&format!("{root}/src/platform.md:13\n")),
        "{warm}"
    );
    assert!(
        warm.contains(": 9 snippets checked, 0 run, 9 cached, 2 differ (1 marked), 1 failed ("),
        "{warm}"
    );
    assert!(!warm.contains("Pyodide loaded in"), "{warm}");

    // A plain check does not look at the browser.
    crate::harness::cli_ok("check", book.root());

    // Now the build knows: the block found to differ carries the note too.
    book.build().unwrap();
    let html = book.main_html("platform.md");
    assert_eq!(html.matches(NOTE).count(), 2, "{html}");
    assert_eq!(
        html.matches("&quot;differs&quot;:true").count(),
        2,
        "{html}"
    );
    let sessions = book.main_html("sessions.md");
    assert_eq!(sessions.matches(NOTE).count(), 0);
}

#[test]
fn a_block_that_fails_only_in_the_browser_suggests_nobrowser() {
    let Some(pyodide) = pyodide() else { return };
    let toml = BOOK_TOML.replace(
        "[preprocessor.python]\n",
        &format!(
            "[preprocessor.python]\nbrowser-check = true\nbrowser-check-pyodide = {:?}\n",
            pyodide.display().to_string()
        ),
    );
    let book = BookTest::with(
        &toml,
        &[(
            "a.md",
            "# A\n\n```python\nimport resource\nprint(resource.RLIMIT_NOFILE >= 0)\n```\n\n```python,session=s\nx = 1\n```\n\n```python,session=s\nprint(x)\n```\n",
        )],
    );
    let (report, _) = book.run("html", Mode::Build);
    let errors: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert!(
        e.starts_with("error: this block raises ModuleNotFoundError in the browser but not at build time: Python 3."),
        "{e}"
    );
    assert!(e.contains("  --> src/a.md:4\n"), "{e}");
    assert!(
        e.contains("   | ModuleNotFoundError: No module named 'resource'"),
        "{e}"
    );
    assert!(
        e.contains("= help: if the browser cannot run it (a missing module, a thread, a socket), mark the block `nobrowser`;"),
        "{e}"
    );
    let summary = report.browser.unwrap();
    assert!(
        summary.contains(": 3 snippets checked, 3 run, 0 cached, 1 differ (0 marked), 1 failed ("),
        "{summary}"
    );
}

#[test]
fn without_pyodide_the_error_says_how_to_install_it() {
    let toml = BOOK_TOML.replace(
        "[preprocessor.python]\n",
        "[preprocessor.python]\nbrowser-check-pyodide = \"nowhere/pyodide\"\n",
    );
    let book = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    let (ok, err) = check_browser(book.root());
    assert!(!ok);
    assert!(
        err.contains(
            "error: cannot check the browser: the npm package `pyodide` is missing (looked in "
        ),
        "{err}"
    );
    assert!(
        err.contains("= help: install Node.js and the Pyodide the pages load: `npm install pyodide@314.0.8` in the book's folder, or set `browser-check-pyodide`"),
        "{err}"
    );
}

#[test]
fn the_refresher_passes_check_browser() {
    let _heavy = crate::harness::heavy();
    if pyodide().is_none() {
        return;
    }
    let (ok, err) = check_browser(repo());
    assert!(ok, "{err}");
    assert!(err.contains(" 0 failed ("), "{err}");
    assert!(err.contains("mdbook-python: browser (Pyodide "), "{err}");
}
