//! mdbook-python: an mdBook preprocessor that runs every Python block of a
//! book at build time, shows or verifies its output, and makes it runnable in
//! the reader's browser. One build is a pipeline of five stages:
//!
//! 1. [`scan`]: each chapter's Markdown to fenced blocks with spans and lines;
//! 2. [`plan`]: blocks to snippets (attributes, output/stdin blocks, hidden
//!    lines, sessions) and jobs;
//! 3. [`execute`]: jobs to outcomes, through the cache and a pool of warm
//!    CPython workers (the only stage that does I/O);
//! 4. [`verify`]: outcomes against expectations, to verdicts and diagnostics;
//! 5. [`render`]: verdicts to edits of the original Markdown, spliced in one
//!    pass.
//!
//! [`quiz`] parses, verifies and renders quizzes inside the same pipeline.
//! `pipeline` drives the stages; `commands` and [`bless`] consume the run;
//! [`cli`] adds `check`, `bless` and `clean`,
//! and `build` and `serve` (mdBook's engine in-process, module `serve`).
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
use std::time::Instant;

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

/// A warm build's shortcut (see `execute::books`): mdBook's raw `input` in;
/// out, the answer the last build gave for exactly this input, and a report
/// saying every program was cached. `None` when anything may have changed,
/// the cache is off, or the interpreter is not remembered.
pub fn replay(ctx: &PreprocessorContext, input: &[u8]) -> Option<(Vec<u8>, Report)> {
    let started = Instant::now();
    let (cache_dir, assets_dir, key) = book_key(ctx, input)?;
    let assets = [render::assets::JS_FILE, render::assets::CSS_FILE];
    if ctx.renderer == "html" && !assets.iter().all(|a| assets_dir.join(a).is_file()) {
        return None;
    }
    let (entry, answer) = execute::books::load(&cache_dir, &ctx.renderer, &key)?;
    let mut report = Report {
        snippets: entry.programs,
        browser: entry.browser,
        notes: entry.notes,
        ..Report::default()
    };
    report.stats.programs = entry.programs;
    report.stats.cached = entry.programs;
    report.seconds = started.elapsed().as_secs_f64();
    Some((answer, report))
}

/// Keep a build's `answer` to mdBook's `input` for `replay`: only a build
/// that said nothing but its summary.
pub fn remember(ctx: &PreprocessorContext, input: &[u8], answer: &[u8], report: &Report) {
    if !report.diagnostics.is_empty() || report.failed > 0 {
        return;
    }
    if let Some((cache_dir, _, key)) = book_key(ctx, input) {
        let entry = execute::books::Entry {
            key,
            programs: report.snippets,
            browser: report.browser.clone(),
            inputs: report.inputs.clone(),
            notes: report.notes.clone(),
        };
        execute::books::store(&cache_dir, &ctx.renderer, &entry, answer);
    }
}

