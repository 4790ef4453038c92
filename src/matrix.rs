//! The runtime matrix: every job the build's Python ran also runs on each
//! further CPython of `matrix` (through the same cache and pool, so a warm
//! build runs nothing), and each program's output is compared with the
//! primary's the way browser parity compares (traceback stacks aside).
//! A difference fails the build unless the block says `versions=differ`
//! (the page then shows each version's output) or an `output,python=3.X`
//! block locks that version's text; `min-python` gates a block per runtime.
//! This stage fills the blocks' variants, its diagnostics and the table
//! `check` ends with; it never changes the primary's outcomes.

use crate::diagnostics::Diagnostic;
use crate::execute::{self, Interpreter, Outcome};
use crate::parity::comparable;
use crate::plan::{Job, Origin, ProgramId, Skip, Snippet, SnippetId};
use crate::verify::{diff, output_matches, unified_diff, with_note};
use std::collections::HashMap;
use std::path::Path;

/// One further runtime, resolved.
pub struct Runtime {
    /// As written in `matrix` (`"3.12"`, a command, a path).
    pub spec: String,
    pub interpreter: Interpreter,
}

/// A block's distinct outputs across the matrix, each with the versions
/// that print it (`"3.13.0"`), the primary's first.
pub type Variants = Vec<(Vec<String>, String)>;

/// One line of the table `check` ends with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub runtime: String,
    pub version: String,
    pub run: usize,
    pub same: usize,
    pub marked: usize,
    pub failing: usize,
}

/// What the matrix found.
#[derive(Debug, Default)]
pub struct Found {
    pub diagnostics: Vec<Diagnostic>,
    /// By snippet: the outputs to show.
    pub variants: HashMap<SnippetId, Variants>,
    pub rows: Vec<Row>,
    /// Blocks that failed on some runtime (for the summary's count).
    pub failed: usize,
}

/// Runs jobs on an interpreter (the pool, through the cache).
pub type RunJobs<'a> = &'a dyn Fn(&Interpreter, &[Job]) -> Vec<Vec<Outcome>>;

/// The book as the matrix needs it: for a program, its chapter file and,
/// for a snippet, the snippet.
pub trait Lookup {
    fn snippet(&self, id: &ProgramId) -> Option<(&Path, &Snippet)>;
    fn file(&self, chapter: usize) -> &Path;
    /// Is this quiz question marked `prompt.versions = "differ"`?
    fn quiz_version_specific(&self, chapter: usize, quiz: usize, question: usize) -> bool;
}

