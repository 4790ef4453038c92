//! Exercises whose grader is proven at build time. An exercise is a group
//! of fenced blocks sharing a name: the starter code the reader edits
//! (```` ```python,exercise=NAME ````), its checks (`check=NAME`, run after
//! the reader's code in the same namespace), a model solution
//! (`solution=NAME`), optional plausible wrong answers (`wrong=NAME`) and
//! hints (```` ```hint,exercise=NAME ````, Markdown). This module groups the
//! blocks (planning), makes the proof jobs (the solution, the starter and
//! each wrong answer, each followed by the checks) and judges their
//! outcomes: the solution must pass every check, the starter and every
//! wrong answer must fail one. The page then offers Check, hints and the
//! solution (render), and the browser grades the reader's code with the
//! same checks.

use crate::diagnostics::Diagnostic;
use crate::execute::Outcome;
use crate::plan::{Job, Mode, Origin, Program, ProgramId};
use std::path::Path;

/// The role of a block in an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Starter,
    Check,
    Solution,
    Wrong,
    Hint,
}

impl Part {
    pub fn attribute(self) -> &'static str {
        match self {
            Part::Starter | Part::Hint => "exercise",
            Part::Check => "check",
            Part::Solution => "solution",
            Part::Wrong => "wrong",
        }
    }
}

/// One block of an exercise, as planning found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Block {
    pub part: Part,
    pub name: String,
    /// Index into the chapter's fences.
    pub fence: usize,
    /// The code (hidden lines included, their prefix removed) or, for a
    /// hint, its Markdown.
    pub text: String,
    /// 1-based line of the block's first line of code.
    pub line: usize,
}

/// An exercise: its blocks, checked to be complete.
#[derive(Debug, Clone, PartialEq)]
pub struct Exercise {
    pub name: String,
    /// The starter's snippet index in the chapter plan.
    pub snippet: usize,
    pub starter: Block,
    pub checks: Vec<Block>,
    pub solution: Block,
    pub wrongs: Vec<Block>,
    pub hints: Vec<Block>,
    /// The starter's stdin, which every proof reads too.
    pub stdin: Option<String>,
    pub timeout: f64,
}

impl Exercise {
    /// The attempts a proof runs, in order: the solution, the starter, then
    /// each wrong answer (`Origin::Exercise`'s attempt index).
    pub fn attempts(&self) -> impl Iterator<Item = &Block> {
        [&self.solution, &self.starter]
            .into_iter()
            .chain(&self.wrongs)
    }

