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
//! [`run_book`] drives the stages; [`cli`] adds `check`, `bless` and `clean`,
//! and `build` and `serve` (mdBook's engine in-process, module `serve`).
//!
//! Unix only: the worker pool needs process groups, `fork` and rlimits.

#[cfg(not(unix))]
compile_error!(
    "mdbook-python runs on Linux and macOS only: its worker pool needs Unix process groups, fork and rlimits (on Windows, use WSL)"
);

pub mod bless;
pub mod cli;
pub mod config;
pub mod diagnostics;
pub mod execute;
pub mod exercise;
pub(crate) mod includes;
pub mod init;
pub mod matrix;
pub mod parity;
pub mod plan;
pub mod quiz;
pub mod quizzes;
pub mod render;
pub mod scan;
pub(crate) mod serve;
pub mod verify;

use config::Config;
use diagnostics::Diagnostic;
use execute::Outcome;
use mdbook_preprocessor::book::{Book, BookItem};
use mdbook_preprocessor::{Preprocessor, PreprocessorContext};
use plan::{ChapterPlan, Origin};
use std::collections::HashMap;
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
    /// `mdbook-python bless`: compute the rewrites of mismatching blocks.
    Bless,
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
    /// In `Mode::Bless`: the chapter files to rewrite.
    pub rewrites: Vec<bless::Rewrite>,
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
        let report = run_book(ctx, &mut book, &self.options);
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

/// `3 errors (see above); the book was not built`.
pub fn failure_line(report: &Report, mode: Mode) -> String {
    let n = report.errors();
    format!(
        "{n} error{} (see above); {}",
        if n == 1 { "" } else { "s" },
        match mode {
            Mode::Build => "the book was not built",
            Mode::Check | Mode::Bless => "check failed",
        }
    )
}

/// The plugin's settings, from the `[preprocessor.python]` table mdBook
/// passes (with `book_toml`'s text, diagnostics name their line).
fn read_config(
    ctx: &PreprocessorContext,
    book_toml: Option<&str>,
) -> Result<Config, Vec<Diagnostic>> {
    config::read(&ctx.config, &ctx.root, book_toml)
}

fn interpreter_memos(config: &Config, cache_dir: &Path, root: &Path) -> Vec<PathBuf> {
    interpreter_memos_for(&config.python, cache_dir, root)
}

/// Where the facts of the interpreter `python` resolves to are remembered:
/// the cache folder (one file per command) and the user's cache.
fn interpreter_memos_for(python: &str, cache_dir: &Path, root: &Path) -> Vec<PathBuf> {
    let name = if python == Config::default().python {
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

/// The matrix's view of the book: chapters and their snippets by id.
struct ChapterLookup<'a>(&'a [Chapter]);

impl matrix::Lookup for ChapterLookup<'_> {
    fn snippet(&self, id: &plan::ProgramId) -> Option<(&Path, &plan::Snippet)> {
        let ch = self.0.get(id.chapter)?;
        let s = ch.plan.as_ref()?.snippets.get(id.item)?;
        Some((ch.file.as_path(), s))
    }
    fn file(&self, chapter: usize) -> &Path {
        &self.0[chapter].file
    }
    fn quiz_version_specific(&self, chapter: usize, quiz: usize, question: usize) -> bool {
        self.0
            .get(chapter)
            .and_then(|c| c.quizzes.get(quiz))
            .and_then(|p| p.quiz.questions.get(question))
            .is_some_and(|q| matches!(&q.kind, quiz::Kind::Tracing(t) if t.version_specific))
    }
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
    let key = execute::chapters::key(&[
        b"book",
        execute::books::exe_stamp().as_bytes(),
        format!("{interpreter:?}").as_bytes(),
        execute::browser::generation(&cache_dir).as_bytes(),
        input,
    ]);
    Some((cache_dir, config.assets_dir_in(&ctx.root), key))
}

/// Part of every chapter-cache key: changed whenever rendering changes
/// within one package version, so no chapter rendered the old way is reused
/// (issue 19: visible control characters, escaped Markdown, written lines;
/// issue 23: labels naming the build Python, block lines in the page data).
const RENDERING: &str = "issue-23";