/// Run `jobs` on every runtime and compare with `primary` (the primary's
/// outcomes, job by job).
pub fn run(
    book: &dyn Lookup,
    primary_python: &Interpreter,
    runtimes: &[Runtime],
    jobs: &[Job],
    primary: &[Vec<Outcome>],
    run_jobs: RunJobs,
    limit: usize,
) -> Found {
    let mut found = Found::default();
    let mut failed_blocks: std::collections::HashSet<ProgramId> = Default::default();
    let p_version = primary_python.short_version();
    for rt in runtimes {
        let v = (rt.interpreter.version.0, rt.interpreter.version.1);
        let version = rt.interpreter.short_version();
        let mut row = Row {
            runtime: rt.spec.clone(),
            version: version.clone(),
            run: 0,
            same: 0,
            marked: 0,
            failing: 0,
        };
        // A job runs on this runtime unless one of its blocks needs a newer
        // Python (`min-python`).
        let gated = |job: &Job| {
            job.programs.iter().any(|p| {
                book.snippet(&p.id)
                    .and_then(|(_, s)| s.attrs.min_python)
                    .is_some_and(|m| m > v)
            })
        };
        let picked: Vec<usize> = (0..jobs.len()).filter(|&j| !gated(&jobs[j])).collect();
        let subset: Vec<Job> = picked.iter().map(|&j| jobs[j].clone()).collect();
        let results = run_jobs(&rt.interpreter, &subset);
        for (&j, outs) in picked.iter().zip(&results) {
            for ((program, theirs), ours) in jobs[j].programs.iter().zip(outs).zip(&primary[j]) {
                row.run += 1;
                let headers = (
                    format!("Python {p_version} (`python`)"),
                    format!("Python {version} (matrix: {})", rt.spec),
                );
                match program.id.origin {
                    Origin::Snippet => {
                        let Some((file, s)) = book.snippet(&program.id) else {
                            continue;
                        };
                        let verdict = compare(s, ours, theirs, v, limit, &headers);
                        let key = SnippetId {
                            chapter: program.id.chapter,
                            index: program.id.item,
                        };
                        match verdict {
                            Compared::Same => row.same += 1,
                            Compared::Marked => {
                                row.marked += 1;
                                // Each distinct output with the versions that
                                // print it, the primary's first.
                                let variants = found.variants.entry(key).or_insert_with(|| {
                                    vec![(
                                        vec![p_version.clone()],
                                        with_note(&ours.output, ours.truncated, limit),
                                    )]
                                });
                                let output = with_note(&theirs.output, theirs.truncated, limit);
                                match variants.iter_mut().find(|(_, o)| *o == output) {
                                    Some((versions, _)) => versions.push(version.clone()),
                                    None => variants.push((vec![version.clone()], output)),
                                }
                            }
                            Compared::Fails(d) => {
                                row.failing += 1;
                                failed_blocks.insert(program.id);
                                found.diagnostics.push(d.at(file, s.line));
                            }
                        }
                    }
                    Origin::Exercise(x, attempt) => {
                        // A proof must come out the same: a check that passes
                        // on one Python and fails on another grades readers
                        // by their version.
                        let passed = |o: &Outcome| o.exception.is_none() && o.failure.is_none();
                        if passed(ours) == passed(theirs) {
                            row.same += 1;
                        } else {
                            row.failing += 1;
                            failed_blocks.insert(program.id);
                            let what = match attempt {
                                0 => "solution".to_string(),
                                1 => "starter code".to_string(),
                                w => format!("wrong answer {}", w - 1),
                            };
                            found.diagnostics.push(
                                Diagnostic::error(
                                    book.file(program.id.chapter),
                                    program.line,
                                    format!(
                                        "exercise {}: the {what} with its checks {} on Python {version} but {} on Python {p_version}",
                                        x + 1,
                                        if passed(theirs) { "passes" } else { "fails" },
                                        if passed(ours) { "passes" } else { "fails" }
                                    ),
                                )
                                .with_detail(theirs.output.trim_end().to_string())
                                .with_help("make the exercise's checks hold on every Python of the matrix"),
                            );
                        }
                    }
                    Origin::Quiz(q, question) => {
                        let (x, y) = (comparable(&ours.output), comparable(&theirs.output));
                        if x == y && theirs.failure.is_none() {
                            row.same += 1;
                        } else if book.quiz_version_specific(program.id.chapter, q, question) {
                            row.marked += 1;
                        } else {
                            row.failing += 1;
                            failed_blocks.insert(program.id);
                            found.diagnostics.push(
                                Diagnostic::error(
                                    book.file(program.id.chapter),
                                    program.line,
                                    format!(
                                        "the program of quiz question {} prints something else on Python {version} than on Python {p_version}, so its answer key depends on the version",
                                        question + 1
                                    ),
                                )
                                .with_detail(unified_diff(&x, &y, (&headers.0, &headers.1)))
                                .with_help("make the question's program print the same on every Python of the matrix, or mark the question `prompt.versions = \"differ\"` (its answer is then the build's Python's, and the explanation should say so)"),
                            );
                        }
                    }
                }
            }
        }
        found.rows.push(row);
    }
    // A block marked different that printed the same everywhere shows one output.
    found.variants.retain(|_, v| v.len() > 1);
    found.failed = failed_blocks.len();
    found
}

enum Compared {
    Same,
    /// Differs, and the block says so (`versions=differ`, or an output
    /// block of this version that matches).
    Marked,
    Fails(Pending),
}

