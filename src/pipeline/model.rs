//! The run's data: what a command asks for (`Request`), and the book as the
//! stages fill it (`Run`, one `Chapter` per chapter that may hold Python).
//! Each stage fills its own fields and reads only earlier ones; every item
//! a chapter owns (a snippet, a quiz question, an exercise attempt) finds
//! its outcome, verdict and browser finding by its index in that chapter,
//! never through a book-wide map.

use crate::config::{Config, OnMismatch};
use crate::execute::{self, Interpreter, Outcome};
use crate::plan::{ChapterPlan, Job, ProgramId};
use crate::quiz::TracingRun;
use crate::verify::Verdict;
use crate::{Options, Report, includes, matrix, parity, quizzes, render, scan};
use mdbook_preprocessor::PreprocessorContext;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a command asks of the pipeline (the stages never look at which
/// command runs them).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    /// Take unchanged chapters whole from the chapter cache (a build, which
    /// then renders only the others).
    pub recall_chapters: bool,
    pub browser: Browser,
    /// Overrides book.toml's `on-mismatch` (bless: a mismatch is what it
    /// fixes, not an error).
    pub on_mismatch: Option<OnMismatch>,
}

/// How much of browser parity a command wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Browser {
    Off,
    /// Run and compare (`check --browser`).
    Check,
    /// Run and compare when book.toml says `browser-check`.
    IfConfigured,
    /// As configured, and otherwise look up cached findings for html pages
    /// (a build notes the blocks found to differ).
    IfConfiguredOrNotes,
}

/// One chapter as the pipeline sees it, filled stage by stage.
pub(crate) struct Chapter {
    /// `book/x.md` (with the display root).
    pub file: PathBuf,
    /// `x.md`.
    pub source: String,
    pub text: String,
    /// Recall: the chapter-cache key, and the content found under it.
    pub key: Option<String>,
    pub cached: Option<execute::chapters::Rendered>,
    /// Scan (a chapter taken from the chapter cache is parsed only when its
    /// key reads its quizzes).
    pub scanned: Option<scan::Scanned>,
    /// Plan: the snippets, exercises and quizzes, and the line map of a
    /// chapter with included text.
    pub plan: Option<ChapterPlan>,
    pub quizzes: Vec<quizzes::Planned>,
    pub map: Option<includes::LineMap>,
    /// Planning reported something: the chapter is not kept whole.
    pub problems: bool,
    /// Execute: outcomes by snippet index, by quiz and question, by exercise
    /// and attempt (solution first); how many programs the chapter ran or
    /// found cached.
    pub outcomes: Vec<Option<Outcome>>,
    pub quiz_outcomes: Vec<Vec<Option<Outcome>>>,
    pub proofs: Vec<Vec<Vec<Outcome>>>,
    pub programs: usize,
    /// Browser parity: snippets found to differ in Pyodide, by index.
    pub browser_differs: Vec<bool>,
    /// Verify: a verdict per snippet (`None`: it did not run), the runs of
    /// each quiz (`None`: not verified, e.g. in another shard), and whether
    /// the chapter verified without a word (it may then be kept whole).
    pub verdicts: Vec<Option<Verdict>>,
    pub quiz_runs: Vec<Option<Vec<TracingRun>>>,
    pub clean: bool,
}

impl Chapter {
    pub fn new(file: PathBuf, source: String, text: String) -> Self {
        Chapter {
            file,
            source,
            text,
            key: None,
            cached: None,
            scanned: None,
            plan: None,
            quizzes: Vec::new(),
            map: None,
            problems: false,
            outcomes: Vec::new(),
            quiz_outcomes: Vec::new(),
            proofs: Vec::new(),
            programs: 0,
            browser_differs: Vec::new(),
            verdicts: Vec::new(),
            quiz_runs: Vec::new(),
            clean: false,
        }
    }

    pub fn scan(&mut self) -> &scan::Scanned {
        self.scanned.get_or_insert_with(|| scan::scan(&self.text))
    }

    /// What the scan found (nothing, for a chapter that was not parsed).
    pub fn scanned(&self) -> &scan::Scanned {
        static NOTHING: scan::Scanned = scan::Scanned {
            fences: Vec::new(),
            quizzes: Vec::new(),
        };
        self.scanned.as_ref().unwrap_or(&NOTHING)
    }
}

/// A whole run: the settings every stage reads, the chapters they fill,
/// and the report they add to.
pub(crate) struct Run<'a> {
    /// The configuration is usable (else the report says why and the
    /// stages do nothing).
    pub settled: bool,
    pub ctx: &'a PreprocessorContext,
    pub options: &'a Options,
    pub request: Request,
    pub config: Config,
    pub target: render::Target,
    /// The source folder as messages name it (`book/src`).
    pub src: PathBuf,
    pub cache_dir: PathBuf,
    /// Results are read from and written to the cache.
    pub use_cache: bool,
    pub on_mismatch: OnMismatch,
    /// Located once the book is known to have Python.
    pub interpreter: Option<Interpreter>,
    pub chapters: Vec<Chapter>,
    /// Plan: every job of the book (this shard's, with `--shard`).
    pub jobs: Vec<Job>,
    /// Execute: each job's outcomes, until `assign` hands them to their items.
    pub results: Vec<Vec<Outcome>>,
    /// Programs whose lines were moved to where included code was written:
    /// (line in the chapter as given, line written).
    pub moved: HashMap<ProgramId, (usize, usize)>,
    /// Matrix: the further runtimes' findings.
    pub matrix: Option<matrix::Found>,
    pub chapter_cache: Option<execute::chapters::Chapters>,
    pub report: Report,
    pub started: Instant,
}

impl Run<'_> {
    /// The folder of a chapter's source, on disk and as messages name it.
    pub fn chapter_dirs(&self, source: &str) -> (PathBuf, PathBuf) {
        let dir = Path::new(source).parent().unwrap_or(Path::new(""));
        (
            self.ctx.root.join(&self.ctx.config.book.src).join(dir),
            self.src.join(dir),
        )
    }

    /// What the parity stage does in this run.
    pub fn browser_want(&self) -> Option<parity::Want> {
        let configured = self.config.browser_check.then_some(parity::Want::Check);
        match self.request.browser {
            Browser::Off => None,
            Browser::Check => Some(parity::Want::Check),
            Browser::IfConfigured => configured,
            Browser::IfConfiguredOrNotes => configured
                .or((self.target == render::Target::Html).then_some(parity::Want::CacheOnly)),
        }
    }
}
