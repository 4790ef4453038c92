//! Browser parity: does Run in the browser print what the page shows? The
//! page shows what the build's CPython printed; the reader's Run uses
//! Pyodide's CPython. `check --browser` (and `browser-check = true` for
//! builds) runs every browser-runnable snippet in Pyodide under Node with the
//! page's own runner (`execute::browser`) and compares each output with the
//! build's, with verify's normalisation.
//!
//! What the two sides cannot share is left out of the comparison: the
//! browser runs each block under the build's file name and line numbers (its
//! code padded as the build pads it) with the build's `PYTHONHASHSEED=0`, and
//! traceback stacks (frames, source lines, carets: they name different
//! interpreter files) are dropped, keeping the headers and exception lines.
//!
//! A difference on a block marked `browser=differs` is expected and only
//! counted; any other fails the check. Where parity results are cached, a
//! build notes blocks found to differ as if they were marked.

use crate::config::{Config, OnMismatch};
use crate::diagnostics::{Diagnostic, Severity};
use crate::execute::Outcome;
use crate::execute::browser::{self, Status};
use crate::plan::{ChapterPlan, Mode, Skip, Snippet, SnippetId};
use crate::verify::{ellipsis_matches, normalize, unified_diff, with_note};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

/// Pyodide (WebAssembly) is slower than native CPython: in the browser a
/// snippet gets this many times its build timeout.
pub const SLOWDOWN: f64 = 3.0;

/// A chapter as parity reads it: its index, plan, and build outcomes by
/// snippet index.
pub type Chapter<'a> = (usize, &'a ChapterPlan, &'a [Option<Outcome>]);

/// A browser job and, for each of its programs, the block it checks
/// (`SnippetId`), or `None` for a block that runs only to
/// keep its session faithful (one the build did not run).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub job: browser::Job,
    pub targets: Vec<Option<SnippetId>>,
}

/// Does the page let the reader run this block? (It gets Run only with a
/// snippet widget: not a `pycon` block, not one shown only.)
fn runnable(s: &Snippet) -> bool {
    s.mode == Mode::Exec
        && s.no_browser.is_none()
        && !matches!(s.skip, Some(Skip::NoRun | Skip::NotMarked))
}

/// The browser jobs of a book, like `plan::jobs`: each session of a chapter
/// is one job (its runnable blocks in page order, as the page replays them),
/// every other block one of its own. Blocks the build could not run
/// cleanly (a timeout, a crash) are not compared; the build reports them.
pub fn plan(chapters: &[Chapter], src: &Path, limit: usize) -> Vec<Planned> {
    let mut planned = Vec::new();
    for &(c, plan, outcomes) in chapters {
        let ran_clean = |s: &Snippet| {
            (outcomes.get(s.index)).is_some_and(|o| o.as_ref().is_some_and(|o| o.failure.is_none()))
        };
        let file = src.join(&plan.source);
        let target = |s: &Snippet| {
            (s.skip.is_none() && ran_clean(s)).then_some(SnippetId {
                chapter: c,
                index: s.index,
            })
        };
        for group in crate::plan::by_session(plan.snippets.iter().filter(|s| runnable(s))) {
            let targets: Vec<Option<SnippetId>> = group.iter().map(|s| target(s)).collect();
            // A session the build could not finish, or nothing to compare.
            let broken = (group.iter().zip(&targets))
                .any(|(s, t)| s.attrs.session.is_some() && s.skip.is_none() && t.is_none());
            if broken || targets.iter().all(Option::is_none) {
                continue;
            }
            planned.push(Planned {
                job: browser::Job {
                    programs: group.iter().map(|s| program(&file, s, limit)).collect(),
                },
                targets,
            });
        }
    }
    planned
}

fn program(file: &Path, s: &Snippet, limit: usize) -> browser::Program {
    let file = file.to_string_lossy().to_string();
    browser::Program {
        // Padded as the build pads it, so line numbers agree.
        code: "\n".repeat(s.line.saturating_sub(1)) + &s.code,
        session: s.attrs.session.as_ref().map(|n| format!("{file}\n{n}")),
        filename: file,
        stdin: s.stdin.as_ref().map(|a| a.text.replace("\r\n", "\n")),
        limit,
        timeout: s.timeout * SLOWDOWN,
        raises: s.attrs.raises.is_some(),
    }
}

