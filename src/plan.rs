//! Plan: scanned fences in, snippets out. Reads each Python block's info
//! string (attributes), pairs it with the `stdin` and `output` blocks under it,
//! strips hidden-line prefixes exactly as mdBook does, decides what runs at
//! build time and in the browser, and groups what runs into jobs: one job per
//! session, one per lone snippet. Pure; every problem becomes a `Diagnostic`,
//! and a block with a problem is left out while the others are planned.
//! Other tools' attributes (`{test="skip"}`, `title="x.py"`) are taken where
//! they mean something and otherwise ignored, counted in `Notes` with the
//! console sessions found in `python` blocks and the blocks run dedented.

use crate::config::{Config, RunMode};
use crate::diagnostics::{Diagnostic, closest};
use crate::scan::{Fence, Scanned};
use std::path::{Path, PathBuf};

/// The attributes an author can put on a Python block.
pub const ATTRIBUTES: &[&str] = &[
    "norun",
    "run",
    "raises=",
    "nondeterministic",
    "session=",
    "timeout=",
    "min-python=",
    "nobrowser",
    "browser-only",
    "browser=differs",
    "versions=differ",
    "exercise=",
    "check=",
    "solution=",
    "wrong=",
    "hidelines=",
    "alt=",
];

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Attrs {
    pub norun: bool,
    pub run: bool,
    pub raises: Option<String>,
    pub nondeterministic: bool,
    pub session: Option<String>,
    pub timeout: Option<f64>,
    pub min_python: Option<(u32, u32)>,
    pub nobrowser: bool,
    /// Run in the reader's browser only, never at build time.
    pub browser_only: bool,
    pub browser_differs: bool,
    /// `versions=differ`: the runtimes of the matrix print different
    /// things, and the page shows each.
    pub versions_differ: bool,
    /// `exercise=NAME`, `check=NAME`, `solution=NAME`, `wrong=NAME`: the
    /// block's part in an exercise.
    pub exercise: Option<(crate::exercise::Part, String)>,
    /// mdBook's own per-block hidden-line prefix; kept in the info string.
    pub hidelines: Option<String>,
    /// Alt text of the block's figures (`alt="Sales by month"`).
    pub alt: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A script: run it, capture what it prints.
    Exec,
    /// An interactive session (`pycon`): run each `>>>` statement, compare.
    Pycon,
}

/// An author-written block under a Python block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    pub text: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// Index into the chapter's fences.
    pub fence: usize,
    /// `output,ellipsis`.
    pub ellipsis: bool,
    /// `output,python=3.11`: the text one version of the matrix prints.
    pub python: Option<(u32, u32)>,
}

/// Why a block is not executed at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NoRun,
    /// `browser-only`: the reader runs it; the build does not.
    BrowserOnly,
    NotMarked,
    MinPython(u32, u32),
    /// An exercise's starter: not run as a block; its exercise is proven.
    Exercise,
    /// A console session without a `>>>` prompt (an IPython `In [1]:`
    /// transcript): nothing to check it with.
    Unchecked,
}

/// What a book's blocks told the plan that the build summary mentions, once
/// per build (kept in the chapter and book caches with the chapter).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Notes {
    /// `python` blocks whose first line is a `>>>` prompt: console sessions.
    #[serde(default)]
    pub console_in_python: usize,
    /// Other tools' attributes (pytest-examples, MkDocs, Quarto) ignored.
    #[serde(default)]
    pub ignored: std::collections::BTreeSet<String>,
    /// Uniformly indented blocks run dedented.
    #[serde(default)]
    pub dedented: usize,
    /// Quiz `Tracing` programs in other languages (not run), by language.
    #[serde(default)]
    pub quiz_unrun: std::collections::BTreeMap<String, usize>,
}

impl Notes {
    pub(crate) fn add(&mut self, other: &Notes) {
        self.console_in_python += other.console_in_python;
        self.ignored.extend(other.ignored.iter().cloned());
        self.dedented += other.dedented;
        for (language, n) in &other.quiz_unrun {
            *self.quiz_unrun.entry(language.clone()).or_default() += n;
        }
    }

    /// The summary's note lines.
    pub fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        if self.console_in_python > 0 {
            out.push(format!(
                "{} found in python blocks (a first code line starting with `>>> `), checked as doctest runs them",
                plural(self.console_in_python, "console session", "console sessions")
            ));
        }
        if self.dedented > 0 {
            out.push(format!(
                "{} indented as a whole ran dedented",
                plural(self.dedented, "code block", "code blocks")
            ));
        }
        if !self.quiz_unrun.is_empty() {
            let n: usize = self.quiz_unrun.values().sum();
            let languages: Vec<&str> = self.quiz_unrun.keys().map(String::as_str).collect();
            out.push(format!(
                "{} in {} not run (answers taken as written)",
                plural(n, "quiz program", "quiz programs"),
                languages.join(", ")
            ));
        }
        if !self.ignored.is_empty() {
            let names: Vec<String> = self.ignored.iter().map(|n| format!("`{n}`")).collect();
            out.push(format!(
                "other tools' block attributes ignored: {}",
                names.join(", ")
            ));
        }
        out
    }
}

