//! The author's written `Tracing` answers against what CPython did.

use super::schema::{Kind, Quiz, Tracing, TracingAnswer};
use super::{RaisedException, TracingRun};
use crate::diagnostics::Diagnostic;

const HELP: &str = "correct the answer, or delete it: the build computes it from the program";

/// Output as the quiz compares it: line endings unified, trailing spaces of
/// each line and blank lines at both ends ignored (the widget compares the
/// reader's answer the same way).
pub(crate) fn normalize_output(s: &str) -> String {
    crate::verify::normalize(s)
        .trim_start_matches('\n')
        .to_string()
}

/// `Name: message`, or `Name` when the message is empty.
pub(crate) fn exception_text(e: &RaisedException) -> String {
    if e.message.is_empty() {
        e.name.clone()
    } else {
        format!("{}: {}", e.name, e.message)
    }
}

/// Whether a written `answer.exception` (`Name` or `Name: message`) matches.
fn exception_matches(written: &str, e: &RaisedException) -> bool {
    match written.split_once(':') {
        Some((name, message)) => name.trim() == e.name && message.trim() == e.message.trim(),
        None => written.trim() == e.name,
    }
}

fn diff(written: &str, actual: &str) -> String {
    crate::verify::unified_diff(written, actual, ("written answer", "CPython"))
}

fn toml_string(s: &str) -> String {
    if s.contains('\n') {
        format!("\"\"\"\n{}\n\"\"\"", s.trim_end_matches('\n'))
    } else {
        format!("{s:?}")
    }
}

/// The answer table as the author wrote it, and as it should read, for the diff.
fn summaries(a: &TracingAnswer, run: &TracingRun) -> (String, String) {
    let mut w = vec![format!("doesCompile = {}", a.does_compile)];
    let mut r = vec![format!("doesCompile = {}", run.exception.is_none())];
    if let Some((s, _)) = &a.stdout {
        w.push(format!("stdout = {}", toml_string(&normalize_output(s))));
    }
    if a.stdout.is_some() || run.exception.is_none() {
        r.push(format!(
            "stdout = {}",
            toml_string(&normalize_output(&run.stdout))
        ));
    }
    if let Some((n, _)) = &a.line_number {
        w.push(format!("lineNumber = {n}"));
    }
    if let Some((e, _)) = &a.exception {
        w.push(format!("exception = {e:?}"));
    }
    if let Some(e) = &run.exception {
        if let Some(line) = e.line {
            r.push(format!("lineNumber = {line}"));
        }
        r.push(format!("exception = {:?}", exception_text(e)));
    }
    (w.join("\n"), r.join("\n"))
}

pub(crate) fn verify(quiz: &Quiz, runs: &[TracingRun]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let runs = super::runs_by_question(runs);
    for (i, q) in quiz.questions.iter().enumerate() {
        let Kind::Tracing(t) = &q.kind else { continue };
        let (Some(answer), true) = (&t.answer, t.is_python()) else {
            continue;
        };
        let Some(&run) = runs.get(&i) else {
            continue;
        };
        check(quiz, i + 1, t, answer, run, &mut out);
    }
    out
}

fn check(
    quiz: &Quiz,
    number: usize,
    _t: &Tracing,
    a: &TracingAnswer,
    run: &TracingRun,
    out: &mut Vec<Diagnostic>,
) {
    let owner = format!("question {number} (Tracing)");
    let error = |line: usize, message: String, detail: String| {
        Diagnostic::error(quiz.file.clone(), line, message)
            .with_detail(detail)
            .with_help(HELP)
    };
    match (&run.exception, a.does_compile) {
        (Some(e), true) => {
            let (w, r) = summaries(a, run);
            let at = e.line.map(|l| format!(" on line {l}")).unwrap_or_default();
            out.push(error(
                a.line,
                format!(
                    "{owner} says the program runs to the end (doesCompile = true), but it raises {}{at}",
                    exception_text(e)
                ),
                diff(&w, &r),
            ));
        }
        (None, false) => {
            let (w, r) = summaries(a, run);
            out.push(error(
                a.line,
                format!("{owner} says the program raises an exception (doesCompile = false), but it runs to the end"),
                diff(&w, &r),
            ));
        }
        (exception, _) => {
            if let Some((written, line)) = &a.stdout {
                let (w, r) = (normalize_output(written), normalize_output(&run.stdout));
                if w != r {
                    out.push(error(
                        *line,
                        format!(
                            "the output written in {owner} does not match what the program prints"
                        ),
                        diff(&w, &r),
                    ));
                }
            }
            if let Some(e) = exception {
                if let Some((written, line)) = &a.exception
                    && !exception_matches(written, e)
                {
                    out.push(error(
                        *line,
                        format!(
                            "{owner} says the program raises {written}, but it raises {}",
                            exception_text(e)
                        ),
                        diff(written, &exception_text(e)),
                    ));
                }
                if let (Some((written, line)), Some(actual)) = (&a.line_number, e.line)
                    && *written != actual
                {
                    out.push(error(
                        *line,
                        format!("{owner} says the exception is raised on line {written}, but it is raised on line {actual}"),
                        diff(&format!("lineNumber = {written}"), &format!("lineNumber = {actual}")),
                    ));
                }
            }
        }
    }
}