/// The book cache's folder and key: mdBook's whole input, the plugin
/// binary, the interpreter and the browser-parity results.
fn book_key(ctx: &PreprocessorContext, input: &[u8]) -> Option<(PathBuf, PathBuf, String)> {
    let config = read_config(ctx, None).ok()?;
    if !config.cache {
        return None;
    }
    let cache_dir = config.cache_dir_in(&ctx.root);
    let memos = interpreter_memos(&config, &cache_dir, &ctx.root);
    let interpreter = execute::interpreter::lookup(&config.python, &ctx.root, &memos)?;
    let key = execute::books::BookKey {
        binary: &execute::books::exe_stamp(),
        interpreter: &interpreter,
        browser: &execute::browser::generation(&cache_dir),
        input,
    }
    .hash();
    Some((cache_dir, config.assets_dir_in(&ctx.root), key))
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

/// The assets folder relative to the book (`assets-dir`, else
/// `<cache-dir>/assets`), as `additional-js`/`-css` name it.
pub(crate) fn assets_folder(config: &Config) -> PathBuf {
    config
        .assets_dir
        .clone()
        .unwrap_or_else(|| config.cache_dir.join(render::assets::DIR))
}

/// The warning of a book whose pages would not load the front end: book.toml's
/// `additional-js`/`-css` (`js`, `css`) lack the files the build writes into
/// `cache_dir`, or name them in another folder. Its detail is the lines to
/// write (other entries kept).
pub(crate) fn page_setup(assets: &Path, js: &[String], css: &[String]) -> Option<Diagnostic> {
    let parts = |p: &str| -> Vec<String> {
        Path::new(&p.replace('\\', "/"))
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let dir = assets.to_string_lossy().replace('\\', "/");
    let dir = dir.trim_start_matches("./").trim_end_matches('/');
    let mut stale = Vec::new();
    let mut lines = vec!["[output.html]".to_string()];
    for (key, list, file) in [
        ("additional-js", js, render::assets::JS_FILE),
        ("additional-css", css, render::assets::CSS_FILE),
    ] {
        let wanted = format!("{dir}/{file}");
        if list.iter().any(|e| parts(e) == parts(&wanted)) {
            continue;
        }
        let name = file.rsplit('/').next().unwrap_or(file);
        // Entries for our file in another folder go; the author's own stay.
        let (old, kept): (Vec<&String>, Vec<&String>) = list
            .iter()
            .partition(|e| e.replace('\\', "/").ends_with(name));
        stale.extend(old);
        let items: Vec<String> = kept
            .into_iter()
            .chain([&wanted])
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        lines.push(format!("{key} = [{}]", items.join(", ")));
    }
    if lines.len() == 1 {
        return None;
    }
    let message = if stale.is_empty() {
        "the pages get no Run buttons: book.toml does not load mdbook-python's front end"
            .to_string()
    } else {
        let old: Vec<String> = stale.iter().map(|s| format!("`{s}`")).collect();
        format!(
            "the pages get no Run buttons: book.toml loads {} but the build writes its front end into `{dir}`",
            old.join(" and ")
        )
    };
    let help = if dir == ".mdbook-python/assets" {
        "write these lines into book.toml, or run `mdbook-python init`, which adds them"
    } else {
        "write these lines into book.toml (`mdbook-python init` adds them for the default folder)"
    };
    Some(
        Diagnostic::warning("book.toml", 0, message)
            .with_detail(lines.join("\n"))
            .with_help(help),
    )
}

/// Write the front-end bundle where book.toml's `additional-js`/`-css` find it.
/// A warm build skips making it (a few hundred microseconds) when the stamp
/// in the cache folder says the files are as the same binary and settings
/// left them.
pub(crate) fn publish_assets(config: &Config, root: &Path, cache_dir: &Path, report: &mut Report) {
    let assets = config.assets_dir_in(root);
    let files = [
        assets.join(render::assets::JS_FILE),
        assets.join(render::assets::CSS_FILE),
    ];
    let stamp = cache_dir.join("assets.stamp");
    // What the bundle is made of, besides the binary.
    let made_of = (
        &config.pyodide_url,
        config.output_limit,
        &config.labels,
        &config.quiz_labels,
        &config.figure_format,
        &config.packages,
    );
    let key = execute::keys::KeyHasher::new("mdbook-python assets v1")
        .field(execute::books::exe_stamp().as_bytes())
        .field(format!("{made_of:?}\0{assets:?}").as_bytes())
        .finish();
    if execute::fs::stamp_holds(&stamp, &key, &files) {
        return;
    }
    let (url, limit, labels, quiz_labels, figure_format, packages) = made_of;
    let (js, css) =
        render::assets::bundle(url, limit, labels, quiz_labels, figure_format, packages);
    let result = execute::cache::prepare_dir(cache_dir)
        .and_then(|_| match config.assets_dir {
            Some(_) => execute::cache::prepare_assets_dir(&assets),
            None => Ok(()),
        })
        .and_then(|_| {
            execute::fs::write_if_changed(&assets.join(render::assets::JS_FILE), js.as_bytes())
        })
        .and_then(|_| {
            execute::fs::write_if_changed(&assets.join(render::assets::CSS_FILE), css.as_bytes())
        });
    if result.is_ok() {
        execute::fs::write_stamp(&stamp, &key, &files);
    }
    if let Err(e) = result {
        report.diagnostics.push(
            Diagnostic::error(
                &assets,
                0,
                format!("cannot write the front-end assets: {e}"),
            )
            .with_help(
                "make the folder writable, or set `assets-dir` (or `cache-dir`) in [preprocessor.python]",
            ),
        );
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
