//! Verify: a snippet's expectation (its `output` block, `raises=`, the lines
//! of a `pycon` session) against what running it produced, giving the text to
//! show under it and the diagnostics, with unified diffs. Pure. A session's
//! statements come back with doctest's own verdict (the worker runs them
//! through `doctest.DocTestRunner`); this module only reports them.
//! pytest-examples' `#>` runs are compared with what the prints above them
//! printed (`Outcome::prints`).

use crate::config::OnMismatch;
use crate::diagnostics::Diagnostic;
use crate::execute::{Failure, Outcome, Raised, Rich};
use crate::plan::{Mode, Snippet};
use std::path::Path;

/// What the page shows for a snippet that ran, and what went wrong.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    /// The output to show (`None`: nothing printed, or nothing to show).
    pub shown: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
    /// A mismatch reported as a warning: the page shows this diff.
    pub warning: Option<String>,
    /// Figures and rich displays to show with `shown` (offsets into it).
    /// Output blocks are compared with the printed text only.
    pub rich: Vec<Rich>,
    /// `versions=differ` blocks: each distinct output of the runtime
    /// matrix with the versions that print it, the primary's first (filled
    /// by the matrix stage; empty otherwise).
    pub variants: crate::matrix::Variants,
    /// What `bless` writes, decided here with the diagnostics so that bless
    /// fixes exactly what `check` reports.
    pub fix: Option<Fix>,
    /// Browser parity found that Pyodide prints something else (filled from
    /// the parity stage's findings; the block may also say
    /// `browser=differs` itself).
    pub browser_differs: bool,
}

/// A mismatch `bless` can settle, or must leave.
#[derive(Debug, Clone, PartialEq)]
pub enum Fix {
    /// The output block should hold this (empty: the snippet printed nothing).
    Output(String),
    /// The `pycon` examples (indices into `Outcome::examples`) whose lines
    /// do not match.
    Examples(Vec<usize>),
    /// The output block does not match, but the snippet raised an exception
    /// its block does not mark with `raises=`: bless leaves the block.
    Raised(String),
    /// `#>` comment runs that do not match: (1-based Markdown line of the
    /// run's first line, the run, what the prints above it printed).
    Inline(Vec<(usize, crate::plan::Inline, String)>),
}

