//! Plan: scanned fences in, snippets out. Reads each Python block's info
//! string (attributes), pairs it with the `stdin` and `output` blocks under it,
//! strips hidden-line prefixes exactly as mdBook does, decides what runs at
//! build time and in the browser, and groups what runs into jobs: one job per
//! session, one per lone snippet. Pure; every problem becomes a `Diagnostic`.

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
}

/// Why a block is not executed at build time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    NoRun,
    /// `browser-only`: the reader runs it; the build does not.
    BrowserOnly,
    NotMarked,
    MinPython(u32, u32),
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
    /// build's tracebacks name them (set by `run_book`).
    pub written: Option<(PathBuf, usize)>,
    /// The code as executed: hidden lines included, their prefix removed.
    pub code: String,
    /// 0-based indices of hidden lines in `code`.
    pub hidden: Vec<usize>,
    pub attrs: Attrs,
    pub stdin: Option<Attached>,
    pub expected: Option<Attached>,
    pub skip: Option<Skip>,
    /// `None` when the browser can run it, else the reason shown to readers.
    pub no_browser: Option<String>,
    /// Seconds allowed.
    pub timeout: f64,
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
}

/// Identifies a program to the later stages.
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
}

/// Programs run in order in one namespace, on one worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub programs: Vec<Program>,
}

/// Plan one chapter whose Markdown is `text`. `python` is the build
/// interpreter's (major, minor).
pub fn plan(
    file: &Path,
    source: &str,
    text: &str,
    scanned: &Scanned,
    config: &Config,
    python: (u32, u32),
) -> Result<ChapterPlan, Vec<Diagnostic>> {
    let mut errors = Vec::new();
    let mut plan = ChapterPlan {
        file: file.to_path_buf(),
        source: source.to_string(),
        ..ChapterPlan::default()
    };
    let fences = &scanned.fences;
    let mut i = 0;
    while i < fences.len() {
        let fence = &fences[i];
        let lang = fence.lang();
        let mode = match lang {
            "python" | "py" => Some(Mode::Exec),
            "pycon" => Some(Mode::Pycon),
            _ => None,
        };
        if let Some(mode) = mode {
            if !fence.closed {
                errors.push(unclosed(file, fence));
                i += 1;
                continue;
            }
            let attrs = match parse_attrs(file, fence) {
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
            let mut snippet =
                snippet_of(plan.snippets.len(), i, mode, fence, attrs, config, python);
            // Attach the stdin and output blocks that follow, if adjacent.
            let mut j = i + 1;
            for wanted in ["stdin", "output"] {
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
                    for w in extra {
                        if wanted == "output" && w == "ellipsis" {
                            ellipsis = true;
                        } else {
                            errors.push(
                                Diagnostic::error(
                                    file,
                                    f.line,
                                    format!("unknown attribute `{w}` on a `{wanted}` block"),
                                )
                                .with_help(if wanted == "output" {
                                    "the only attribute of an output block is `ellipsis`"
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
                    };
                    if wanted == "stdin" {
                        snippet.stdin = Some(attached);
                    } else {
                        snippet.expected = Some(attached);
                    }
                    plan.consumed.push(j);
                    j += 1;
                }
            }
            if mode == Mode::Pycon && (snippet.stdin.is_some() || snippet.expected.is_some()) {
                errors.push(
                    Diagnostic::error(file, fence.line, "a `pycon` block holds its own expected output")
                        .with_help("write the output under each `>>>` line instead of in an `output` or `stdin` block"),
                );
            }
            plan.snippets.push(snippet);
            i = j;
            continue;
        }
        if lang == "output" || lang == "stdin" {
            errors.push(
                Diagnostic::error(file, fence.line, format!("this `{lang}` block does not follow a Python block"))
                    .with_help("put it right under a ```python block (only blank lines between), or use ```text to show text"),
            );
        }
        i += 1;
    }
    if errors.is_empty() {
        Ok(plan)
    } else {
        Err(errors)
    }
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
    let prefix = attrs.hidelines.clone().or_else(|| config.hidelines.clone());
    let (code, hidden) = unhide(&fence.body, prefix.as_deref());
    let skip = if attrs.browser_only {
        Some(Skip::BrowserOnly)
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
    let no_browser = if attrs.nobrowser {
        Some("This example runs only when the book is built, not in your browser.".to_string())
    } else {
        browser_blocker(&code).map(|what| {
            format!(
                "Runs at build time only: it uses {what}, which Python in the browser cannot do."
            )
        })
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
        skip,
        no_browser,
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

fn parse_attrs(file: &Path, fence: &Fence) -> Result<Attrs, Vec<Diagnostic>> {
    let mut attrs = Attrs::default();
    let mut errors = Vec::new();
    let words = info_words(&fence.info);
    for word in words.iter().skip(1).map(String::as_str) {
        let (name, value) = match word.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (word, None),
        };
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
            ("browser", v) => errors.push(err(
                format!("bad value `{}` for `browser=`", v.unwrap_or("")),
                "write `browser=differs` for a block whose output in the browser is expected to differ",
            )),
            ("raises", Some(v)) if is_dotted_name(v) => attrs.raises = Some(v.to_string()),
            ("raises", v) => errors.push(err(
                format!("bad value `{}` for `raises=`: expected an exception name", v.unwrap_or("")),
                "write for example `raises=ValueError`",
            )),
            ("session", Some(v)) if !v.is_empty() && v.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_') => {
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

/// Group the snippets that run into jobs: each session of a chapter is one
/// job (its blocks in page order), every other snippet a job of its own.
pub fn jobs(chapter: usize, plan: &ChapterPlan, config: &Config) -> Vec<Job> {
    let mut jobs: Vec<Job> = Vec::new();
    let mut sessions: Vec<(String, usize)> = Vec::new();
    for s in plan.snippets.iter().filter(|s| s.skip.is_none()) {
        let program = Program {
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
        };
        match &s.attrs.session {
            Some(name) => match sessions.iter().find(|(n, _)| n == name) {
                Some((_, job)) => jobs[*job].programs.push(program),
                None => {
                    sessions.push((name.clone(), jobs.len()));
                    jobs.push(Job {
                        programs: vec![program],
                    });
                }
            },
            None => jobs.push(Job {
                programs: vec![program],
            }),
        }
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
        plan(
            Path::new("book/c.md"),
            "c.md",
            text,
            &scan(text),
            &config,
            (3, 11),
        )
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
            "this `output` block does not follow a Python block"
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
    fn unhide_matches_mdbook() {
        let (code, hidden) = unhide("~a\n  ~b\nc~\n", Some("~"));
        assert_eq!(code, "a\n  b\nc~\n");
        assert_eq!(hidden, vec![0, 1]);
    }
}