/// One chapter as the pipeline sees it.
struct Chapter {
    /// `book/x.md` (with the display root).
    file: PathBuf,
    /// `x.md`.
    source: String,
    text: String,
    /// Parsed on demand: a chapter taken from the chapter cache never is.
    scanned: Option<scan::Scanned>,
    plan: Option<ChapterPlan>,
    quizzes: Vec<quizzes::Planned>,
    /// The chapter-cache key (warm builds), and the content found under it.
    key: Option<String>,
    cached: Option<execute::chapters::Rendered>,
    /// Lines of `text` to the lines authors wrote, when mdBook expanded
    /// `{{#include}}`-like directives in it (chapters that are planned).
    map: Option<includes::LineMap>,
    /// Planning reported something: the chapter is not kept whole.
    problems: bool,
}

impl Chapter {
    fn scan(&mut self) -> &scan::Scanned {
        self.scanned.get_or_insert_with(|| scan::scan(&self.text))
    }

    /// What the scan found (nothing, for a chapter that was not parsed).
    fn scanned(&self) -> &scan::Scanned {
        static NOTHING: scan::Scanned = scan::Scanned {
            fences: Vec::new(),
            quizzes: Vec::new(),
        };
        self.scanned.as_ref().unwrap_or(&NOTHING)
    }
}