/// One Python (or pycon) block of a chapter and everything known about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Snippet {
    /// n-th Python block of the chapter (0-based).
    pub index: usize,
    /// Index into the chapter's fences.
    pub fence: usize,
    pub mode: Mode,
    /// 1-based Markdown line of the first code line.
    pub line: usize,
    /// Where the code was written when that is not `line` of the chapter
    /// (code an `{{#include}}` brought in): the file and its line, as the
    /// build's tracebacks name them (set by the pipeline's plan stage).
    pub written: Option<(PathBuf, usize)>,
    /// The code as executed: hidden lines included, their prefix removed.
    pub code: String,
    /// 0-based indices of hidden lines in `code`.
    pub hidden: Vec<usize>,
    pub attrs: Attrs,
    pub stdin: Option<Attached>,
    pub expected: Option<Attached>,
    /// `output,python=3.X` blocks: what other versions of the matrix print.
    pub version_outputs: Vec<Attached>,
    pub skip: Option<Skip>,
    /// `None` when the browser can run it, else the reason shown to readers.
    pub no_browser: Option<String>,
    /// Seconds allowed.
    pub timeout: f64,
    /// Indented as a whole: `code` is dedented.
    pub dedented: bool,
    /// A ```text block right under it (no `output` block): other tools'
    /// way of showing output. Not owned; checked with a warning only.
    pub text_under: Option<Attached>,
    /// pytest-examples' `#>` comments (`inline-output`), in code order.
    pub inline: Vec<Inline>,
}

/// A run of `#> text` comment lines in a block's code: what the `print()`
/// calls above it (since the previous run) print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inline {
    /// 0-based code lines: the region whose prints it shows, and the run.
    pub from: usize,
    pub first: usize,
    pub count: usize,
    /// The comment's indentation (bless writes it back).
    pub indent: String,
    /// The expected output: the comments without `#> `, one line each.
    pub text: String,
    /// Written as pytest-examples writes long output: a `"""` string
    /// statement, its lines indented like the quotes.
    pub quoted: bool,
}

/// The `#>` runs of `code`, and the `"""` strings that pytest-examples
/// writes for long output (a bare `"""` line after a statement that does
/// not open a block or continue an expression).
fn inline_runs(code: &str) -> Vec<Inline> {
    let lines: Vec<&str> = code.lines().collect();
    let mut runs: Vec<Inline> = Vec::new();
    let mut from = 0;
    let mut i = 0;
    // Inside a triple-quoted string that the code opened.
    let mut in_string = false;
    while i < lines.len() {
        let line = lines[i];
        let t = line.trim_start();
        let indent = &line[..line.len() - t.len()];
        let after_statement = lines[..i]
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .is_some_and(|l| !l.trim_end().ends_with([':', '(', '[', '{', ',', '=', '\\']));
        if !in_string
            && t.trim_end() == "\"\"\""
            && after_statement
            && let Some(end) = (i + 1..lines.len()).find(|&k| lines[k].trim() == "\"\"\"")
        {
            let text: String = lines[i + 1..end]
                .iter()
                .map(|l| format!("{}\n", l.strip_prefix(indent).unwrap_or(l.trim_start())))
                .collect();
            runs.push(Inline {
                from,
                first: i,
                count: end - i + 1,
                indent: indent.to_string(),
                text,
                quoted: true,
            });
            from = end + 1;
            i = end + 1;
            continue;
        }
        i += 1;
        if line.matches("\"\"\"").count() % 2 == 1 {
            in_string = !in_string;
        }
        let Some(rest) = t.strip_prefix("#>").filter(|_| !in_string) else {
            continue;
        };
        let i = i - 1;
        let rest = rest.strip_prefix(' ').unwrap_or(rest);
        match runs.last_mut() {
            Some(r) if !r.quoted && r.first + r.count == i => {
                r.count += 1;
                r.text.push_str(rest);
                r.text.push('\n');
            }
            _ => {
                runs.push(Inline {
                    from,
                    first: i,
                    count: 1,
                    indent: indent.to_string(),
                    text: format!("{rest}\n"),
                    quoted: false,
                });
            }
        }
        from = i + 1;
    }
    runs
}

/// A chapter's plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChapterPlan {
    /// The chapter file as the author knows it (`book/x.md`).
    pub file: PathBuf,
    /// The chapter's path inside the source folder (`x.md`): block keys.
    pub source: String,
    pub snippets: Vec<Snippet>,
    /// Output/stdin fences that belong to no Python block are errors; quiz
    /// fences are handled elsewhere. Indices of fences this plan consumed.
    pub consumed: Vec<usize>,
    /// The chapter's exercises (their starters are snippets too).
    pub exercises: Vec<crate::exercise::Exercise>,
    /// The fences of exercise parts that are not snippets (checks,
    /// solutions, wrong answers, hints), which render replaces.
    pub exercise_blocks: Vec<crate::exercise::Block>,
    pub notes: Notes,
}

/// Identifies a program to the later stages.
/// A snippet of the book: its chapter and its index in that chapter's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SnippetId {
    pub chapter: usize,
    pub index: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProgramId {
    pub chapter: usize,
    /// Snippet index, or a quiz question (see `Origin`).
    pub item: usize,
    pub origin: Origin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    Snippet,
    /// A quiz's Tracing program: (quiz index in chapter, question index).
    Quiz(usize, usize),
    /// An exercise's proof: (exercise index in chapter, attempt: 0 the
    /// solution, 1 the starter, 2.. the wrong answers).
    Exercise(usize, usize),
}

