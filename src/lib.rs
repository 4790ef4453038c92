//! mdbook-python: an mdBook preprocessor that runs every Python block of a
//! book at build time, shows or verifies its output, and makes it runnable in
//! the reader's browser. A build is one `Run` (module `pipeline`) that the
//! stages fill in order: scan (each chapter's fenced blocks), plan (snippets,
//! exercises, quizzes and their jobs), execute (outcomes, through the caches
//! and a pool of warm CPython workers), the runtime matrix, browser parity,
//! verify (verdicts and diagnostics). The commands consume the finished run:
//! a build renders verdicts into edits of the Markdown (`commands`), `check`
//! keeps the report, [`bless`] rewrites the author's files.
//!
//! The public API is kept small on purpose: [`PythonPreprocessor`] (for
//! `MDBook::with_preprocessor`), [`run`], [`Options`], [`Mode`], [`Shard`],
//! [`Report`], [`cli`] (the binary), [`bless`], and what tests and tools read:
//! [`config::KEYS`], [`plan::ATTRIBUTES`], [`quiz`] (the mdbook-quiz format),
//! [`scan`]. Everything else is `pub(crate)`.
//!
//! Unix only: the worker pool needs process groups, `fork` and rlimits.

#[cfg(not(unix))]
compile_error!(
    "mdbook-python runs on Linux and macOS only: its worker pool needs Unix process groups, fork and rlimits (on Windows, use WSL)"
);

pub mod bless;
pub mod cli;
pub(crate) mod commands;
pub mod config;
pub mod diagnostics;
pub(crate) mod execute;
pub(crate) mod exercise;
pub(crate) mod includes;
pub(crate) mod init;
pub(crate) mod matrix;
pub(crate) mod parity;
pub(crate) mod pipeline;
pub mod plan;
pub mod quiz;
pub(crate) mod quizzes;
pub(crate) mod render;
pub mod scan;
pub(crate) mod serve;
pub(crate) mod verify;

use config::Config;
use diagnostics::Diagnostic;
use execute::Outcome;
use mdbook_preprocessor::book::Book;
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use std::path::{Path, PathBuf};

/// The mdBook versions this build of the plugin speaks to.
pub const MDBOOK_REQUIREMENT: &str = ">=0.5.0, <0.6.0";

/// How a run treats the book.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A real build: rewrite chapters, write the front-end assets.
    Build,
    /// `mdbook-python check`: run and verify only.
    Check,
}

/// Knobs that do not live in book.toml.
#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Ignore and do not fill the result cache.
    pub no_cache: bool,
    /// Prefix for file names in messages (the book's folder as the user
    /// typed it), empty when running inside the book root.
    pub display_root: PathBuf,
    /// Draw a progress bar while snippets run (when stderr is a terminal).
    pub progress: bool,
    /// `check --browser`: also run the snippets in Pyodide and compare.
    pub browser: bool,
    /// `check --runtime 3.12`: that runtime alone, as the primary, with no
    /// matrix.
    pub runtime: Option<String>,
    /// `check --shard K/N`: run and verify only this part of the jobs.
    pub shard: Option<Shard>,
}

/// `check --shard K/N`: part `index` (1-based) of `count`. A job belongs to
/// the part its cache key falls in (the key's first 64 bits modulo `count`),
/// so the parts are disjoint, cover every job, and a job stays in its part
/// when other chapters change or move (the key is a hash of what the job
/// runs, not of its place in the book).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parsed = s.split_once('/').and_then(|(k, n)| {
            Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?))
        });
        match parsed {
            Some((index, count)) if index >= 1 && index <= count => Ok(Shard { index, count }),
            _ => Err(format!(
                "`{s}` is not a shard: write K/N with 1 <= K <= N, e.g. `--shard 2/4`"
            )),
        }
    }
}

impl Shard {
    /// Whether the job with cache key `key` (hex) is in this part.
    pub(crate) fn holds(&self, key: &str) -> bool {
        let head = key.get(..16).and_then(|h| u64::from_str_radix(h, 16).ok());
        head.unwrap_or(0) % self.count == self.index - 1
    }
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Build,
            no_cache: false,
            display_root: PathBuf::new(),
            progress: false,
            browser: false,
            runtime: None,
            shard: None,
        }
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub stats: execute::Stats,
    pub snippets: usize,
    pub failed: usize,
    pub seconds: f64,
    /// The browser parity summary line, when parity was checked.
    pub browser: Option<String>,
    /// Files outside the book the chapters read (quiz files), with
    /// `execute::books::file_hash`: the book cache checks them.
    pub inputs: Vec<(PathBuf, String)>,
    /// `network = "loopback"`: the sandbox was asked for no network.
    pub network_isolated: bool,
    /// The runtime matrix's table (`check` prints it last).
    pub matrix: Option<String>,
    /// What the summary notes about the book's blocks, once per build.
    pub notes: plan::Notes,
    /// `check --shard`: which part ran (`mdbook-python: shard 1/4: 12 of 50 jobs`).
    pub shard: Option<String>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// `mdbook-python: 143 snippets, 12 run, 131 cached, 0 failed (0.21 s)`.
    pub fn summary(&self) -> String {
        format!(
            "mdbook-python: {} snippets, {} run, {} cached, {} failed ({:.2} s)",
            self.snippets, self.stats.run, self.stats.cached, self.failed, self.seconds
        )
    }
}

/// The preprocessor, for `MDBook::with_preprocessor` and for the binary.
pub struct PythonPreprocessor {
    pub options: Options,
}

impl PythonPreprocessor {
    pub fn new(options: Options) -> Self {
        PythonPreprocessor { options }
    }
}