/// Check one snippet's outcome.
pub fn verify(
    file: &Path,
    snippet: &Snippet,
    outcome: &Outcome,
    on_mismatch: OnMismatch,
    limit: usize,
) -> Verdict {
    let mut v = Verdict {
        rich: outcome.rich.clone(),
        ..Verdict::default()
    };
    let md_line =
        |program_line: Option<usize>| program_line.map_or(snippet.line, |l| snippet.line + l - 1);
    if let Some(failure) = &outcome.failure {
        match failure {
            Failure::Timeout { millis, line } => v.diagnostics.push(
                Diagnostic::error(file, md_line(*line), format!("this snippet ran past its timeout of {} s and was stopped", *millis as f64 / 1000.0))
                    .with_help("make it finish sooner, or give it more time with `timeout=SECONDS` on the block (or `timeout` in [preprocessor.python])"),
            ),
            Failure::Crashed { status, stderr } => {
                let mut d = Diagnostic::error(file, snippet.line, format!("the interpreter died while running this snippet: {status}"))
                    .with_help("a snippet that ends its own interpreter (os._exit, a signal, exhausting memory) cannot be shown; mark it `norun`");
                if !stderr.trim().is_empty() {
                    d = d.with_detail(stderr.clone());
                }
                v.diagnostics.push(d);
            }
            Failure::LeftRunning(what) => v.diagnostics.push(
                Diagnostic::error(file, snippet.line, format!("this snippet ended but {what}"))
                    .with_help("join the thread (or make it a daemon thread) before the snippet ends"),
            ),
            Failure::NotRun => {}
            Failure::Worker(e) => v.diagnostics.push(Diagnostic::error(file, snippet.line, e.clone())),
        }
        let partial = with_note(&outcome.output, outcome.truncated, limit);
        v.shown = (!partial.is_empty()).then_some(partial);
        return v;
    }
    if snippet.mode == Mode::Pycon {
        let mut wrong = Vec::new();
        for (i, ex) in outcome.examples.iter().enumerate() {
            if let Some(error) = &ex.error {
                v.diagnostics.push(malformed(file, ex.line, error));
                continue;
            }
            if !ex.ok {
                wrong.push(i);
                let d = Diagnostic::error(file, ex.line, "the output of this `>>>` statement does not match")
                    .with_detail(diff(&ex.want.replace("<BLANKLINE>", ""), &ex.got))
                    .with_help("fix the lines under the statement, or run `mdbook-python bless` to write the real output");
                push_mismatch(&mut v, d, on_mismatch);
            }
        }
        v.fix = (!wrong.is_empty()).then_some(Fix::Examples(wrong));
        return v;
    }
    let shown = with_note(&outcome.output, outcome.truncated, limit);
    match (&snippet.attrs.raises, &outcome.exception) {
        (None, Some(e)) if e.mro.iter().any(|n| n == "ModuleNotFoundError") => v
            .diagnostics
            .push(missing_module(file, md_line(e.line), e, &outcome.output)),
        (None, Some(e)) => v.diagnostics.push(
            Diagnostic::error(
                file,
                md_line(e.line),
                format!(
                    "this snippet raised {}: {}",
                    shown_name(e),
                    first_line(&e.message)
                ),
            )
            .with_detail(outcome.output.trim_end().to_string())
            .with_help(raised_help(e)),
        ),
        (Some(want), Some(e)) if !raised_matches(want, &e.mro, &e.qualname) => v.diagnostics.push(
            Diagnostic::error(
                file,
                md_line(e.line),
                format!(
                    "this snippet should raise {want}, but it raised {}: {}",
                    shown_name(e),
                    first_line(&e.message)
                ),
            )
            .with_detail(outcome.output.trim_end().to_string())
            .with_help(format!(
                "change the attribute to `raises={}`, or fix the code",
                shown_name(e)
            )),
        ),
        (Some(want), None) => v.diagnostics.push(
            Diagnostic::error(
                file,
                snippet.line,
                format!("this snippet should raise {want}, but it finished without an exception"),
            )
            .with_help("remove `raises=` from the block, or make the code raise"),
        ),
        _ => {}
    }
    if let Some(expected) = &snippet.expected
        && !snippet.attrs.nondeterministic
        && !output_matches(&expected.text, &shown, expected.ellipsis)
    {
        let d = Diagnostic::error(file, expected.line, "the output block does not match what the snippet prints")
            .with_detail(diff(&expected.text, &shown))
            .with_help("fix the output block, run `mdbook-python bless` to write the real output, or mark the block `nondeterministic` if it varies");
        push_mismatch(&mut v, d, on_mismatch);
        v.fix = Some(match (&snippet.attrs.raises, &outcome.exception) {
            (None, Some(e)) => Fix::Raised(shown_name(e)),
            (Some(want), Some(e)) if !raised_matches(want, &e.mro, &e.qualname) => {
                Fix::Raised(shown_name(e))
            }
            _ => Fix::Output(shown.clone()),
        });
    }
    // pytest-examples' `#>` comments: each run shows what the prints since
    // the previous run printed.
    let mut inline_fixes = Vec::new();
    if outcome.exception.is_none() {
        for run in &snippet.inline {
            let printed: String = outcome
                .prints
                .iter()
                .filter(|(line, _)| (run.from + 1..=run.first).contains(line))
                .map(|(_, text)| text.as_str())
                .collect();
            if normalize(&run.text) != normalize(&printed)
                && !(printed.trim_end().lines().count() == 1
                    && reflowed(&run.text) == reflowed(&printed))
            {
                let line = snippet.line + run.first;
                let d = Diagnostic::error(
                    file,
                    line,
                    "the `#>` lines here do not match what the code above them prints",
                )
                .with_detail(diff(&run.text, &printed))
                .with_help(
                    "fix the `#>` lines, or run `mdbook-python bless` to write the real output",
                );
                push_mismatch(&mut v, d, on_mismatch);
                inline_fixes.push((line, run.clone(), printed));
            }
        }
    }
    if v.fix.is_none() && !inline_fixes.is_empty() {
        v.fix = Some(Fix::Inline(inline_fixes));
    }
    // A ```text block under the snippet (how other tools show output) that
    // contradicts what it prints: a warning only, the author may mean
    // something else by it.
    if let Some(text) = &snippet.text_under
        && snippet.expected.is_none()
        && !snippet.attrs.nondeterministic
        && outcome.exception.is_none()
        && !ellipsis_matches(&text.text, &shown)
    {
        v.diagnostics.push(
            Diagnostic::warning(file, text.line, "the ```text block under this snippet does not match what it prints")
                .with_detail(diff(&text.text, &shown))
                .with_help("make it an ```output block to have it checked (and written by bless), fix it, or put a line of prose between them if it shows something else"),
        );
    }
    v.shown = (!shown.is_empty()).then_some(shown);
    v
}