/// Something to execute.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    pub id: ProgramId,
    pub mode: Mode,
    pub code: String,
    /// For tracebacks: the file and the 1-based line of `code`'s first line.
    pub file: PathBuf,
    pub line: usize,
    pub stdin: Option<String>,
    pub timeout: f64,
    pub limit: usize,
    /// Record each `print()` with its line (`#>` comments are checked).
    pub inline: bool,
}

/// The top-level modules `code` imports (`import a.b, c as d` and
/// `from e import f` lines; relative imports are left out).
pub(crate) fn imports(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in code.lines() {
        let t = line.trim_start();
        let names = if let Some(rest) = t.strip_prefix("import ") {
            rest.split(';').next().unwrap_or("")
        } else if let Some(rest) = t.strip_prefix("from ") {
            rest.split(" import").next().unwrap_or("")
        } else {
            continue;
        };
        for name in names.split(',') {
            let name = name.trim().trim_start_matches('(');
            let top = name.split(['.', ' ']).next().unwrap_or("");
            if !top.is_empty() && top.chars().all(|c| c.is_alphanumeric() || c == '_') {
                out.push(top);
            }
        }
    }
    out
}

/// Does `code` import a module that is not in `stdlib` (the interpreter's
/// standard library names; when unknown, any import counts)?
pub(crate) fn imports_third_party(code: &str, stdlib: &[String]) -> bool {
    imports(code)
        .into_iter()
        .any(|m| !stdlib.iter().any(|s| s == m) && m != "__future__")
}

#[cfg(test)]
impl Program {
    /// A lone snippet's program at `file`:`line`, for tests.
    pub(crate) fn sample(file: &str, line: usize, code: &str) -> Self {
        Program {
            id: ProgramId {
                chapter: 0,
                item: 0,
                origin: Origin::Snippet,
            },
            mode: Mode::Exec,
            code: code.into(),
            file: file.into(),
            line,
            stdin: None,
            timeout: 10.0,
            limit: 1000,
            inline: false,
        }
    }
}

/// Programs run in order in one namespace, on one worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub programs: Vec<Program>,
}

/// The fence languages that are Python code (`python3`, `Python` as other
/// tools write them).
pub const PYTHON_LANGS: &[&str] = &["python", "py", "python3", "py3", "Python"];

