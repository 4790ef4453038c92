//! Quizzes: the chapter-end quiz widgets, in mdbook-quiz's TOML format.
//!
//! This module owns everything about a quiz except finding it in a chapter and
//! running Python: parsing and validating the TOML (`{{#quiz file.toml}}` files
//! and inline ```` ```quiz ```` blocks hold the same format), naming the Python
//! `Tracing` programs the pipeline must execute, checking the author's written
//! answers against those runs, and rendering the widget (one line of HTML with a
//! no-JavaScript fallback) or, for other renderers, plain Markdown. Its
//! browser half is `front-end/quiz.js` and `front-end/quiz.css`.
//!
//! The format is mdbook-quiz's (`crates/mdbook-quiz-schema`), accepted as is:
//! a top-level `[[questions]]` array and an optional `[multipart]` table;
//! question types `MultipleChoice` (`prompt.prompt`, `prompt.distractors`,
//! `prompt.answerIndex`, `prompt.sortAnswers`, `answer.answer` as a string or
//! an array), `ShortAnswer` (`prompt.prompt`, `prompt.response`,
//! `answer.answer`, `answer.alternatives`) and `Tracing` (`prompt.program`,
//! `answer.doesCompile`, `answer.stdout`, `answer.lineNumber`); each with
//! optional `id`, `context`, `multipart` and `promptExplanation`. Two
//! additions, both optional: `prompt.language` (a `Tracing` program is Python
//! unless this names another language; a program written as one fenced code
//! block, ```` ```rust ````, says the same) and, for Python, `answer.exception`
//! (`"ZeroDivisionError"` or `"ZeroDivisionError: division by zero"`).
//!
//! For a Python `Tracing` question, `doesCompile = false` means "the program
//! raises an exception": the key (what it prints, or the exception it raises and
//! the line) comes from CPython, so `answer` may be left out; when the author
//! wrote it, [`verify`] reports every difference.

mod markdown;
mod parse;
mod render;
mod schema;
mod verify;

use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostic;

pub use render::Labels;
pub use schema::{
    Kind, MultipleChoice, Question, Quiz, Response, ShortAnswer, Tracing, TracingAnswer,
};

/// The TOML text of one quiz and where it comes from.
pub struct QuizSource<'a> {
    /// The TOML text.
    pub toml: &'a str,
    /// The file to name in diagnostics (the quiz .toml file, or the chapter for
    /// inline quizzes), relative to the book root.
    pub file: PathBuf,
    /// 1-based line in `file` of the first TOML line (1 for a .toml file; the
    /// fence line + 1 for an inline ```` ```quiz ```` block).
    pub first_line: usize,
}

/// Parse and validate a quiz. On failure, every problem found, each with file,
/// line and column. Warnings (unknown keys) are kept in [`Quiz::warnings`].
pub fn parse(src: &QuizSource) -> Result<Quiz, Vec<Diagnostic>> {
    parse::parse(src, "python")
}

/// [`parse`], with the language of `Tracing` programs that name none
/// (`quiz-language` in `[preprocessor.python]`).
pub(crate) fn parse_in(src: &QuizSource, default_language: &str) -> Result<Quiz, Vec<Diagnostic>> {
    parse::parse(src, default_language)
}

/// A Python `Tracing` program the pipeline must execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracingProgram {
    /// 0-based index of the question in [`Quiz::questions`].
    pub question: usize,
    /// The program as CPython must run it (mdbook-quiz's `` `[ `` … `` ]` ``
    /// highlight markers removed).
    pub code: String,
    /// The file that holds the program (the quiz file, or the chapter).
    pub file: PathBuf,
    /// Line in `file` of the program's first line.
    pub line: usize,
}

/// The result of running one [`TracingProgram`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracingRun {
    /// 0-based index of the question in [`Quiz::questions`] (as in [`TracingProgram::question`]).
    pub question: usize,
    /// Everything the program wrote to stdout (before the exception, if it raised).
    pub stdout: String,
    /// The exception that ended the program, if any.
    pub exception: Option<RaisedException>,
}

/// An exception a program raised and did not catch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedException {
    /// The exception's class name, e.g. `ZeroDivisionError`.
    pub name: String,
    /// `str(exception)`, e.g. `division by zero` (may be empty).
    pub message: String,
    /// 1-based line in the program where it was raised.
    pub line: Option<usize>,
}

impl Quiz {
    /// The Python `Tracing` programs to execute, in question order.
    pub fn python_programs(&self) -> Vec<TracingProgram> {
        self.questions
            .iter()
            .enumerate()
            .filter_map(|(i, q)| match &q.kind {
                Kind::Tracing(t) if t.is_python() => Some(TracingProgram {
                    question: i,
                    code: t.program.clone(),
                    file: self.file.clone(),
                    line: t.program_line,
                }),
                _ => None,
            })
            .collect()
    }

    /// A short hex digest of the quiz's content (questions, choices, answers,
    /// explanations; not its formatting or position). It changes whenever the
    /// content changes, so saved progress of a changed quiz is discarded.
    pub fn content_hash(&self) -> String {
        schema::content_hash(self)
    }
}

/// Compare the author's written answers with the runs; a Diagnostic (with a
/// unified diff from the `similar` crate in `detail`) per mismatch.
/// Each question's run, found in one pass (a search per question made
/// rendering quadratic in the number of questions).
pub(crate) fn runs_by_question(
    runs: &[TracingRun],
) -> std::collections::HashMap<usize, &TracingRun> {
    runs.iter().map(|r| (r.question, r)).collect()
}

pub fn verify(quiz: &Quiz, runs: &[TracingRun]) -> Vec<Diagnostic> {
    verify::verify(quiz, runs)
}

/// One line of HTML (no '\n': newlines inside <pre> as `&#10;`), the quiz
/// widget with its no-JS fallback. `key` is unique per quiz in the book (the
/// lead passes "<chapter path>#quiz<N>").
pub fn render_html(quiz: &Quiz, runs: &[TracingRun], key: &str, labels: &Labels) -> String {
    render::html(quiz, runs, key, labels)
}

/// For renderers other than html: plain Markdown, questions then an "Answers"
/// list at the end.
pub fn render_markdown(quiz: &Quiz, runs: &[TracingRun]) -> String {
    render::markdown(quiz, runs, &Labels::default())
}

/// Like [`render_markdown`], with translated labels.
pub fn render_markdown_with(quiz: &Quiz, runs: &[TracingRun], labels: &Labels) -> String {
    render::markdown(quiz, runs, labels)
}

/// Question ids must be unique across the whole book (mdbook-quiz checks them
/// book-wide). Pass every quiz of the book, in page order; a quiz file
/// included twice is checked once. One error per repeated id.
pub fn check_unique_ids(quizzes: &[&Quiz]) -> Vec<Diagnostic> {
    parse::check_unique_ids(quizzes)
}

/// The error for a `{{#quiz path}}` whose file cannot be read: `file`, `line`
/// and `column` locate the directive, `quiz_path` is the path as written.
pub fn unreadable_file(
    file: impl Into<PathBuf>,
    line: usize,
    column: usize,
    quiz_path: &Path,
    error: &std::io::Error,
) -> Diagnostic {
    let message = if error.kind() == std::io::ErrorKind::NotFound {
        format!("quiz file \"{}\" not found", quiz_path.display())
    } else {
        format!("cannot read quiz file \"{}\": {error}", quiz_path.display())
    };
    Diagnostic::error(file, line, message)
        .with_column(column)
        .with_help("the path is relative to the chapter's file")
}