/// What the browser did with one block, against the build.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    Same,
    /// It prints something else: the unified diff, build first.
    Differs(String),
    /// It raises in the browser but not at build time: the exception's name
    /// and the browser's output.
    Raises(String, String),
    /// It was still running after its timeout in the browser.
    TimesOut(f64),
    /// It could not be checked here: why.
    Unchecked(String),
    /// Not run: an earlier block of its session failed in the browser.
    Skipped,
}

/// Compare one block's browser outcome with its build outcome. `headers`
/// name the two sides in the diff.
pub fn compare(
    s: &Snippet,
    build: &Outcome,
    b: &browser::Outcome,
    limit: usize,
    headers: (&str, &str),
) -> Finding {
    match b.status {
        Status::Skipped => return Finding::Skipped,
        Status::Timeout => return Finding::TimesOut(s.timeout * SLOWDOWN),
        Status::Crashed => {
            return Finding::Unchecked(format!(
                "Pyodide died while running it: {}",
                b.output.trim()
            ));
        }
        _ => {}
    }
    if b.status == Status::Error
        && let Some(why) = &b.unavailable
    {
        return Finding::Unchecked(format!(
            "Pyodide could not load a package it imports here ({why})"
        ));
    }
    if b.status == Status::Error && build.exception.is_none() {
        return Finding::Raises(
            b.error.clone().unwrap_or_else(|| "an exception".into()),
            b.output.clone(),
        );
    }
    if s.attrs.nondeterministic {
        return Finding::Same;
    }
    let shown = with_note(&build.output, build.truncated, limit);
    let (x, y) = (comparable(&shown), comparable(&b.output));
    if x == y {
        return Finding::Same;
    }
    if let Some(e) = &s.expected
        && e.ellipsis
        && ellipsis_matches(&e.text, &b.output)
    {
        return Finding::Same;
    }
    Finding::Differs(unified_diff(&x, &y, headers))
}

/// Output as compared: traceback stacks dropped, then verify's `normalize`.
pub fn comparable(output: &str) -> String {
    normalize(&strip_stacks(output))
}

/// Drop the stack of every traceback (`File "…", line N` lines and the
/// source and caret lines under them, also inside exception groups' `|`
/// borders), keeping the headers and the exception lines: the two sides run
/// different interpreter files, so only the exceptions can agree.
pub fn strip_stacks(text: &str) -> String {
    let depth = |l: &str| l.len() - l.trim_start_matches([' ', '|']).len();
    let mut out = String::with_capacity(text.len());
    let mut frame: Option<usize> = None;
    // Between a traceback's header and its exception line, blank lines too
    // are layout (some loggers put one around every frame).
    let mut stack = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        let d = depth(bare);
        let blank = bare.trim().is_empty();
        if let Some(f) = frame {
            if d > f && !blank {
                continue; // source or carets under the frame line
            }
            frame = None;
        }
        let rest = &bare[d..];
        if rest.starts_with("File \"") && rest.contains("\", line ") && d > 0 {
            frame = Some(d);
            stack = true;
            continue;
        }
        if blank && stack {
            continue;
        }
        stack = rest.ends_with("Traceback (most recent call last):");
        out.push_str(line);
    }
    out
}

/// What a parity pass should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// `check --browser`, `browser-check = true`: run what is not cached
    /// and report every difference.
    Check,
    /// A plain build: use cached results only, to note blocks found to differ.
    CacheOnly,
}

/// The book as the parity pass needs it.
pub struct Book<'a> {
    /// Every chapter that planned: its index, plan, and build outcomes by
    /// snippet index.
    pub chapters: Vec<Chapter<'a>>,
    pub config: &'a Config,
    pub root: &'a Path,
    /// The source folder relative to the root (`src`): browser runs name
    /// files from the root, whatever folder the command was given, so that
    /// their cached results serve every later build.
    pub src: &'a Path,
    pub cache_dir: &'a Path,
    pub use_cache: bool,
    /// The build interpreter, e.g. `3.11.7`.
    pub python: &'a str,
}

/// What a parity pass found.
#[derive(Debug, Default)]
pub struct Parity {
    pub diagnostics: Vec<Diagnostic>,
    /// Blocks found to differ (marked or not): (chapter, snippet index).
    pub differs: Vec<SnippetId>,
    /// Unmarked differences reported as errors.
    pub failed: usize,
    /// `mdbook-python: browser (Pyodide …): …`, when anything was checked.
    pub summary: Option<String>,
}