/// Plan one chapter whose Markdown is `text`. `python` is the build
/// interpreter's (major, minor). A block with a problem is left out of the
/// plan (its diagnostics say why); every other block is planned.
pub fn plan(
    file: &Path,
    source: &str,
    text: &str,
    scanned: &Scanned,
    config: &Config,
    python: (u32, u32),
) -> (ChapterPlan, Vec<Diagnostic>) {
    let mut errors = Vec::new();
    let mut plan = ChapterPlan {
        file: file.to_path_buf(),
        source: source.to_string(),
        ..ChapterPlan::default()
    };
    let fences = &scanned.fences;
    let mut blocks = Vec::new();
    let mut starters = Vec::new();
    let mut i = 0;
    while i < fences.len() {
        let fence = &fences[i];
        let lang = fence.lang();
        let mode = match lang {
            "pycon" => Some(Mode::Pycon),
            // A Python block written as a console session.
            l if PYTHON_LANGS.contains(&l) && is_console(&fence.body) => {
                plan.notes.console_in_python += 1;
                Some(Mode::Pycon)
            }
            l if PYTHON_LANGS.contains(&l) => Some(Mode::Exec),
            _ => None,
        };
        if let Some(mode) = mode {
            if !fence.closed {
                errors.push(unclosed(file, fence));
                i += 1;
                continue;
            }
            let attrs = match parse_attrs(file, fence, &mut plan.notes) {
                Ok(a) => a,
                Err(mut e) => {
                    errors.append(&mut e);
                    // Its stdin/output blocks belong to it: not orphans.
                    i += 1;
                    while i < fences.len()
                        && matches!(fences[i].lang(), "stdin" | "output")
                        && adjacent(text, &fences[i - 1], &fences[i])
                    {
                        i += 1;
                    }
                    continue;
                }
            };
            if let Some((part, name)) = attrs.exercise.clone()
                && part != crate::exercise::Part::Starter
            {
                let prefix = attrs.hidelines.clone().or_else(|| config.hidelines.clone());
                blocks.push(crate::exercise::Block {
                    part,
                    name,
                    fence: i,
                    text: unhide(&fence.body, prefix.as_deref()).0,
                    line: fence.body_line,
                });
                i += 1;
                continue;
            }
            let mut snippet =
                snippet_of(plan.snippets.len(), i, mode, fence, attrs, config, python);
            if snippet.dedented {
                plan.notes.dedented += 1;
            }
            if snippet.skip == Some(Skip::Unchecked) {
                let first = fence
                    .body
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("");
                errors.push(
                    Diagnostic::warning(file, fence.body_line, format!("this console session has no `>>>` prompt, so it is not checked: `{}`", first.trim()))
                        .with_help("write it as Python's prompt shows it (`>>> ` before each statement), or make it a ```text block"),
                );
            }
            // Attach the stdin and output blocks that follow, if adjacent.
            let mut j = i + 1;
            let mut wants = vec!["stdin", "output"];
            while let Some(wanted) = (!wants.is_empty()).then(|| wants.remove(0)) {
                if j < fences.len()
                    && fences[j].lang() == wanted
                    && adjacent(text, &fences[j - 1], &fences[j])
                {
                    let f = &fences[j];
                    if !f.closed {
                        errors.push(unclosed(file, f));
                    }
                    let extra: Vec<&str> = f
                        .info
                        .split([',', ' ', '\t'])
                        .filter(|w| !w.is_empty())
                        .skip(1)
                        .collect();
                    let mut ellipsis = false;
                    let mut version = None;
                    for w in extra {
                        if wanted == "output" && w == "ellipsis" {
                            ellipsis = true;
                        } else if let Some(v) = w
                            .strip_prefix("python=")
                            .filter(|_| wanted == "output")
                            .and_then(parse_version)
                        {
                            version = Some(v);
                        } else {
                            errors.push(
                                Diagnostic::error(
                                    file,
                                    f.line,
                                    format!("unknown attribute `{w}` on a `{wanted}` block"),
                                )
                                .with_help(if wanted == "output" {
                                    "an output block takes `ellipsis` and `python=3.X` (the text one version of the matrix prints)"
                                } else {
                                    "a stdin block takes no attributes"
                                }),
                            );
                        }
                    }
                    let attached = Attached {
                        text: f.body.clone(),
                        line: f.line,
                        fence: j,
                        ellipsis,
                        python: version,
                    };
                    if wanted == "stdin" {
                        snippet.stdin = Some(attached);
                    } else if version.is_some_and(|v| v != python) {
                        // Another version's text; more may follow.
                        snippet.version_outputs.push(attached);
                        wants.push("output");
                    } else if snippet.expected.is_none() {
                        snippet.expected = Some(attached);
                        wants.push("output");
                    } else {
                        errors.push(
                            Diagnostic::error(file, f.line, "a second output block for the same Python")
                                .with_help("give each further output block the version it holds, e.g. ```output,python=3.11"),
                        );
                    }
                    plan.consumed.push(j);
                    j += 1;
                }
            }
            if snippet.expected.is_none()
                && j < fences.len()
                && fences[j].lang() == "text"
                && adjacent(text, &fences[j - 1], &fences[j])
            {
                snippet.text_under = Some(Attached {
                    text: fences[j].body.clone(),
                    line: fences[j].line,
                    fence: j,
                    ellipsis: true,
                    python: None,
                });
            }
            if mode == Mode::Pycon && (snippet.stdin.is_some() || snippet.expected.is_some()) {
                errors.push(
                    Diagnostic::error(file, fence.line, "a `pycon` block holds its own expected output")
                        .with_help("write the output under each `>>>` line instead of in an `output` or `stdin` block"),
                );
            }
            if let Some((crate::exercise::Part::Starter, name)) = &snippet.attrs.exercise {
                let block = crate::exercise::Block {
                    part: crate::exercise::Part::Starter,
                    name: name.clone(),
                    fence: i,
                    text: snippet.code.clone(),
                    line: snippet.line,
                };
                let stdin = snippet.stdin.as_ref().map(|a| a.text.replace("\r\n", "\n"));
                if snippet.skip.is_none() {
                    snippet.skip = Some(Skip::Exercise);
                }
                starters.push((
                    block,
                    snippet.index,
                    snippet.timeout,
                    stdin,
                    snippet.skip.clone(),
                ));
            }
            plan.snippets.push(snippet);
            i = j;
            continue;
        }
        if lang == "hint" {
            match fence
                .info
                .split([',', ' '])
                .find_map(|w| w.strip_prefix("exercise="))
                .filter(|v| is_name(v))
            {
                Some(name) => blocks.push(crate::exercise::Block {
                    part: crate::exercise::Part::Hint,
                    name: name.to_string(),
                    fence: i,
                    text: fence.body.clone(),
                    line: fence.body_line,
                }),
                None => errors.push(
                    Diagnostic::error(file, fence.line, "a `hint` block names no exercise")
                        .with_help("write ```hint,exercise=NAME, with the name of the exercise it helps with"),
                ),
            }
            i += 1;
            continue;
        }
        if lang == "output" || lang == "stdin" {
            errors.push(
                // Other tools use `output` as a plain text language: shown
                // as written, and said so, but never fatal.
                Diagnostic::warning(file, fence.line, format!("this `{lang}` block does not follow a Python block, so nothing checks it"))
                    .with_help("put it right under a ```python block (only blank lines between), or use ```text to show text"),
            );
        }
        i += 1;
    }
    // Exercises whose starter does not run here (min-python, norun) are
    // shown, not proven.
    let proven = starters
        .into_iter()
        .filter(|(.., skip)| *skip == Some(Skip::Exercise))
        .map(|(b, index, timeout, stdin, _)| (b, index, timeout, stdin))
        .collect();
    let (exercises, mut more) = crate::exercise::assemble(file, blocks.clone(), proven);
    errors.append(&mut more);
    plan.exercises = exercises;
    plan.exercise_blocks = blocks;
    (plan, errors)
}

/// Does a Python block hold a console session: is its first code line a
/// `>>> ` prompt (or a bare `>>>`)? Comment lines before it do not count
/// (doctest reads them as text before the first statement).
fn is_console(body: &str) -> bool {
    body.lines()
        .find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .is_some_and(|l| {
            let t = l.trim_start();
            t.starts_with(">>> ") || t == ">>>"
        })
}

/// A session or exercise name: letters, digits, `-` and `_`.
fn is_name(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
}

/// Is the text between two blocks blank (whitespace and `>` markers only)?
fn adjacent(text: &str, prev: &Fence, next: &Fence) -> bool {
    text.get(prev.span.end..next.span.start)
        .is_some_and(|s| s.chars().all(|c| c.is_whitespace() || c == '>'))
}