/// Run the whole pipeline over `book`, rewriting its chapters in place (in
/// `Mode::Build`). Never panics on bad input: problems are in the report.
pub fn run_book(ctx: &PreprocessorContext, book: &mut Book, options: &Options) -> Report {
    let started = Instant::now();
    let mut report = Report::default();
    let root = &ctx.root;
    let book_toml = execute::fs::read_text(&root.join("book.toml"));
    let config = match read_config(ctx, book_toml.as_deref()) {
        Ok(c) => match &options.runtime {
            Some(runtime) => Config {
                python: runtime.clone(),
                matrix: Vec::new(),
                ..c
            },
            None => c,
        },
        Err(errors) => {
            report.diagnostics = errors;
            return report;
        }
    };
    let outputs: Vec<String> = match ctx.config.outputs::<serde_json::Value>() {
        Ok(o) if !o.is_empty() => o.into_keys().collect(),
        _ => vec!["html".to_string()],
    };
    let table: Option<serde_json::Value> = ctx.config.get("preprocessor.python").ok().flatten();
    if let Some(d) = config::check_renderers(table.as_ref(), &outputs, book_toml.as_deref()) {
        report.diagnostics.push(d);
        return report;
    }
    let target = if ctx.renderer == "html" {
        render::Target::Html
    } else {
        render::Target::Text
    };
    let src = options.display_root.join(&ctx.config.book.src);

    let mut timings = Timings::new();
    // 1. scan. A chapter joins only if a substring test says it may hold
    // Python or a quiz; it is parsed once it is known not to come whole
    // from the chapter cache (or to hold a quiz, which the key reads).
    let mut chapters: Vec<Chapter> = Vec::new();
    for item in book.iter() {
        if let BookItem::Chapter(ch) = item
            && let Some(source) = &ch.source_path
            && scan::may_have_python(&ch.content)
        {
            chapters.push(Chapter {
                file: src.join(source),
                source: source.to_string_lossy().replace('\\', "/"),
                scanned: None,
                text: ch.content.clone(),
                plan: None,
                quizzes: Vec::new(),
                key: None,
                cached: None,
                map: None,
                problems: false,
            });
        }
    }
    let cache_dir = config.cache_dir_in(root);
    if target == render::Target::Html && options.mode == Mode::Build {
        publish_assets(&config, root, &cache_dir, &mut report);
        let listed = |key: &str| {
            ctx.config
                .get::<Vec<String>>(&format!("output.html.{key}"))
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let (js, css) = (listed("additional-js"), listed("additional-css"));
        report
            .diagnostics
            .extend(page_setup(&assets_folder(&config), &js, &css));
    }
    if chapters.is_empty() {
        report.seconds = started.elapsed().as_secs_f64();
        return report;
    }

    // The interpreter (remembered in the cache folder).
    // The interpreter is remembered even with --no-cache: that flag is about
    // results, and resolving through a shim costs ~100 ms of CPU.
    let use_cache = config.cache && !options.no_cache;
    let _ = execute::cache::prepare_dir(&cache_dir);
    let memos = interpreter_memos(&config, &cache_dir, root);
    use execute::interpreter::MIN_PYTHON;
    let interpreter = match execute::interpreter::locate(&config.python)
        .and_then(|python| execute::interpreter::resolve(&python, root, &memos))
    {
        Ok(i) => i,
        Err(e) => {
            // Only an error for a book that really has Python.
            let has_python = chapters.iter_mut().any(|c| {
                let s = c.scan();
                !s.quizzes.is_empty() || s.fences.iter().any(|f| scan::LANGS.contains(&f.lang()))
            });
            if has_python {
                report.diagnostics.push(
                    Diagnostic::error("book.toml", 0, e)
                        .with_help(format!("set `python` in [preprocessor.python] to a Python {}.{}+ interpreter: a command on PATH or a path, e.g. `.venv/bin/python`", MIN_PYTHON.0, MIN_PYTHON.1)),
                );
            }
            report.seconds = started.elapsed().as_secs_f64();
            return report;
        }
    };
    let version = (interpreter.version.0, interpreter.version.1);

    // A chapter whose every input is unchanged is taken whole from the
    // chapter cache (builds only): no parsing, planning, running or rendering.
    let mut chapter_cache = (use_cache && options.mode == Mode::Build)
        .then(|| execute::chapters::Chapters::open(&cache_dir));
    if let Some(cc) = &chapter_cache {
        let config_text = format!("{config:?}\0{target:?}\0{}", src.display());
        let interp_text = format!("{interpreter:?}");
        let parity_stamp = execute::browser::generation(&cache_dir);
        let exe_stamp = execute::books::exe_stamp();
        for ch in chapters.iter_mut() {
            let dir = root
                .join(&ctx.config.book.src)
                .join(Path::new(&ch.source).parent().unwrap_or(Path::new("")));
            let mut quiz_files: Vec<u8> = Vec::new();
            if scan::may_have_quiz(&ch.text) {
                for d in &ch.scan().quizzes {
                    let path = dir.join(&d.path);
                    let text = execute::fs::read_text(&path).unwrap_or_default();
                    quiz_files.extend_from_slice(text.as_bytes());
                    report
                        .inputs
                        .push((path.clone(), execute::books::file_hash(&path)));
                }
            }
            let key = execute::chapters::key(&[
                RENDERING.as_bytes(),
                // A rebuilt plugin (its code, the worker, the front end)
                // renders afresh.
                exe_stamp.as_bytes(),
                config_text.as_bytes(),
                interp_text.as_bytes(),
                parity_stamp.as_bytes(),
                ch.source.as_bytes(),
                ch.text.as_bytes(),
                &quiz_files,
            ]);
            ch.cached = cc.get(&key).cloned();
            ch.key = Some(key);
        }
    }
    for ch in chapters.iter_mut().filter(|c| c.cached.is_none()) {
        ch.scan();
    }
    timings.lap("scan");

    // 2. plan
    let mut jobs = Vec::new();
    for (i, ch) in chapters.iter_mut().enumerate() {
        let source_dir = Path::new(&ch.source).parent().unwrap_or(Path::new(""));
        let place = quizzes::ChapterPlace {
            quiz_language: &config.quiz_language,
            file: &ch.file,
            source: &ch.source,
            dir_on_disk: root.join(&ctx.config.book.src).join(source_dir),
            dir_display: src.join(source_dir),
        };
        let (planned, mut quiz_errors) = quizzes::plan(ch.scanned(), &place);
        for q in planned.iter().flat_map(|p| &p.quiz.questions) {
            if let quiz::Kind::Tracing(t) = &q.kind
                && !t.is_python()
            {
                *report
                    .notes
                    .quiz_unrun
                    .entry(t.language.clone())
                    .or_default() += 1;
            }
        }
        if ch.cached.is_some() {
            // Its quizzes still take part in the book-wide id check.
            ch.quizzes = planned;
            continue;
        }
        let book_src = root.join(&ctx.config.book.src);
        ch.map = execute::fs::read_text(&book_src.join(&ch.source)).and_then(|source| {
            includes::LineMap::build(
                &source,
                &ch.text,
                &ch.file,
                &book_src.join(source_dir),
                &src.join(source_dir),
                &|p: &Path| execute::fs::read_text(p),
            )
        });
        // A block with a problem is left out; the rest of the book runs.
        let (p, mut problems) = plan::plan(
            &ch.file,
            &ch.source,
            &ch.text,
            ch.scanned(),
            &config,
            version,
        );
        ch.problems = !problems.is_empty();
        report.notes.add(&p.notes);
        report.diagnostics.append(&mut problems);
        jobs.extend(plan::jobs(i, &p, &config));
        let mut p = p;
        // The browser's tracebacks name where included code was written, as the build's do.
        if let Some(map) = &ch.map {
            for s in &mut p.snippets {
                let count = scan::Lines::count(&s.code).max(1);
                let place = map.span(s.line, count).unwrap_or_else(|| map.place(s.line));
                if place.file != ch.file || place.line != s.line {
                    s.written = Some((place.file, place.line));
                }
            }
        }
        ch.plan = Some(p);
        report.diagnostics.append(&mut quiz_errors);
        jobs.extend(quizzes::jobs(
            i,
            &planned,
            config.timeout,
            config.output_limit,
        ));
        ch.quizzes = planned;
    }
    let all: Vec<&quiz::Quiz> = chapters
        .iter()
        .flat_map(|c| c.quizzes.iter().map(|p| &p.quiz))
        .collect();
    report.diagnostics.extend(quiz::check_unique_ids(&all));
    let moved = place_programs(&chapters, &mut jobs);

    // Programs name their file relative to the book root, wherever the
    // command runs from: outputs (tracebacks) and cache keys stay the same.
    if !options.display_root.as_os_str().is_empty() {
        for p in jobs.iter_mut().flat_map(|j| j.programs.iter_mut()) {
            if let Ok(rel) = p.file.strip_prefix(&options.display_root) {
                p.file = rel.to_path_buf();
            }
        }
    }
    if let Some(shard) = options.shard {
        let all = jobs.len();
        jobs.retain(|j| shard.holds(&execute::cache::key(&interpreter, j, &config.figure_format)));
        report.shard = Some(format!(
            "mdbook-python: shard {}/{}: {} of {all} jobs (the other shards run the rest)",
            shard.index,
            shard.count,
            jobs.len()
        ));
    }
    timings.lap("plan");
    // 3. execute
    // Read the result packs only when something is left to run or look up.
    let cache = (use_cache && !jobs.is_empty()).then(|| execute::cache::Cache::new(&cache_dir));
    let settings = execute::pool::Settings {
        jobs: config.jobs,
        limits: config.rlimits(),
        network: config.network.clone(),
        figure_format: config.figure_format.clone(),
        mpl_config_dir: Some(cache_dir.join("matplotlib")),
    };
    let total: usize = jobs.iter().map(|j| j.programs.len()).sum();
    let bar = progress_bar(options.progress, total);
    let tick = |n: usize| {
        if let Some(b) = &bar {
            b.inc(n as u64);
        }
    };
    let (results, stats) = execute::run(&interpreter, &jobs, cache.as_ref(), &settings, &tick);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    report.stats = stats;
    report.network_isolated = config.network == "loopback";
    // 3a. the runtime matrix: the same jobs on every further Python.
    let matrix_found = if config.matrix.is_empty() {
        None
    } else {
        let resolve_one = |cmd: &str| {
            execute::interpreter::resolve(cmd, root, &interpreter_memos_for(cmd, &cache_dir, root))
        };
        match matrix::resolve(&config.matrix, &resolve_one) {
            Err(mut errors) => {
                report.diagnostics.append(&mut errors);
                None
            }
            Ok(runtimes) => {
                let run_jobs = |i: &execute::Interpreter, js: &[plan::Job]| {
                    execute::run(i, js, cache.as_ref(), &settings, &|_| {}).0
                };
                let lookup = ChapterLookup(&chapters);
                Some(matrix::run(
                    &lookup,
                    &interpreter,
                    &runtimes,
                    &jobs,
                    &results,
                    &run_jobs,
                    config.output_limit,
                ))
            }
        }
    };
    let on_mismatch = if options.mode == Mode::Bless {
        config::OnMismatch::Warn
    } else {
        config.on_mismatch
    };
    let mut outcomes: HashMap<(usize, usize), Outcome> = HashMap::new();
    let mut quiz_outcomes: HashMap<(usize, usize, usize), Outcome> = HashMap::new();
    // By (chapter, exercise): each attempt's outcomes, solution first.
    let mut exercise_outcomes: HashMap<(usize, usize), Vec<Vec<Outcome>>> = HashMap::new();
    for (job, outs) in jobs.iter().zip(results) {
        for (program, outcome) in job.programs.iter().zip(outs) {
            match program.id.origin {
                Origin::Snippet => {
                    let mut outcome = outcome;
                    if let Some(&(expanded, written)) = moved.get(&program.id) {
                        // `>>>` lines come back counted from where the
                        // program says it was written; the later stages
                        // count lines of the chapter as given.
                        for ex in &mut outcome.examples {
                            ex.line = (ex.line + expanded).saturating_sub(written);
                        }
                    }
                    outcomes.insert((program.id.chapter, program.id.item), outcome);
                }
                Origin::Quiz(q, question) => {
                    quiz_outcomes.insert((program.id.chapter, q, question), outcome);
                }
                Origin::Exercise(x, attempt) => {
                    let proof = exercise_outcomes
                        .entry((program.id.chapter, x))
                        .or_default();
                    proof.resize_with(proof.len().max(attempt + 1), Vec::new);
                    proof[attempt].push(outcome);
                }
            }
        }
    }
    let quiz_labels = config.quiz_labels.clone();

    timings.lap("execute");
    // 3b. browser parity: run and compare (`check --browser`, `browser-check`),
    // or only look up cached results, which a build's notes use.
    let want = match options.mode {
        Mode::Check if options.browser || config.browser_check => Some(parity::Want::Check),
        Mode::Build if config.browser_check => Some(parity::Want::Check),
        Mode::Build if target == render::Target::Html => Some(parity::Want::CacheOnly),
        _ => None,
    };
    if let Some(want) = want {
        let python = interpreter.short_version();
        let book = parity::Book {
            chapters: (chapters.iter().enumerate())
                .filter_map(|(i, c)| Some((i, c.plan.as_ref()?)))
                .collect(),
            outcomes: &outcomes,
            config: &config,
            root,
            src: &ctx.config.book.src,
            cache_dir: &cache_dir,
            use_cache,
            python: &python,
        };
        let found = parity::check(&book, want, on_mismatch);
        report.failed += found.failed;
        report.diagnostics.extend(found.diagnostics);
        report.browser = found.summary;
        for (c, i) in found.differs {
            if let Some(s) = chapters[c]
                .plan
                .as_mut()
                .and_then(|p| p.snippets.get_mut(i))
            {
                s.attrs.browser_differs = true;
            }
        }
    }

    timings.lap("parity");
    // 4. verify and 5. render
    let python = interpreter.short_version();
    let labels = config.labels.clone();
    let cx = render::Context {
        target,
        python: &python,
        browser_python: render::assets::BROWSER_PYTHON,
        output_limit: config.output_limit,
        labels: &labels,
        stdlib: &interpreter.stdlib,
    };
    let mut new_text: HashMap<String, String> = HashMap::new();
    for (i, ch) in chapters.iter().enumerate() {
        if let Some(c) = &ch.cached {
            report.stats.cached += c.programs;
            report.stats.programs += c.programs;
            report.notes.add(&c.notes);
            new_text.insert(ch.source.clone(), c.content.clone());
            continue;
        }
        let Some(p) = &ch.plan else { continue };
        let diagnostics_before = report.diagnostics.len();
        let programs: usize = jobs
            .iter()
            .flat_map(|j| &j.programs)
            .filter(|p| p.id.chapter == i)
            .count();
        let verdicts: Vec<Option<verify::Verdict>> = p
            .snippets
            .iter()
            .map(|s| {
                outcomes.get(&(i, s.index)).map(|o| {
                    let mut v = verify::verify(&ch.file, s, o, on_mismatch, config.output_limit);
                    if let Some(found) = &matrix_found
                        && let Some(variants) = found.variants.get(&(i, s.index))
                    {
                        v.variants = variants.clone();
                    }
                    v
                })
            })
            .collect();
        for (x, ex) in p.exercises.iter().enumerate() {
            if let Some(proofs) = exercise_outcomes.get(&(i, x)) {
                let mut errors = exercise::verify(&ch.file, ex, proofs);
                report.failed += usize::from(!errors.is_empty());
                report.diagnostics.append(&mut errors);
            }
        }
        for v in verdicts.iter().flatten() {
            if v.diagnostics.iter().any(|d| d.is_error()) {
                report.failed += 1;
            }
            let keep = v
                .diagnostics
                .iter()
                .filter(|d| options.mode != Mode::Bless || d.is_error());
            report.diagnostics.extend(keep.cloned());
        }
        if options.mode == Mode::Bless {
            let examples: Vec<Vec<execute::Example>> = p
                .snippets
                .iter()
                .map(|s| {
                    outcomes
                        .get(&(i, s.index))
                        .map(|o| o.examples.clone())
                        .unwrap_or_default()
                })
                .collect();
            let (blocks, mut notes) =
                bless::edits(&ch.file, &ch.text, ch.scanned(), p, &verdicts, &examples);
            report.diagnostics.append(&mut notes);
            if !blocks.is_empty() {
                report.rewrites.push(bless::Rewrite {
                    path: PathBuf::from(&ch.source),
                    raw: ch.text.clone(),
                    old: ch.text.clone(),
                    blocks,
                });
            }
        }
        let nl = if ch.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut quiz_edits = Vec::new();
        for (qi, planned) in ch.quizzes.iter().enumerate() {
            // A shard verifies a quiz only when it ran all of its programs.
            if options.shard.is_some()
                && !(planned.quiz.python_programs().iter())
                    .all(|tp| quiz_outcomes.contains_key(&(i, qi, tp.question)))
            {
                continue;
            }
            let (runs, mut errors) =
                quizzes::runs(planned, |question| quiz_outcomes.remove(&(i, qi, question)));
            let mut verified = quiz::verify(&planned.quiz, &runs);
            if errors.iter().chain(&verified).any(|d| d.is_error()) {
                report.failed += 1;
            }
            report.diagnostics.append(&mut errors);
            report.diagnostics.append(&mut verified);
            let key = format!("{}#quiz{qi}", ch.source);
            quiz_edits.push(quizzes::edit(
                planned,
                &runs,
                &key,
                target,
                &quiz_labels,
                nl,
            ));
        }
        if options.mode == Mode::Build {
            let mut edits = render::snippet_edits(&ch.text, ch.scanned(), p, &verdicts, &cx);
            edits.append(&mut quiz_edits);
            let content = render::splice(&ch.text, &mut edits);
            if let (Some(cc), Some(key)) = (chapter_cache.as_mut(), &ch.key)
                && report.diagnostics.len() == diagnostics_before
                && !ch.problems
            {
                cc.put(
                    key.clone(),
                    execute::chapters::Rendered {
                        content: content.clone(),
                        programs,
                        notes: p.notes.clone(),
                    },
                );
            }
            if !edits.is_empty() {
                new_text.insert(ch.source.clone(), content);
            }
        }
    }
    report.snippets = report.stats.programs;
    if let Some(found) = matrix_found {
        let primary = matrix::Row {
            runtime: config.python.clone(),
            version: interpreter.short_version(),
            run: report.stats.programs,
            same: report.stats.programs,
            marked: 0,
            failing: report.failed,
        };
        report.failed += found.failed;
        report.diagnostics.extend(found.diagnostics);
        report.matrix = Some(matrix::table(&primary, &found.rows));
    }
    if let Some(cc) = chapter_cache.take()
        && report.errors() == 0
    {
        let used: Vec<String> = chapters
            .iter()
            .filter(|c| c.cached.is_some())
            .filter_map(|c| c.key.clone())
            .collect();
        cc.flush(&used);
    }
    if options.mode == Mode::Build && report.errors() == 0 {
        book.for_each_chapter_mut(|ch| {
            if let Some(source) = &ch.source_path
                && let Some(t) = new_text.remove(&source.to_string_lossy().replace('\\', "/"))
            {
                ch.content = t;
            }
        });
    }
    place_diagnostics(&chapters, &mut report.diagnostics);
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Programs of chapters with included text name the file and line their
/// code was written at (so tracebacks do): the program's lines when they are
/// consecutive lines of one file, else where its first line was written.
/// Returns, for each program moved, (its line in the chapter as given, its
/// new line).
fn place_programs(
    chapters: &[Chapter],
    jobs: &mut [plan::Job],
) -> HashMap<plan::ProgramId, (usize, usize)> {
    let mut moved = HashMap::new();
    for p in jobs.iter_mut().flat_map(|j| j.programs.iter_mut()) {
        let ch = &chapters[p.id.chapter];
        let Some(map) = ch.map.as_ref().filter(|_| p.file == ch.file) else {
            continue;
        };
        let count = scan::Lines::count(&p.code).max(1);
        let place = map.span(p.line, count).unwrap_or_else(|| map.place(p.line));
        if place.line != p.line || place.file != p.file {
            moved.insert(p.id, (p.line, place.line));
            p.file = place.file;
            p.line = place.line;
        }
    }
    moved
}

/// Diagnostics at lines of a chapter with included text point at the line
/// written: the chapter's own, or the included file's and the directive.
fn place_diagnostics(chapters: &[Chapter], diagnostics: &mut [Diagnostic]) {
    let maps: HashMap<&Path, &includes::LineMap> = chapters
        .iter()
        .filter_map(|c| Some((c.file.as_path(), c.map.as_ref()?)))
        .collect();
    for d in diagnostics
        .iter_mut()
        .filter(|d| d.line > 0 && d.via.is_none())
    {
        if let Some(map) = maps.get(d.file.as_path()) {
            let place = map.place(d.line);
            d.file = place.file;
            d.line = place.line;
            d.via = place.via;
        }
    }
}

/// Stage times, as `tracing` events (`MDBOOK_PYTHON_LOG=info` shows the
/// summary, `debug` each stage and every cache hit and miss): where a slow
/// build spends its time.
struct Timings {
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Timings {
    fn new() -> Self {
        Timings {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, stage: &'static str) {
        let now = Instant::now();
        let ms = (now - self.last).as_secs_f64() * 1000.0;
        tracing::debug!(stage, ms, "stage done");
        self.laps.push((stage, ms));
        self.last = now;
    }
}

impl Drop for Timings {
    fn drop(&mut self) {
        self.lap("verify+render");
        let laps: Vec<String> = self
            .laps
            .iter()
            .map(|(s, ms)| format!("{s} {ms:.1} ms"))
            .collect();
        tracing::info!("timings: {}", laps.join(", "));
    }
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

/// A progress bar on stderr, only when asked for and stderr is a terminal.
fn progress_bar(wanted: bool, total: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || total == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} snippets ({elapsed})")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// The assets folder relative to the book (`assets-dir`, else
/// `<cache-dir>/assets`), as `additional-js`/`-css` name it.
fn assets_folder(config: &Config) -> PathBuf {
    config
        .assets_dir
        .clone()
        .unwrap_or_else(|| config.cache_dir.join(render::assets::DIR))
}

/// The warning of a book whose pages would not load the front end: book.toml's
/// `additional-js`/`-css` (`js`, `css`) lack the files the build writes into
/// `cache_dir`, or name them in another folder. Its detail is the lines to
/// write (other entries kept).
fn page_setup(assets: &Path, js: &[String], css: &[String]) -> Option<Diagnostic> {
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
fn publish_assets(config: &Config, root: &Path, cache_dir: &Path, report: &mut Report) {
    let (js, css) = render::assets::bundle(
        &config.pyodide_url,
        config.output_limit,
        &config.labels,
        &config.quiz_labels,
        &config.figure_format,
        &config.packages,
    );
    let assets = config.assets_dir_in(root);
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
        output_limit: config.output_limit,
        labels: &labels,
        stdlib: &[],
    };
    let mut edits = render::snippet_edits(text, &scanned, &plan, &verdicts, &cx);
    render::splice(text, &mut edits)
}