/// pytest-examples writes a long line of output reflowed (one item a line,
/// with trailing commas): such a line is compared without white space and
/// those commas.
fn reflowed(s: &str) -> String {
    let squeezed: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed
        .replace(",}", "}")
        .replace(",]", "]")
        .replace(",)", ")")
}

/// A console session doctest cannot read (`error` in doctest's words, as
/// `lacks blank after >>>: '>>>print(1)'`): nothing of it ran.
fn malformed(file: &Path, line: usize, error: &str) -> Diagnostic {
    let help = if error.starts_with("lacks blank") {
        "put a space after the prompt, as Python's prompt shows it: `>>> print(1)`, `... x`"
    } else if error.contains("leading whitespace") {
        "indent the statement's `...` lines and its output exactly like its `>>>` line"
    } else if error.contains("option") {
        "doctest's directives are `# doctest: +SKIP`, `+ELLIPSIS`, `+NORMALIZE_WHITESPACE`, `+IGNORE_EXCEPTION_DETAIL` (and their `-` forms), on a `>>>` line"
    } else {
        "write the session as Python's interactive prompt shows it"
    };
    Diagnostic::error(
        file,
        line,
        format!("this console session cannot be run: doctest reads this line as one that {error}"),
    )
    .with_help(help)
}

/// A snippet imported a module the build interpreter does not have: name
/// it, and say how to install it into a virtual environment.
/// The help under an exception nobody asked for: what usually causes the
/// sandbox's own refusals, else how to accept the exception.
fn raised_help(e: &Raised) -> String {
    let accept = format!(
        "mark the block `raises={}` if the exception is the point",
        shown_name(e)
    );
    if e.name == "BlockingIOError" && e.message.starts_with("[Errno 11]") {
        format!(
            "the snippet started more processes than `process-limit` in [preprocessor.python] allows; start fewer, raise the limit, or {accept}"
        )
    } else if e.mro.iter().any(|n| n == "OSError")
        && (e.message.starts_with("[Errno 101]")
            || e.message.starts_with("[Errno -3]")
            || e.message.starts_with("[Errno -2]"))
    {
        format!(
            "snippets have no network but loopback: set `network = \"host\"` in [preprocessor.python] to allow it, or {accept}"
        )
    } else {
        format!("fix the code, or {accept}")
    }
}

fn missing_module(
    file: &Path,
    line: usize,
    e: &crate::execute::Raised,
    output: &str,
) -> Diagnostic {
    let module = e
        .module
        .clone()
        .or_else(|| {
            e.message
                .strip_prefix("No module named '")
                .and_then(|m| m.strip_suffix('\''))
                .map(str::to_string)
        })
        .unwrap_or_else(|| first_line(&e.message).to_string());
    let top = module.split('.').next().unwrap_or(&module);
    let package = pip_name(top);
    Diagnostic::error(
        file,
        line,
        format!(
            "this snippet imports `{module}`, which is not installed for the Python that builds the book"
        ),
    )
    .with_detail(output.trim_end().to_string())
    .with_help(format!(
        "install it in a virtual environment beside book.toml: `python -m venv .venv && .venv/bin/pip install {package}`, then set `python = \".venv/bin/python\"` in [preprocessor.python] (or mark the block `raises=ModuleNotFoundError` if that is the point)"
    ))
}

/// The name to give pip for a module whose distribution is named otherwise.
fn pip_name(module: &str) -> &str {
    match module {
        "sklearn" => "scikit-learn",
        "skimage" => "scikit-image",
        "PIL" => "pillow",
        "cv2" => "opencv-python",
        "yaml" => "pyyaml",
        "bs4" => "beautifulsoup4",
        "dateutil" => "python-dateutil",
        "attr" => "attrs",
        other => other,
    }
}