pub fn unclosed(file: &Path, fence: &Fence) -> Diagnostic {
    Diagnostic::error(
        file,
        fence.line,
        format!("the ```{} block opened here is never closed", fence.lang()),
    )
    .with_help(
        "add a closing fence (the same characters, at least as many) after the block's last line",
    )
}

fn snippet_of(
    index: usize,
    fence_index: usize,
    mode: Mode,
    fence: &Fence,
    attrs: Attrs,
    config: &Config,
    python: (u32, u32),
) -> Snippet {
    // mdBook hides lines of Python blocks only: a console session keeps its
    // `~` lines (`>>> print("~/x")`), unless the block names a prefix.
    let prefix = match mode {
        Mode::Exec => attrs.hidelines.clone().or_else(|| config.hidelines.clone()),
        Mode::Pycon => attrs.hidelines.clone(),
    };
    let (code, hidden) = unhide(&fence.body, prefix.as_deref());
    // A block indented as a whole (copied from a list or a docstring) runs
    // as Python would read it dedented.
    let indented = code
        .lines()
        .filter(|l| !l.trim().is_empty())
        .all(|l| l.starts_with([' ', '\t']));
    let dedented = mode == Mode::Exec && indented && !code.trim().is_empty();
    let code = if dedented {
        textwrap::dedent(&code)
    } else {
        code
    };
    let unchecked = mode == Mode::Pycon && !code.lines().any(|l| l.trim_start().starts_with(">>>"));
    let skip = if attrs.browser_only {
        Some(Skip::BrowserOnly)
    } else if unchecked {
        Some(Skip::Unchecked)
    } else if attrs.norun {
        Some(Skip::NoRun)
    } else if config.run == RunMode::Marked && !attrs.run {
        Some(Skip::NotMarked)
    } else {
        match attrs.min_python {
            Some(v) if v > python => Some(Skip::MinPython(v.0, v.1)),
            _ => None,
        }
    };
    // A block that does not run at build time (`norun`, a fragment) does not
    // run in the browser either: no Run button, and no note about it.
    let no_browser = if matches!(skip, Some(Skip::NoRun | Skip::NotMarked | Skip::Unchecked)) {
        None
    } else if attrs.nobrowser {
        Some("This example runs only when the book is built, not in your browser.".to_string())
    } else {
        browser_blocker(&code).map(|what| {
            format!(
                "Runs at build time only: it uses {what}, which Python in the browser cannot do."
            )
        })
    };
    let inline = if config.inline_output && mode == Mode::Exec {
        inline_runs(&code)
    } else {
        Vec::new()
    };
    Snippet {
        index,
        fence: fence_index,
        mode,
        line: fence.body_line,
        written: None,
        code,
        hidden,
        timeout: attrs.timeout.unwrap_or(config.timeout),
        attrs,
        stdin: None,
        expected: None,
        version_outputs: Vec::new(),
        skip,
        no_browser,
        dedented,
        text_under: None,
        inline,
    }
}

/// Remove hidden-line prefixes the way mdBook's `hide_lines_with_prefix`
/// does: a line whose first non-blank text is the prefix loses that prefix.
pub fn unhide(body: &str, prefix: Option<&str>) -> (String, Vec<usize>) {
    let body = body.replace("\r\n", "\n");
    let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
        return (body, Vec::new());
    };
    let mut code = String::with_capacity(body.len());
    let mut hidden = Vec::new();
    for (i, line) in body.split_inclusive('\n').enumerate() {
        if line.trim_start().starts_with(prefix) {
            let pos = line.find(prefix).unwrap_or(0);
            code.push_str(&line[..pos]);
            code.push_str(&line[pos + prefix.len()..]);
            hidden.push(i);
        } else {
            code.push_str(line);
        }
    }
    (code, hidden)
}

/// What in this code Pyodide cannot run, if anything (found from imports and
/// calls).
pub fn browser_blocker(code: &str) -> Option<&'static str> {
    const BLOCKERS: &[(&str, &str)] = &[
        ("threading", "threads"),
        ("_thread", "threads"),
        ("multiprocessing", "processes"),
        ("ProcessPoolExecutor", "processes"),
        ("ThreadPoolExecutor", "threads"),
        ("subprocess", "subprocesses"),
        ("os.fork", "processes"),
        ("to_thread", "threads"),
        ("run_in_executor", "threads"),
        ("start_server", "sockets"),
        ("open_connection", "sockets"),
        ("socket", "sockets"),
    ];
    for line in code.lines() {
        let t = line.trim_start();
        if t.starts_with('#') {
            continue;
        }
        for (needle, what) in BLOCKERS {
            if let Some(pos) = t.find(needle) {
                let before = t[..pos].chars().last();
                let after = t[pos + needle.len()..].chars().next();
                let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
                if !word(before) && !word(after) {
                    return Some(what);
                }
            }
        }
    }
    None
}

/// Other tools' attributes: `{test="skip" lint="skip"}` (pytest-examples,
/// MkDocs, Quarto) and quoted `name="value"` words the plugin does not know
/// (`title="x.py"`). The ones with a meaning here are taken (`test="skip"`:
/// not run; `requires="3.10"`: `min-python`; `group=`: `session=`); the
/// others are ignored and named once in the build summary.
fn foreign(attrs: &mut Attrs, name: &str, value: &str, notes: &mut Notes) {
    match (name, value) {
        ("test", "skip") => attrs.norun = true,
        ("requires", v) if parse_version(v).is_some() => attrs.min_python = parse_version(v),
        ("group", v) if !v.is_empty() => {
            let v: String = v
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            attrs.session = Some(v);
        }
        _ => {
            notes.ignored.insert(name.to_string());
        }
    }
}