/// A diagnostic whose place is filled in by the caller.
struct Pending {
    message: String,
    detail: String,
    help: &'static str,
}

impl Pending {
    fn at(self, file: &Path, line: usize) -> Diagnostic {
        Diagnostic::error(file, line, self.message)
            .with_detail(self.detail)
            .with_help(self.help)
    }
}

fn compare(
    s: &Snippet,
    ours: &Outcome,
    theirs: &Outcome,
    v: (u32, u32),
    limit: usize,
    headers: &(String, String),
) -> Compared {
    let version = headers.1.clone();
    if let Some(failure) = &theirs.failure
        && ours.failure.is_none()
    {
        return Compared::Fails(Pending {
            message: format!(
                "this block fails on {version}: {}",
                crate::verify::describe_failure(failure)
            ),
            detail: theirs.output.trim_end().to_string(),
            help: "make it run on every Python of the matrix, or gate it with `min-python=3.X`",
        });
    }
    let shown = with_note(&theirs.output, theirs.truncated, limit);
    // An output block that locks this version's text decides.
    if let Some(locked) = s.version_outputs.iter().find(|o| o.python == Some(v)) {
        return if output_matches(&locked.text, &shown, locked.ellipsis) {
            Compared::Marked
        } else {
            Compared::Fails(Pending {
                message: format!(
                    "the `output,python={}.{}` block does not match what this block prints on {version}",
                    v.0, v.1
                ),
                detail: diff(&locked.text, &shown),
                help: "fix that output block (or remove it to compare with the primary's output)",
            })
        };
    }
    if s.attrs.nondeterministic || matches!(s.skip, Some(Skip::NoRun | Skip::NotMarked)) {
        return Compared::Same;
    }
    let (x, y) = (
        comparable(&with_note(&ours.output, ours.truncated, limit)),
        comparable(&shown),
    );
    if x == y {
        Compared::Same
    } else if s.attrs.versions_differ {
        Compared::Marked
    } else {
        Compared::Fails(Pending {
            message: format!(
                "this block prints something else on {version} than on {}",
                headers.0
            ),
            detail: unified_diff(&x, &y, (&headers.0, &headers.1)),
            help: "mark the block `versions=differ` (the page then shows each version's output), lock a version's text with an ```output,python=3.X block, or gate the block with `min-python=3.X`",
        })
    }
}

/// Resolve the matrix's runtimes: each is a version, a command or a path.
pub fn resolve(
    specs: &[String],
    resolve_one: &dyn Fn(&str) -> Result<Interpreter, String>,
) -> Result<Vec<Runtime>, Vec<Diagnostic>> {
    let mut runtimes = Vec::new();
    let mut errors = Vec::new();
    for spec in specs {
        match execute::interpreter::locate(spec).and_then(|cmd| resolve_one(&cmd)) {
            Ok(interpreter) => runtimes.push(Runtime {
                spec: spec.clone(),
                interpreter,
            }),
            Err(e) => errors.push(
                Diagnostic::error("book.toml", 0, format!("`matrix` runtime `{spec}`: {e}"))
                    .with_help("install it (`pyenv install 3.X` or `uv python install 3.X`), give its path, or take it out of `matrix` in [preprocessor.python]"),
            ),
        }
    }
    if errors.is_empty() {
        Ok(runtimes)
    } else {
        Err(errors)
    }
}

/// The table `check` ends with: the primary, then each runtime.
pub fn table(primary: &Row, rows: &[Row]) -> String {
    let head = [
        "runtime",
        "version",
        "run",
        "same as primary",
        "marked different",
        "failing",
    ];
    let mut lines: Vec<[String; 6]> = vec![head.map(String::from)];
    for r in std::iter::once(primary).chain(rows) {
        lines.push([
            r.runtime.clone(),
            r.version.clone(),
            r.run.to_string(),
            r.same.to_string(),
            r.marked.to_string(),
            r.failing.to_string(),
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    lines
        .iter()
        .map(|l| {
            l.iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}"))
                .collect::<Vec<_>>()
                .join("  ")
                .trim_end()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n")
}