/// The Pyodide release in a `pyodide-url` such as `…/pyodide/v314.0.7/full/`.
pub fn url_version(url: &str) -> Option<&str> {
    url.split('/').find_map(|seg| {
        let v = seg.strip_prefix('v')?;
        (v.contains('.') && v.chars().all(|c| c.is_ascii_digit() || c == '.')).then_some(v)
    })
}

/// Run (or look up) every browser-runnable block in Pyodide and compare.
pub fn check(book: &Book, want: Want, on_mismatch: OnMismatch) -> Parity {
    let started = Instant::now();
    let mut parity = Parity::default();
    let config = book.config;
    let wanted_version = url_version(&config.pyodide_url)
        .unwrap_or(crate::config::PYODIDE_RELEASE)
        .to_string();
    let install = format!(
        "install Node.js and the Pyodide the pages load: `npm install pyodide@{wanted_version}` in the book's folder, or set `browser-check-pyodide` in [preprocessor.python] to the folder of an installed `pyodide` package"
    );
    if want == Want::CacheOnly && !book.use_cache {
        return parity;
    }
    let pyodide = match browser::find_pyodide(config.browser_check_pyodide.as_deref(), book.root) {
        Ok(p) => p,
        Err(e) => {
            if want == Want::Check {
                parity.diagnostics.push(
                    Diagnostic::error("book.toml", 0, format!("cannot check the browser: {e}"))
                        .with_help(install),
                );
            }
            return parity;
        }
    };
    if want == Want::Check && pyodide.version != wanted_version {
        parity.diagnostics.push(
            Diagnostic::warning(
                "book.toml",
                0,
                format!(
                    "the pages load Pyodide {wanted_version} (pyodide-url), but the browser check runs Pyodide {} from {}",
                    pyodide.version,
                    pyodide.dir.display()
                ),
            )
            .with_help(format!("install the same release: `npm install pyodide@{wanted_version}`")),
        );
    }
    let planned = plan(&book.chapters, book.src, config.output_limit);
    let jobs: Vec<browser::Job> = planned.iter().map(|p| p.job.clone()).collect();
    let cache = book.use_cache.then(|| browser::Cache::new(book.cache_dir));
    let run = browser::run(
        &jobs,
        &pyodide,
        cache.as_ref(),
        book.cache_dir,
        want == Want::CacheOnly,
    );
    if let Some(e) = &run.error
        && want == Want::Check
    {
        let (first, rest) = e.split_once('\n').unwrap_or((e, ""));
        let mut d = Diagnostic::error("book.toml", 0, format!("cannot check the browser: {first}"))
            .with_help(install);
        if !rest.trim().is_empty() {
            d = d.with_detail(rest.trim_end().to_string());
        }
        parity.diagnostics.push(d);
    }
    let browser_python = run.python.clone().unwrap_or_else(|| "3".into());
    let versions = format!(
        "Python {} (build) vs Python {browser_python} (browser, Pyodide {})",
        book.python, pyodide.version
    );
    let headers = (
        format!("build (Python {})", book.python),
        format!(
            "browser (Python {browser_python}, Pyodide {})",
            pyodide.version
        ),
    );
    let chapters: HashMap<usize, (&ChapterPlan, &[Option<Outcome>])> = (book.chapters.iter())
        .map(|&(c, p, o)| (c, (p, o)))
        .collect();
    let severity = match on_mismatch {
        OnMismatch::Error => Severity::Error,
        OnMismatch::Warn => Severity::Warning,
    };
    let (mut checked, mut marked) = (0, 0);
    for (p, outcomes) in planned.iter().zip(&run.outcomes) {
        for (target, outcome) in p.targets.iter().zip(outcomes) {
            let (Some(id), Some(b)) = (target, outcome) else {
                continue;
            };
            let Some(&(plan, outcomes)) = chapters.get(&id.chapter) else {
                continue;
            };
            let Some(build) = outcomes.get(id.index).and_then(Option::as_ref) else {
                continue;
            };
            let Some(s) = plan.snippets.get(id.index) else {
                continue;
            };
            checked += 1;
            // Both name the file from the book root (the place stage makes
            // the build's programs so), whatever folder the command was given.
            let finding = compare(s, build, b, config.output_limit, (&headers.0, &headers.1));
            let file = &plan.file;
            let help_differs = "if the difference is expected, mark the block `browser=differs` and say why in the prose (readers then see a note before they press Run)";
            let d = match finding {
                Finding::Same => {
                    if s.attrs.browser_differs {
                        parity.diagnostics.push(
                            Diagnostic::warning(
                                file,
                                s.line,
                                format!("this block is marked `browser=differs`, but the browser prints the same: {versions}"),
                            )
                            .with_help("remove `browser=differs` (and the reason in the prose), or keep it if the difference shows in other browsers or releases"),
                        );
                    }
                    continue;
                }
                Finding::Skipped => continue,
                Finding::Unchecked(why) => {
                    parity.diagnostics.push(
                        Diagnostic::warning(file, s.line, format!("this block could not be checked in the browser: {why}"))
                            .with_help("serve the Pyodide packages it needs to Node, or mark the block `nobrowser` if the browser cannot run it"),
                    );
                    continue;
                }
                Finding::Differs(diff) => Diagnostic::error(
                    file,
                    s.line,
                    format!("in the browser this block prints something else than the page shows: {versions}"),
                )
                .with_detail(diff)
                .with_help(help_differs),
                Finding::Raises(name, output) => Diagnostic::error(
                    file,
                    s.line,
                    format!("this block raises {name} in the browser but not at build time: {versions}"),
                )
                .with_detail(output.trim_end().to_string())
                .with_help(format!(
                    "if the browser cannot run it (a missing module, a thread, a socket), mark the block `nobrowser`; {help_differs}"
                )),
                Finding::TimesOut(secs) => Diagnostic::error(
                    file,
                    s.line,
                    format!("in the browser this block was still running after {secs} s, though it finishes at build time: {versions}"),
                )
                .with_help(format!(
                    "if the browser cannot run it (it blocks, or waits on a thread), mark the block `nobrowser`; {help_differs}"
                )),
            };
            parity.differs.push(*id);
            if s.attrs.browser_differs {
                marked += 1;
                continue;
            }
            let mut d = d;
            d.severity = severity;
            if d.is_error() {
                parity.failed += 1;
            }
            parity.diagnostics.push(d);
        }
    }
    if want == Want::CacheOnly {
        parity.diagnostics.clear();
        parity.failed = 0;
        return parity;
    }
    if run.error.is_some() && run.python.is_none() {
        return parity; // nothing ran: the error says why
    }
    let stats = run.stats;
    let load = if stats.node {
        format!(", Pyodide loaded in {:.1} s", stats.load_seconds)
    } else {
        String::new()
    };
    parity.summary = Some(format!(
        "mdbook-python: browser (Pyodide {}, Python {browser_python}): {checked} snippets checked, {} run, {} cached, {} differ ({marked} marked), {} failed ({:.2} s{load})",
        pyodide.version,
        stats.run,
        stats.cached,
        parity.differs.len(),
        parity.failed,
        started.elapsed().as_secs_f64(),
    ));
    parity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Attrs;

    fn snippet(code: &str) -> Snippet {
        Snippet {
            index: 0,
            fence: 0,
            mode: Mode::Exec,
            line: 3,
            written: None,
            code: code.into(),
            hidden: vec![],
            attrs: Attrs::default(),
            stdin: None,
            expected: None,
            version_outputs: Vec::new(),
            skip: None,
            no_browser: None,
            timeout: 10.0,
            dedented: false,
            text_under: None,
            inline: vec![],
        }
    }

    fn build(output: &str) -> Outcome {
        Outcome {
            output: output.into(),
            failure: None,
            ..Outcome::failed(crate::execute::Failure::NotRun)
        }
    }

    fn browser(status: Status, output: &str) -> browser::Outcome {
        browser::Outcome {
            status,
            error: (status == Status::Error).then(|| "ValueError".into()),
            output: output.into(),
            truncated: false,
            unavailable: None,
            cached: false,
        }
    }

    const H: (&str, &str) = ("build", "browser");

    #[test]
    fn same_output_and_trailing_space_agree() {
        let s = snippet("print(1)\n");
        assert_eq!(
            compare(&s, &build("1\n"), &browser(Status::Ok, "1  \n\n"), 100, H),
            Finding::Same
        );
    }

    #[test]
    fn a_different_output_is_a_diff_build_first() {
        let s = snippet("import sys\nprint(sys.platform)\n");
        let f = compare(
            &s,
            &build("linux\n"),
            &browser(Status::Ok, "emscripten\n"),
            100,
            H,
        );
        assert_eq!(
            f,
            Finding::Differs("--- build\n+++ browser\n@@ -1 +1 @@\n-linux\n+emscripten".into())
        );
    }

    #[test]
    fn raising_only_in_the_browser_is_its_own_finding() {
        let s = snippet("import tkinter\n");
        let f = compare(
            &s,
            &build(""),
            &browser(Status::Error, "Traceback …\nModuleNotFoundError: x\n"),
            100,
            H,
        );
        assert!(matches!(f, Finding::Raises(n, _) if n == "ValueError"));
    }

    #[test]
    fn nondeterministic_blocks_compare_only_whether_they_raise() {
        let mut s = snippet("print(id(1))\n");
        s.attrs.nondeterministic = true;
        assert_eq!(
            compare(&s, &build("1\n"), &browser(Status::Ok, "2\n"), 100, H),
            Finding::Same
        );
    }

    #[test]
    fn tracebacks_compare_by_their_exception_lines() {
        let cpython = "before\nTraceback (most recent call last):\n  File \"book/a.md\", line 4, in <module>\n    f()\n  File \"/usr/lib/python3.11/x.py\", line 9, in f\n    raise ValueError('boom')\n    ~~~~^^\nValueError: boom\n";
        let pyodide = "before\nTraceback (most recent call last):\n  File \"book/a.md\", line 4, in <module>\n    f()\n    ~^^\nValueError: boom\n";
        assert_eq!(comparable(cpython), comparable(pyodide));
        assert_eq!(
            comparable(cpython),
            "before\nTraceback (most recent call last):\nValueError: boom"
        );
    }

    #[test]
    fn blank_lines_inside_a_stack_are_layout() {
        let logged = "Traceback (most recent call last):\n\n  File \"/lib/x.py\", line 1, in f\n    g()\n\n  File \"a.md\", line 8, in <lambda>\n    h()\n\nKeyError: 'message'\n\nnext\n";
        assert_eq!(
            strip_stacks(logged),
            "Traceback (most recent call last):\nKeyError: 'message'\n\nnext\n"
        );
    }

    #[test]
    fn exception_groups_keep_their_exceptions() {
        let text = "  + Exception Group Traceback (most recent call last):\n  |   File \"a.md\", line 9, in <module>\n  |     asyncio.run(main())\n  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n  +-+---------------- 1 ----------------\n    | Traceback (most recent call last):\n    |   File \"a.md\", line 3, in boom\n    |     raise ValueError('x')\n    | ValueError: x\n    +------------------------------------\n";
        assert_eq!(
            strip_stacks(text),
            "  + Exception Group Traceback (most recent call last):\n  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)\n  +-+---------------- 1 ----------------\n    | Traceback (most recent call last):\n    | ValueError: x\n    +------------------------------------\n"
        );
    }

    #[test]
    fn indented_output_outside_tracebacks_is_kept() {
        let dis = "  1           0 RESUME                   0\n\n  2           2 LOAD_CONST               1 (1)\n";
        assert_eq!(strip_stacks(dis), dis);
    }

    #[test]
    fn the_pyodide_release_is_read_from_the_url() {
        assert_eq!(
            url_version("https://cdn.jsdelivr.net/pyodide/v314.0.7/full/"),
            Some("314.0.7")
        );
        assert_eq!(url_version("pyodide/"), None);
    }

    #[test]
    fn sessions_are_one_job_and_unrunnable_blocks_stay_out() {
        let text = "```python,session=a\nx = 1\n```\n\n```python\nimport threading\n```\n\n```python,norun\nwhile True: pass\n```\n\n```python,session=a\nprint(x)\n```\n\n```pycon\n>>> 1\n1\n```\n";
        let config = Config::default();
        let plan = crate::plan::plan(
            Path::new("/elsewhere/src/a.md"),
            "a.md",
            text,
            &crate::scan::scan(text),
            &config,
            (3, 11),
        )
        .0;
        let outcomes: Vec<Option<Outcome>> = (0..5).map(|_| Some(build(""))).collect();
        let jobs = super::plan(&[(0, &plan, &outcomes)], Path::new("src"), 100);
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        let at = |index| Some(SnippetId { chapter: 0, index });
        assert_eq!(jobs[0].targets, vec![at(0), at(3)]);
        let p = &jobs[0].job.programs[1];
        assert_eq!(p.code, format!("{}print(x)\n", "\n".repeat(13)));
        assert_eq!(p.session.as_deref(), Some("src/a.md\na"));
        assert_eq!(p.filename, "src/a.md");
    }
}