/// Split an info string into the plugin's part and the words of a `{...}`
/// attribute block (braces removed).
fn split_braces(info: &str) -> (String, Vec<String>) {
    match (info.find('{'), info.rfind('}')) {
        (Some(a), Some(b)) if a < b => (
            format!("{} {}", &info[..a], &info[b + 1..]),
            info_words(&info[a + 1..b]),
        ),
        _ => (info.to_string(), Vec::new()),
    }
}

fn parse_attrs(file: &Path, fence: &Fence, notes: &mut Notes) -> Result<Attrs, Vec<Diagnostic>> {
    let mut attrs = Attrs::default();
    let mut errors = Vec::new();
    let (plain, braced) = split_braces(&fence.info);
    for word in &braced {
        let (name, value) = word.split_once('=').unwrap_or((word, ""));
        foreign(&mut attrs, name, value.trim_matches('"'), notes);
    }
    let words = info_words(&plain);
    for word in words.iter().skip(1).map(String::as_str) {
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
        let known = ATTRIBUTES.iter().any(|a| a.trim_end_matches('=') == name);
        if let Some(v) =
            value.filter(|v| !known && v.len() >= 2 && v.starts_with('"') && v.ends_with('"'))
        {
            foreign(&mut attrs, name, v.trim_matches('"'), notes);
            continue;
        }
        let err = |msg: String, help: &str| {
            Diagnostic::error(file, fence.line, msg).with_help(help.to_string())
        };
        match (name, value) {
            ("norun", None) => attrs.norun = true,
            ("run", None) => attrs.run = true,
            ("nondeterministic", None) => attrs.nondeterministic = true,
            ("nobrowser", None) => attrs.nobrowser = true,
            ("browser-only", None) => attrs.browser_only = true,
            ("browser", Some("differs")) => attrs.browser_differs = true,
            ("versions", Some("differ")) => attrs.versions_differ = true,
            (role @ ("exercise" | "check" | "solution" | "wrong"), v) => {
                use crate::exercise::Part;
                let part = match role {
                    "exercise" => Part::Starter,
                    "check" => Part::Check,
                    "solution" => Part::Solution,
                    _ => Part::Wrong,
                };
                match v.filter(|v| is_name(v)) {
                    Some(v) if attrs.exercise.is_none() => attrs.exercise = Some((part, v.to_string())),
                    Some(_) => errors.push(err(
                        format!("`{role}=` on a block that is already part of an exercise"),
                        "a block is one of an exercise's starter, checks, solution or wrong answers",
                    )),
                    None => errors.push(err(
                        format!("bad value `{}` for `{role}=`", v.unwrap_or("")),
                        "an exercise name is letters, digits, `-` and `_`, e.g. `exercise=fizzbuzz`",
                    )),
                }
            }
            ("versions", v) => errors.push(err(
                format!("bad value `{}` for `versions=`", v.unwrap_or("")),
                "write `versions=differ` for a block whose output differs between the Pythons of the matrix",
            )),
            ("browser", v) => errors.push(err(
                format!("bad value `{}` for `browser=`", v.unwrap_or("")),
                "write `browser=differs` for a block whose output in the browser is expected to differ",
            )),
            ("raises", Some(v)) if is_dotted_name(v) => attrs.raises = Some(v.to_string()),
            ("raises", v) => errors.push(err(
                format!("bad value `{}` for `raises=`: expected an exception name", v.unwrap_or("")),
                "write for example `raises=ValueError`",
            )),
            ("session", Some(v)) if is_name(v) => {
                attrs.session = Some(v.to_string())
            }
            ("session", v) => errors.push(err(
                format!("bad value `{}` for `session=`", v.unwrap_or("")),
                "a session name is letters, digits, `-` and `_`, e.g. `session=bank`",
            )),
            ("timeout", Some(v)) => match v.parse::<f64>() {
                Ok(t) if crate::config::valid_timeout(t) => attrs.timeout = Some(t),
                _ => errors.push(err(
                    format!(
                        "bad value `{v}` for `timeout=`: expected a number of seconds from {} to {}",
                        crate::config::MIN_TIMEOUT,
                        crate::config::MAX_TIMEOUT
                    ),
                    "write for example `timeout=30`",
                )),
            },
            ("timeout", None) => errors.push(err(
                "`timeout` needs a value".into(),
                "write for example `timeout=30` (seconds)",
            )),
            ("min-python", Some(v)) => match parse_version(v) {
                Some(ver) => attrs.min_python = Some(ver),
                None => errors.push(err(
                    format!("bad value `{v}` for `min-python=`: expected a version like 3.12"),
                    "write for example `min-python=3.12`",
                )),
            },
            ("hidelines", Some(v)) if !v.is_empty() => attrs.hidelines = Some(v.to_string()),
            ("alt", Some(v)) if !v.trim_matches('"').trim().is_empty() => {
                attrs.alt = Some(v.trim_matches('"').trim().to_string())
            }
            ("alt", _) => errors.push(err(
                "`alt` needs a text".into(),
                "write for example `alt=\"Monthly sales, 2024\"` (in double quotes when it has spaces or commas)",
            )),
            _ => {
                let known: Vec<&str> = ATTRIBUTES.iter().map(|a| a.trim_end_matches('=')).collect();
                let mut d = Diagnostic::error(file, fence.line, format!("unknown attribute `{word}` on a Python block"));
                d = match closest(name, &known) {
                    Some(c) => d.with_help(format!("did you mean `{c}`? Known attributes: {}", ATTRIBUTES.join(", "))),
                    None => d.with_help(format!("known attributes: {}", ATTRIBUTES.join(", "))),
                };
                errors.push(d);
            }
        }
    }
    for (clash, other) in [
        (attrs.norun && attrs.run, "`norun` and `run`"),
        (
            attrs.browser_only && attrs.nobrowser,
            "`browser-only` and `nobrowser`",
        ),
        (
            attrs.browser_only && attrs.norun,
            "`browser-only` and `norun`",
        ),
    ] {
        if clash {
            errors.push(Diagnostic::error(
                file,
                fence.line,
                format!("a block cannot be both {other}"),
            ));
        }
    }
    if errors.is_empty() {
        Ok(attrs)
    } else {
        Err(errors)
    }
}