fn push_mismatch(v: &mut Verdict, d: Diagnostic, on_mismatch: OnMismatch) {
    match on_mismatch {
        OnMismatch::Error => v.diagnostics.push(d),
        OnMismatch::Warn => {
            let mut w = d;
            w.severity = crate::diagnostics::Severity::Warning;
            let text = w.detail.clone().unwrap_or_default();
            v.warning = Some(match v.warning.take() {
                Some(prev) => format!("{prev}\n{text}"),
                None => text,
            });
            v.diagnostics.push(w);
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Does an exception with these base-class names match `raises=want`?
/// `want` may be a bare name (`ValueError`) or dotted (`json.JSONDecodeError`,
/// `curses.error`): then its module must be the exception's module or one
/// of its packages, private modules named as their public ones
/// (`_curses.error` is `curses.error`).
pub fn raised_matches(want: &str, mro: &[String], qualname: &str) -> bool {
    let Some((module, bare)) = want.rsplit_once('.') else {
        return mro.iter().any(|n| n == want);
    };
    let public = public_name(qualname);
    let (raised_module, _) = public.rsplit_once('.').unwrap_or(("", &public));
    mro.iter().any(|n| n == bare)
        && (public == want
            || raised_module == module
            || raised_module.starts_with(&format!("{module}.")))
}

/// `_curses.error` -> `curses.error`: a module's private name as the
/// public one (each component's leading underscore dropped).
fn public_name(qualname: &str) -> String {
    let (module, name) = qualname.rsplit_once('.').unwrap_or(("", qualname));
    let module: Vec<&str> = module
        .split('.')
        .map(|m| m.trim_start_matches('_'))
        .collect();
    format!("{}.{name}", module.join("."))
}

/// How messages name an exception: its short name, or its qualified one
/// when the short name says little on its own (`curses.error`, not
/// `error`: a lowercase name of a module that is not builtins).
fn shown_name(e: &Raised) -> String {
    let builtin = e.qualname.starts_with("builtins.") || !e.qualname.contains('.');
    if !builtin && e.name.starts_with(|c: char| c.is_ascii_lowercase()) {
        public_name(&e.qualname)
    } else {
        e.name.clone()
    }
}

/// The output plus a visible note when it was cut.
pub fn with_note(output: &str, truncated: bool, limit: usize) -> String {
    if !truncated {
        return output.to_string();
    }
    let mut s = output.to_string();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s.push_str(&format!("[mdbook-python: output cut at {limit} bytes (output-limit); the snippet was stopped there]\n"));
    s
}

/// Does an output block's text match what was printed? (`ellipsis`: `...`
/// matches anything, as in doctest.)
/// Line numbers in frames and warnings of the chapter's own lines do not
/// count: they move when prose is added above the block.
pub fn output_matches(expected: &str, shown: &str, ellipsis: bool) -> bool {
    use crate::execute::relocate::without_line_numbers;
    let (expected, shown) = (without_line_numbers(expected), without_line_numbers(shown));
    if ellipsis {
        ellipsis_matches(&expected, &shown)
    } else {
        normalize(&expected) == normalize(&shown)
    }
}

/// A failure in a few words, for messages that name where it happened.
pub fn describe_failure(f: &Failure) -> String {
    match f {
        Failure::Timeout { millis, .. } => {
            format!("it ran past its timeout of {} s", *millis as f64 / 1000.0)
        }
        Failure::Crashed { status, .. } => format!("the interpreter died ({status})"),
        Failure::NotRun => "an earlier block of its session failed".into(),
        Failure::Worker(e) => e.clone(),
        Failure::LeftRunning(what) => format!("it ended but {what}"),
    }
}

/// Trailing whitespace on each line and trailing blank lines do not count;
/// CRLF is LF.
pub fn normalize(s: &str) -> String {
    let lines: Vec<&str> = s.lines().map(|l| l.trim_end()).collect();
    let end = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[..end].join("\n")
}

/// doctest-style comparison: a line `...` matches any number of lines, and
/// `...` inside a line matches any text within that line.
pub fn ellipsis_matches(expected: &str, actual: &str) -> bool {
    let e = normalize(expected);
    let a = normalize(actual);
    let e: Vec<&str> = e.lines().collect();
    let a: Vec<&str> = a.lines().collect();
    let mut memo = std::collections::HashMap::new();
    lines_match(&e, &a, 0, 0, &mut memo)
}

fn lines_match(
    e: &[&str],
    a: &[&str],
    i: usize,
    j: usize,
    memo: &mut std::collections::HashMap<(usize, usize), bool>,
) -> bool {
    if let Some(&r) = memo.get(&(i, j)) {
        return r;
    }
    let r = if i == e.len() {
        j == a.len()
    } else if e[i].trim() == "..." {
        (j..=a.len()).any(|k| lines_match(e, a, i + 1, k, memo))
    } else {
        j < a.len() && line_matches(e[i], a[j]) && lines_match(e, a, i + 1, j + 1, memo)
    };
    memo.insert((i, j), r);
    r
}

fn line_matches(e: &str, a: &str) -> bool {
    if !e.contains("...") {
        return e == a;
    }
    let parts: Vec<&str> = e.split("...").collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !a.starts_with(first) || a.len() < first.len() + last.len() || !a.ends_with(last) {
        return false;
    }
    let mut rest = &a[first.len()..a.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

/// A unified diff, expected first.
pub fn diff(expected: &str, actual: &str) -> String {
    unified_diff(
        &normalize(expected),
        &normalize(actual),
        ("expected", "actual"),
    )
}

/// The plugin's one unified diff: `old` to `new` under the headers `a` and
/// `b`, each text ending in a newline, 3 lines of context.
pub(crate) fn unified_diff(old: &str, new: &str, (a, b): (&str, &str)) -> String {
    let line = |s: &str| {
        if s.ends_with('\n') {
            s.to_string()
        } else {
            format!("{s}\n")
        }
    };
    similar::TextDiff::from_lines(line(old), line(new))
        .unified_diff()
        .context_radius(3)
        .missing_newline_hint(false)
        .header(a, b)
        .to_string()
        .trim_end()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_ignores_trailing_space_and_lines() {
        assert_eq!(normalize("a  \nb\n\n\n"), "a\nb");
        assert_eq!(normalize("a\r\nb\r\n"), "a\nb");
    }

    #[test]
    fn ellipsis() {
        assert!(ellipsis_matches("a\n...\nd\n", "a\nb\nc\nd\n"));
        assert!(ellipsis_matches("a\n...\nb\n", "a\nb\n"));
        assert!(ellipsis_matches(
            "<object at 0x...>\n",
            "<object at 0x7f3>\n"
        ));
        assert!(!ellipsis_matches("a\n...\nd\n", "a\nb\nc\n"));
        assert!(!ellipsis_matches("x...y\n", "xy z\n"));
    }

    #[test]
    fn raises_matches_subclasses_and_dotted_names() {
        let mro = vec![
            "JSONDecodeError".to_string(),
            "ValueError".into(),
            "Exception".into(),
        ];
        assert!(raised_matches(
            "ValueError",
            &mro,
            "json.decoder.JSONDecodeError"
        ));
        assert!(raised_matches(
            "json.JSONDecodeError",
            &mro,
            "json.decoder.JSONDecodeError"
        ));
        assert!(!raised_matches(
            "TypeError",
            &mro,
            "json.decoder.JSONDecodeError"
        ));
        assert!(!raised_matches(
            "yaml.JSONDecodeError",
            &mro,
            "json.decoder.JSONDecodeError"
        ));
        let curses = vec!["error".to_string(), "Exception".into()];
        assert!(raised_matches("curses.error", &curses, "_curses.error"));
        assert!(!raised_matches("socket.error", &curses, "_curses.error"));
        let e = Raised {
            name: "error".into(),
            qualname: "_curses.error".into(),
            mro: curses,
            message: "m".into(),
            line: None,
            output_len: None,
            module: None,
        };
        assert_eq!(shown_name(&e), "curses.error");
    }

    #[test]
    fn diff_is_unified() {
        assert_eq!(
            diff("a\nb\n", "a\nc\n"),
            "--- expected\n+++ actual\n@@ -1,2 +1,2 @@\n a\n-b\n+c"
        );
    }
}