    /// The checks as one program (they run together, in order).
    pub fn check_code(&self) -> String {
        self.checks
            .iter()
            .map(|c| c.text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Group a chapter's exercise blocks by name. `starters` are the starter
/// blocks with their snippet index, timeout and stdin.
pub fn assemble(
    file: &Path,
    blocks: Vec<Block>,
    starters: Vec<(Block, usize, f64, Option<String>)>,
) -> (Vec<Exercise>, Vec<Diagnostic>) {
    let mut exercises = Vec::new();
    let mut errors = Vec::new();
    let mut names: Vec<&str> = starters.iter().map(|(b, ..)| b.name.as_str()).collect();
    names.sort();
    for pair in names.windows(2).filter(|w| w[0] == w[1]) {
        let second = starters.iter().filter(|(b, ..)| b.name == pair[0]).nth(1);
        if let Some((b, ..)) = second {
            errors.push(
                Diagnostic::error(
                    file,
                    b.line.saturating_sub(1),
                    format!("a second starter block for exercise `{}`", b.name),
                )
                .with_help(
                    "an exercise has one ```python,exercise=NAME block; give this one another name",
                ),
            );
        }
    }
    for b in &blocks {
        if !starters.iter().any(|(s, ..)| s.name == b.name) {
            errors.push(
                Diagnostic::error(file, b.line.saturating_sub(1), format!("`{}={}` names no exercise of this chapter", b.part.attribute(), b.name))
                    .with_help(format!("add the starter code as a ```python,exercise={} block in this chapter, or fix the name", b.name)),
            );
        }
    }
    for (starter, snippet, timeout, stdin) in starters {
        let of = |part: Part| -> Vec<Block> {
            blocks
                .iter()
                .filter(|b| b.part == part && b.name == starter.name)
                .cloned()
                .collect()
        };
        let (checks, mut solutions) = (of(Part::Check), of(Part::Solution));
        let at = starter.line.saturating_sub(1);
        if checks.is_empty() {
            errors.push(
                Diagnostic::error(file, at, format!("exercise `{}` has no checks", starter.name))
                    .with_help(format!("add a ```python,check={} block: asserts, run after the reader's code, with a message each (`assert f(2) == 4, \"f(2) should be 4\"`)", starter.name)),
            );
            continue;
        }
        if solutions.len() != 1 {
            errors.push(
                Diagnostic::error(file, at, format!("exercise `{}` needs exactly one solution block, not {}", starter.name, solutions.len()))
                    .with_help(format!("add one ```python,solution={} block: the build proves that it passes every check", starter.name)),
            );
            continue;
        }
        exercises.push(Exercise {
            name: starter.name.clone(),
            snippet,
            checks,
            solution: solutions.remove(0),
            wrongs: of(Part::Wrong),
            hints: of(Part::Hint),
            starter,
            stdin,
            timeout,
        });
    }
    (exercises, errors)
}

/// The proof jobs of exercise `index` of `chapter`: the solution, the
/// starter, then each wrong answer, each followed by the checks in the same
/// namespace. `Origin::Exercise(index, k)`: k = 0 solution, 1 starter,
/// 2.. the wrong answers.
pub fn jobs(chapter: usize, index: usize, ex: &Exercise, file: &Path, limit: usize) -> Vec<Job> {
    ex.attempts()
        .enumerate()
        .map(|(k, attempt)| {
            let program = |code: &str, line: usize, stdin: Option<String>| Program {
                id: ProgramId {
                    chapter,
                    item: index,
                    origin: Origin::Exercise(index, k),
                },
                mode: Mode::Exec,
                code: code.to_string(),
                file: file.to_path_buf(),
                line,
                stdin,
                timeout: ex.timeout,
                limit,
                inline: false,
            };
            Job {
                programs: vec![
                    program(&attempt.text, attempt.line, ex.stdin.clone()),
                    program(&ex.check_code(), ex.checks[0].line, None),
                ],
            }
        })
        .collect()
}

/// How one attempt fared against the checks: `None` when it passed them
/// all, else why not (the first exception's name and message).
pub fn failed(outcomes: &[Outcome]) -> Option<String> {
    outcomes.iter().find_map(|o| {
        if let Some(e) = &o.exception {
            Some(format!(
                "{}: {}",
                e.name,
                e.message.lines().next().unwrap_or("")
            ))
        } else {
            o.failure.as_ref().map(crate::verify::describe_failure)
        }
    })
}

/// Judge the proof outcomes of an exercise (in `jobs`' order).
pub fn verify(file: &Path, ex: &Exercise, proofs: &[Vec<Outcome>]) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    let output = |k: usize| {
        proofs
            .get(k)
            .map(|outs| outs.iter().map(|o| o.output.as_str()).collect::<String>())
            .unwrap_or_default()
    };
    // A proof counts only when the worker answered: a wrong answer must
    // fail its checks, not the protocol.
    for (attempt, outs) in ex.attempts().zip(proofs) {
        for o in outs {
            if let Some(crate::execute::Failure::Worker(why)) = &o.failure {
                errors.push(
                    Diagnostic::error(
                        file,
                        attempt.line.saturating_sub(1),
                        format!(
                            "the proof of exercise `{}` could not be judged: {why}",
                            ex.name
                        ),
                    )
                    .with_help(
                        "this is a fault of mdbook-python, not of the book: please report it",
                    ),
                );
                return errors;
            }
        }
    }
    if let Some(why) = proofs.first().and_then(|o| failed(o)) {
        errors.push(
            Diagnostic::error(file, ex.solution.line.saturating_sub(1), format!("the solution of exercise `{}` fails its checks: {why}", ex.name))
                .with_detail(output(0).trim_end().to_string())
                .with_help("fix the solution, or the check it fails: a reader who types the model solution must be told it is right"),
        );
    }
    if proofs.get(1).is_some_and(|o| failed(o).is_none()) {
        errors.push(
            Diagnostic::error(file, ex.starter.line.saturating_sub(1), format!("the starter code of exercise `{}` already passes every check", ex.name))
                .with_help("make the checks demand what the exercise asks (a reader who presses Check without changing anything must not be told they solved it)"),
        );
    }
    for (w, wrong) in ex.wrongs.iter().enumerate() {
        if proofs.get(2 + w).is_some_and(|o| failed(o).is_none()) {
            errors.push(
                Diagnostic::error(
                    file,
                    wrong.line.saturating_sub(1),
                    format!(
                        "this wrong answer to exercise `{}` passes every check",
                        ex.name
                    ),
                )
                .with_help(
                    "add a check that this answer fails: it is the mistake the exercise is about",
                ),
            );
        }
    }
    errors
}