/// The words of an info string: separated by commas, spaces and tabs,
/// except inside double quotes (`alt="a, b"` is one word).
fn info_words(info: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    for c in info.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                word.push(c);
            }
            ',' | ' ' | '\t' if !quoted => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

fn is_dotted_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            !p.is_empty()
                && !p.starts_with(|c: char| c.is_ascii_digit())
                && p.chars().all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// `3.12` -> (3, 12).
pub fn parse_version(v: &str) -> Option<(u32, u32)> {
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().map_or(Some(0), |m| m.parse().ok())?;
    if parts.next().is_some_and(|p| p.parse::<u32>().is_err()) {
        return None;
    }
    Some((major, minor))
}

/// Blocks grouped as they run: a session's blocks are one group (placed
/// where its first block is), every other block a group of its own, in page
/// order. The build's jobs and the browser's are both made from this.
pub(crate) fn by_session<'a>(
    snippets: impl IntoIterator<Item = &'a Snippet>,
) -> Vec<Vec<&'a Snippet>> {
    let mut groups: Vec<Vec<&Snippet>> = Vec::new();
    let mut sessions: Vec<(&str, usize)> = Vec::new();
    for s in snippets {
        match s.attrs.session.as_deref() {
            Some(name) => match sessions.iter().find(|(n, _)| *n == name) {
                Some(&(_, at)) => groups[at].push(s),
                None => {
                    sessions.push((name, groups.len()));
                    groups.push(vec![s]);
                }
            },
            None => groups.push(vec![s]),
        }
    }
    groups
}

