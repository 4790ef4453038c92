//! `BookTest`: write a small book into a temporary folder, then build it
//! in-process with mdBook (`mdbook-driver`) and our preprocessor, or run the
//! pipeline alone to look at its report.

use mdbook_driver::MDBook;
use mdbook_python::{Mode, Options, PythonPreprocessor, Report};
use std::path::{Path, PathBuf};

pub struct BookTest {
    pub dir: tempfile::TempDir,
}

pub const BOOK_TOML: &str = r#"[book]
title = "test"

[preprocessor.python]
jobs = 2

[output.html]
additional-js = [".mdbook-python/assets/mdbook-python.js"]
additional-css = [".mdbook-python/assets/mdbook-python.css"]

[output.html.code.hidelines]
python = "~"
"#;

impl BookTest {
    /// A book with one chapter `a.md` holding `chapter`.
    pub fn chapter(chapter: &str) -> Self {
        Self::with(BOOK_TOML, &[("a.md", chapter)])
    }

    /// A book with this book.toml and these chapters (in SUMMARY order).
    pub fn with(book_toml: &str, chapters: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("src")).unwrap();
        std::fs::write(dir.path().join("book.toml"), book_toml).unwrap();
        let mut summary = String::from("# Summary\n\n");
        for (name, text) in chapters {
            summary.push_str(&format!("- [{name}]({name})\n"));
            let path = dir.path().join("src").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::write(dir.path().join("src/SUMMARY.md"), summary).unwrap();
        BookTest { dir }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.root().join(rel), text).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root().join(rel)).unwrap()
    }

    fn load(&self) -> MDBook {
        let mut md = MDBook::load(self.root()).unwrap();
        md.config.build.build_dir = self.root().join("out");
        md.with_preprocessor(PythonPreprocessor::new(Options::default()));
        md
    }

    /// Build with mdBook; Ok(()) or the error text.
    pub fn build(&self) -> Result<(), String> {
        self.load().build().map_err(|e| format!("{e:#}"))
    }

    /// Build with mdBook, returning also every warning mdBook logged (such
    /// as its "html parse error"s), as the `mdbook` command prints them.
    pub fn build_with_warnings(&self) -> (Result<(), String>, String) {
        #[derive(Clone, Default)]
        struct Log(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
        impl std::io::Write for Log {
            fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(b);
                Ok(b.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let log = Log::default();
        let writer = log.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::WARN)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        let result = tracing::subscriber::with_default(subscriber, || self.build());
        let text = String::from_utf8_lossy(&log.0.lock().unwrap()).into_owned();
        (result, text)
    }

    /// The `<main>` of a built chapter's page.
    pub fn main_html(&self, chapter: &str) -> String {
        let page = self.read(&format!("out/{}", chapter.replace(".md", ".html")));
        let start = page.find("<main>").expect("a <main>");
        let end = page.find("</main>").expect("a </main>");
        page[start..end].to_string()
    }

    /// The text blocks of a built page (stdin and outputs), decoded.
    pub fn text_blocks(&self, chapter: &str) -> Vec<String> {
        let html = self.main_html(chapter);
        html.split("<code class=\"language-text\">")
            .skip(1)
            .map(|b| unescape(&b[..b.find("</code>").unwrap()]))
            .collect()
    }

    /// The runner's data for a built page: the `div.mdpy-chapter` element.
    pub fn chapter_data(&self, chapter: &str) -> serde_json::Value {
        let html = self.main_html(chapter);
        assert_eq!(html.matches("class=\"mdpy-chapter\"").count(), 1, "{html}");
        let at = html
            .find("class=\"mdpy-chapter\" hidden=\"\" data-mdpy=\"")
            .unwrap();
        let rest = &html[at..];
        let rest = &rest[rest.find("data-mdpy=\"").unwrap() + 11..];
        serde_json::from_str(&unescape(&rest[..rest.find('"').unwrap()])).unwrap()
    }

    /// Run the pipeline alone (as for `renderer`), returning the report and
    /// the chapters' new Markdown.
    pub fn run(&self, renderer: &str, mode: Mode) -> (Report, Vec<String>) {
        let md = MDBook::load(self.root()).unwrap();
        let ctx = mdbook_preprocessor::PreprocessorContext::new(
            md.root.clone(),
            md.config.clone(),
            renderer.into(),
        );
        let mut book = md.book.clone();
        let report = mdbook_python::run(
            &ctx,
            &mut book,
            &Options {
                mode,
                ..Options::default()
            },
        );
        let texts = book.chapters().map(|c| c.content.clone()).collect();
        (report, texts)
    }

    /// The report's diagnostics as printed.
    pub fn errors(&self) -> Vec<String> {
        let (report, _) = self.run("html", Mode::Build);
        report.diagnostics.iter().map(|d| d.to_string()).collect()
    }

    /// Every file under `src/`, with its bytes.
    pub fn src_snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.root().join("src")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), std::fs::read(&p).unwrap()));
                }
            }
        }
        out.sort();
        out
    }
}

/// Path of the built binary (for tests of the command line).
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mdbook-python"))
}

/// Tests that run a whole book of real snippets (the refresher, ten thousand
/// blocks) take this lock, so they do not run at the same time: the
/// refresher's timing claims hold with margin on a loaded 2-core machine,
/// not with four heavy runs at once; and the first run fills the cache that
/// the others then read.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Run `mdbook-python <command> <dir>` with `env` (`command` may carry
/// options: `check --runtime 3.11`): its exit code and stderr.
pub fn cli(command: &str, dir: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let out = std::process::Command::new(bin())
        .args(command.split_whitespace())
        .arg(dir)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run `mdbook-python <command> <dir>`, assert that it succeeded (showing its
/// stderr otherwise), and return its stderr.
pub fn cli_ok(command: &str, dir: &Path) -> String {
    let (code, err) = cli(command, dir, &[]);
    assert_eq!(code, 0, "mdbook-python {command} failed:\n{err}");
    err
}

/// Undo HTML escaping (mdBook's and ours).
pub fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#123;", "{")
        .replace("&#125;", "}")
        .replace("&#92;", "\\")
        .replace("&#10;", "\n")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}
