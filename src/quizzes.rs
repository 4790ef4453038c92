//! Quizzes inside the pipeline: find ```` ```quiz ```` blocks and
//! `{{#quiz path}}` directives (scan), parse them (`quiz::parse`), turn their
//! Python `Tracing` programs into jobs (plan), build `TracingRun`s from the
//! outcomes (verify), and replace each with the widget (render). The quiz
//! format itself lives in `quiz`.

use crate::diagnostics::Diagnostic;
use crate::execute::{Failure, Outcome};
use crate::plan::{Job, Mode, Origin, Program, ProgramId};
use crate::quiz::{self, Quiz, QuizSource, RaisedException, TracingRun};
use crate::render::{Edit, Target};
use crate::scan::Scanned;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// A quiz found in a chapter.
pub struct Planned {
    /// What it replaces in the chapter.
    pub span: Range<usize>,
    pub prefix: String,
    pub quiz: Quiz,
}

/// Where a chapter is: its display path and its folder on disk.
pub struct ChapterPlace<'a> {
    pub file: &'a Path,
    /// The chapter's folder on disk (quiz paths are relative to it).
    pub dir_on_disk: PathBuf,
    /// The chapter's folder for messages.
    pub dir_display: PathBuf,
    /// `quiz-language`: the language of Tracing programs that name none.
    pub quiz_language: &'a str,
}

/// Parse every quiz of a chapter. Reading a quiz file is the one read here,
/// done through `execute::fs`.
pub fn plan(scanned: &Scanned, at: &ChapterPlace) -> (Vec<Planned>, Vec<Diagnostic>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for fence in scanned.fences.iter().filter(|f| f.lang() == "quiz") {
        if !fence.closed {
            errors.push(crate::plan::unclosed(at.file, fence));
            continue;
        }
        let src = QuizSource {
            toml: &fence.body,
            file: at.file.to_path_buf(),
            first_line: fence.body_line,
        };
        match quiz::parse_in(&src, at.quiz_language) {
            Ok(q) => {
                errors.extend(q.warnings.iter().cloned());
                out.push(Planned {
                    span: fence.span.clone(),
                    prefix: fence.prefix.clone(),
                    quiz: q,
                })
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    for d in &scanned.quizzes {
        let rel = Path::new(&d.path);
        match crate::execute::fs::read_text_or_error(&at.dir_on_disk.join(rel)) {
            Ok(toml) => {
                let src = QuizSource {
                    toml: &toml,
                    file: normalize(&at.dir_display.join(rel)),
                    first_line: 1,
                };
                match quiz::parse_in(&src, at.quiz_language) {
                    Ok(q) => {
                        errors.extend(q.warnings.iter().cloned());
                        out.push(Planned {
                            span: d.span.clone(),
                            prefix: d.prefix.clone(),
                            quiz: q,
                        })
                    }
                    Err(mut e) => errors.append(&mut e),
                }
            }
            Err(e) => errors.push(quiz::unreadable_file(at.file, d.line, d.column, rel, &e)),
        }
    }
    out.sort_by_key(|p| p.span.start);
    (out, errors)
}

/// `book/part/../quizzes/q.toml` -> `book/quizzes/q.toml`, lexically.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            Component::CurDir => {}
            c => out.push(c),
        }
    }
    out.iter().collect()
}

/// One job per Python Tracing program (each runs alone, like a snippet).
pub fn jobs(chapter: usize, quizzes: &[Planned], timeout: f64, limit: usize) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (qi, p) in quizzes.iter().enumerate() {
        for tp in p.quiz.python_programs() {
            jobs.push(Job {
                programs: vec![Program {
                    id: ProgramId {
                        chapter,
                        item: qi,
                        origin: Origin::Quiz(qi, tp.question),
                    },
                    mode: Mode::Exec,
                    code: tp.code,
                    file: tp.file,
                    line: tp.line,
                    stdin: None,
                    timeout,
                    limit,
                    inline: false,
                }],
            });
        }
    }
    jobs
}

/// The runs of one quiz's programs, and problems running them.
pub fn runs(
    p: &Planned,
    mut outcome: impl FnMut(usize) -> Option<Outcome>,
) -> (Vec<TracingRun>, Vec<Diagnostic>) {
    let mut runs = Vec::new();
    let mut errors = Vec::new();
    for tp in p.quiz.python_programs() {
        let Some(o) = outcome(tp.question) else {
            continue;
        };
        if let Some(f) = &o.failure {
            let why = match f {
                Failure::Timeout { millis, .. } => {
                    format!("ran past its timeout of {} s", *millis as f64 / 1000.0)
                }
                Failure::Crashed { status, .. } => status.clone(),
                Failure::NotRun => "did not run".into(),
                Failure::Worker(e) | Failure::LeftRunning(e) => e.clone(),
            };
            errors.push(Diagnostic::error(
                &tp.file,
                tp.line,
                format!("the program of question {} {why}", tp.question + 1),
            ));
            continue;
        }
        let stdout = match o.exception.as_ref().and_then(|e| e.output_len) {
            Some(n) => o.output.chars().take(n).collect(),
            None => o.output.clone(),
        };
        runs.push(TracingRun {
            question: tp.question,
            stdout,
            exception: o.exception.as_ref().map(|e| RaisedException {
                name: e.name.clone(),
                message: e.message.clone(),
                line: e.line,
            }),
        });
    }
    (runs, errors)
}

/// The edit that replaces a quiz with its widget (html) or its Markdown.
pub fn edit(
    p: &Planned,
    runs: &[TracingRun],
    key: &str,
    target: Target,
    labels: &quiz::Labels,
    nl: &str,
) -> Edit {
    let blank = p.prefix.trim_end();
    let text = match target {
        Target::Html => format!(
            "{}{nl}{blank}",
            quiz::render_html(&p.quiz, runs, key, labels)
        ),
        Target::Text => {
            let md = quiz::render_markdown_with(&p.quiz, runs, labels);
            let mut lines = md.lines();
            let mut out = lines.next().unwrap_or("").to_string();
            for l in lines {
                out.push_str(nl);
                out.push_str(if l.is_empty() { blank } else { &p.prefix });
                if !l.is_empty() {
                    out.push_str(l);
                }
            }
            out.push_str(nl);
            out.push_str(blank);
            out
        }
    };
    Edit {
        range: p.span.clone(),
        text,
    }
}