/// Group the snippets that run into jobs: each session of a chapter is one
/// job (its blocks in page order), every other snippet a job of its own.
pub fn jobs(chapter: usize, plan: &ChapterPlan, config: &Config) -> Vec<Job> {
    let program = |s: &Snippet| Program {
        id: ProgramId {
            chapter,
            item: s.index,
            origin: Origin::Snippet,
        },
        mode: s.mode,
        code: s.code.clone(),
        file: plan.file.clone(),
        line: s.line,
        stdin: s.stdin.as_ref().map(|a| a.text.replace("\r\n", "\n")),
        timeout: s.timeout,
        limit: config.output_limit,
        inline: !s.inline.is_empty(),
    };
    let mut jobs: Vec<Job> = by_session(plan.snippets.iter().filter(|s| s.skip.is_none()))
        .into_iter()
        .map(|group| Job {
            programs: group.into_iter().map(program).collect(),
        })
        .collect();
    for (x, ex) in plan.exercises.iter().enumerate() {
        jobs.extend(crate::exercise::jobs(
            chapter,
            x,
            ex,
            &plan.file,
            config.output_limit,
        ));
    }
    jobs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::scan;

    fn plan_text(text: &str) -> Result<ChapterPlan, Vec<Diagnostic>> {
        let config = Config {
            hidelines: Some("~".into()),
            ..Config::default()
        };
        let (p, problems) = plan(
            Path::new("book/c.md"),
            "c.md",
            text,
            &scan(text),
            &config,
            (3, 11),
        );
        if problems.is_empty() {
            Ok(p)
        } else {
            Err(problems)
        }
    }

    #[test]
    fn attributes_and_attached_blocks() {
        let text = "```python,session=a,timeout=3,raises=ValueError\n~import x\nprint(1)\n```\n\n```stdin\nhi\n```\n```output\n1\n```\n";
        let p = plan_text(text).unwrap();
        let s = &p.snippets[0];
        assert_eq!(s.attrs.session.as_deref(), Some("a"));
        assert_eq!(s.timeout, 3.0);
        assert_eq!(s.attrs.raises.as_deref(), Some("ValueError"));
        assert_eq!(s.code, "import x\nprint(1)\n");
        assert_eq!(s.hidden, vec![0]);
        assert_eq!(s.stdin.as_ref().unwrap().text, "hi\n");
        assert_eq!(s.expected.as_ref().unwrap().text, "1\n");
        assert_eq!(p.consumed, vec![1, 2]);
    }

    #[test]
    fn output_after_prose_is_not_attached() {
        let e = plan_text("```python\nprint(1)\n```\n\nprose\n\n```output\n1\n```\n").unwrap_err();
        assert_eq!(
            e[0].message,
            "this `output` block does not follow a Python block, so nothing checks it"
        );
        assert_eq!(e[0].line, 7);
    }

    #[test]
    fn unknown_attribute_suggests() {
        let e = plan_text("```python,noruns\nx\n```\n").unwrap_err();
        assert_eq!(e[0].message, "unknown attribute `noruns` on a Python block");
        assert!(
            e[0].help
                .as_deref()
                .unwrap()
                .starts_with("did you mean `norun`?")
        );
    }

    #[test]
    fn bad_timeout() {
        let e = plan_text("```python,timeout=soon\nx\n```\n").unwrap_err();
        assert_eq!(
            e[0].message,
            "bad value `soon` for `timeout=`: expected a number of seconds from 0.05 to 86400"
        );
    }

    #[test]
    fn min_python_and_norun_skip() {
        let p =
            plan_text("```python,min-python=3.12\nx\n```\n\n```python,norun\ny\n```\n").unwrap();
        assert_eq!(p.snippets[0].skip, Some(Skip::MinPython(3, 12)));
        assert_eq!(p.snippets[1].skip, Some(Skip::NoRun));
        let p = plan_text("```python,browser-only\nx\n```\n").unwrap();
        assert_eq!(p.snippets[0].skip, Some(Skip::BrowserOnly));
        assert_eq!(p.snippets[0].no_browser, None);
        let e = plan_text("```python,browser-only,nobrowser\nx\n```\n").unwrap_err();
        assert_eq!(
            e[0].message,
            "a block cannot be both `browser-only` and `nobrowser`"
        );
    }

    #[test]
    fn sessions_group_into_one_job() {
        let text = "```python,session=a\nx=1\n```\n\n```python\ny=2\n```\n\n```python,session=a\nprint(x)\n```\n";
        let p = plan_text(text).unwrap();
        let jobs = jobs(0, &p, &Config::default());
        assert_eq!(jobs.len(), 2);
        assert_eq!(jobs[0].programs.len(), 2);
        assert_eq!(jobs[0].programs[1].code, "print(x)\n");
    }

    #[test]
    fn browser_blockers_are_found_from_code() {
        assert_eq!(browser_blocker("import threading\n"), Some("threads"));
        assert_eq!(
            browser_blocker("await asyncio.to_thread(f)\n"),
            Some("threads")
        );
        assert_eq!(
            browser_blocker("print('threads')\n# import threading\n"),
            None
        );
        assert_eq!(browser_blocker("import asyncio\n"), None);
    }

    #[test]
    fn other_tools_attributes_are_understood_or_ignored() {
        let text = "```python {test=\"skip\" lint=\"skip\"}\nx\n```\n\n```py title=\"x.py\" requires=\"3.12\"\ny\n```\n\n```python3 {group=\"a b\"}\nz\n```\n";
        let p = plan_text(text).unwrap();
        assert_eq!(p.snippets[0].skip, Some(Skip::NoRun));
        assert_eq!(p.snippets[1].skip, Some(Skip::MinPython(3, 12)));
        assert_eq!(p.snippets[2].attrs.session.as_deref(), Some("a-b"));
        assert_eq!(
            p.notes.lines(),
            vec!["other tools' block attributes ignored: `lint`, `title`"]
        );
    }

    #[test]
    fn a_bad_block_is_left_out_and_the_rest_planned() {
        let text = "```python,noruns\nx\n```\n\n```python\ny\n```\n";
        let (p, problems) = plan(
            Path::new("c.md"),
            "c.md",
            text,
            &scan(text),
            &Config::default(),
            (3, 11),
        );
        assert_eq!(problems.len(), 1);
        assert_eq!(p.snippets.len(), 1);
        assert_eq!(p.snippets[0].code, "y\n");
    }

    #[test]
    fn indented_blocks_run_dedented_and_consoles_keep_tildes() {
        let p = plan_text("```python\n    x = 1\n    if x:\n        print(x)\n```\n\n```pycon\n>>> print('~a')\n~a\n```\n").unwrap();
        assert_eq!(p.snippets[0].code, "x = 1\nif x:\n    print(x)\n");
        assert_eq!(p.notes.dedented, 1);
        assert_eq!(p.snippets[1].code, ">>> print('~a')\n~a\n");
        let p = plan_text(
            "```py\n# Python 3.8+\n\n>>> a = 1\n```\n\n```python\n# a comment\nx = 1\n```\n",
        )
        .unwrap();
        assert_eq!(p.snippets[0].mode, Mode::Pycon);
        assert_eq!(p.snippets[1].mode, Mode::Exec);
    }

    #[test]
    fn inline_runs_skip_strings_and_docstrings() {
        let code = "def f():\n    \"\"\"\n    doc\n    \"\"\"\nx = \"\"\"\n#> not\n\"\"\"\nprint(x)\n\"\"\"\nout\n\"\"\"\nprint(1)\n#> 1\n";
        let runs = inline_runs(code);
        assert_eq!(runs.len(), 2, "{runs:?}");
        assert_eq!((runs[0].first, runs[0].count, runs[0].quoted), (8, 3, true));
        assert_eq!(runs[0].text, "out\n");
        assert_eq!((runs[1].from, runs[1].first), (11, 12));
    }

    #[test]
    fn unhide_matches_mdbook() {
        let (code, hidden) = unhide("~a\n  ~b\nc~\n", Some("~"));
        assert_eq!(code, "a\n  b\nc~\n");
        assert_eq!(hidden, vec![0, 1]);
    }
}