impl Preprocessor for PythonPreprocessor {
    fn name(&self) -> &str {
        "python"
    }

    fn run(
        &self,
        ctx: &PreprocessorContext,
        mut book: Book,
    ) -> mdbook_preprocessor::errors::Result<Book> {
        let report = run(ctx, &mut book, &self.options);
        print_report(&report);
        if report.errors() > 0 {
            anyhow_error(format!(
                "mdbook-python: {}",
                failure_line(&report, self.options.mode)
            ))
        } else {
            Ok(book)
        }
    }

    fn supports_renderer(&self, _renderer: &str) -> mdbook_preprocessor::errors::Result<bool> {
        Ok(true)
    }
}

fn anyhow_error<T>(msg: String) -> mdbook_preprocessor::errors::Result<T> {
    Err(mdbook_preprocessor::errors::Error::msg(msg))
}

/// Print every diagnostic, then the summary line, to stderr.
pub fn print_report(report: &Report) {
    for d in &report.diagnostics {
        eprintln!("{d}\n");
    }
    if let Some(sandbox) = &report.stats.sandbox {
        for gap in sandbox.gaps(report.network_isolated) {
            eprintln!("mdbook-python: note: {gap}");
        }
    }
    for note in report.notes.lines() {
        eprintln!("mdbook-python: note: {note}");
    }
    eprintln!("{}", report.summary());
    if let Some(browser) = &report.browser {
        eprintln!("{browser}");
    }
    if let Some(table) = &report.matrix {
        eprintln!("{table}");
    }
    if let Some(shard) = &report.shard {
        eprintln!("{shard}");
    }
}

/// Run the plugin over `book` as `options.mode` says: a build rewrites its
/// chapters in place (when nothing failed), a check only reports. Never
/// panics on bad input: problems are in the report.
pub fn run(ctx: &PreprocessorContext, book: &mut Book, options: &Options) -> Report {
    match options.mode {
        Mode::Build => commands::build(ctx, book, options),
        Mode::Check => commands::check(ctx, book, options),
    }
}

/// `3 errors (see above); the book was not built`.
pub fn failure_line(report: &Report, mode: Mode) -> String {
    let n = report.errors();
    format!(
        "{n} error{} (see above); {}",
        if n == 1 { "" } else { "s" },
        match mode {
            Mode::Build => "the book was not built",
            Mode::Check => "check failed",
        }
    )
}

/// The plugin's settings, from the `[preprocessor.python]` table mdBook
/// passes (with `book_toml`'s text, diagnostics name their line).
pub(crate) fn read_config(
    ctx: &PreprocessorContext,
    book_toml: Option<&str>,
) -> Result<Config, Vec<Diagnostic>> {
    config::read(&ctx.config, &ctx.root, book_toml)
}

pub(crate) fn interpreter_memos(config: &Config, cache_dir: &Path, root: &Path) -> Vec<PathBuf> {
    interpreter_memos_for(&config.python, cache_dir, root)
}

/// Where the facts of the interpreter `python` resolves to are remembered:
/// the cache folder (one file per command) and the user's cache.
pub(crate) fn interpreter_memos_for(python: &str, cache_dir: &Path, root: &Path) -> Vec<PathBuf> {
    let name = if python == config::DEFAULT_PYTHON {
        "interpreter.json".to_string()
    } else {
        format!(
            "interpreter-{}.json",
            &blake3::hash(python.as_bytes()).to_hex()[..16]
        )
    };
    std::iter::once(cache_dir.join(name))
        .chain(execute::interpreter::user_memo(python, root))
        .collect()
}

/// Logs for whoever debugs a build: `MDBOOK_PYTHON_LOG` holds a filter
/// (`info`, `debug`, `mdbook_python::execute=debug`); unset, nothing is
/// set up and nothing is written.
pub fn init_logs() {
    if let Some(filter) = std::env::var_os("MDBOOK_PYTHON_LOG") {
        let filter = tracing_subscriber::EnvFilter::new(filter.to_string_lossy());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .without_time()
            .try_init();
    }
}

/// The chapter rewriter without execution, for fuzzing and property tests:
/// scan, plan and render `text` as if every Python block had printed its own
/// code. Never panics; Markdown with no Python, output, stdin, pycon or quiz
/// blocks comes back unchanged.
#[doc(hidden)]
pub fn rewrite_offline(text: &str, html: bool) -> String {
    let config = Config {
        hidelines: Some("~".into()),
        ..Config::default()
    };
    let scanned = scan::scan(text);
    let file = Path::new("src/a.md");
    let (plan, problems) = plan::plan(file, "a.md", text, &scanned, &config, (3, 11));
    if problems.iter().any(|d| d.is_error()) {
        return text.to_string();
    }
    let verdicts: Vec<Option<verify::Verdict>> = plan
        .snippets
        .iter()
        .map(|s| {
            let outcome = Outcome {
                output: s.code.clone(),
                failure: None,
                ..Outcome::failed(execute::Failure::NotRun)
            };
            Some(verify::verify(
                file,
                s,
                &outcome,
                config.on_mismatch,
                config.output_limit,
            ))
        })
        .collect();
    let labels = render::assets::Labels::default();
    let cx = render::Context {
        target: if html {
            render::Target::Html
        } else {
            render::Target::Text
        },
        python: "3.11.0",
        browser_python: render::assets::BROWSER_PYTHON,
        labels: &labels,
        stdlib: &[],
    };
    let mut edits = render::snippet_edits(text, &scanned, &plan, &verdicts, &cx);
    render::splice(text, &mut edits)
}
