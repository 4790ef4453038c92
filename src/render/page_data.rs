//! The page data: every record the build writes into a page for the front
//! end to read, as one Rust type each, serialized with serde. This module
//! owns the JSON's shape (its keys, which fields are left out when they hold
//! their default, and their order); `render` and `quiz::render` fill the
//! records, `html.rs` and `quiz::render` put them into attributes, and
//! `assets.rs` the config prelude. The front end mirrors each type with a
//! JSDoc `@typedef` of the same name in the file that reads it
//! (`front-end/runner.js`, `front-end/quiz.js`), type-checked by `tsc` in
//! `tests/browser/typecheck.test.mjs`: a field renamed here must be renamed
//! there. Keys are short where a record is repeated for every block of a
//! book (`l`, `h`, `o`), and fields at their default are not written.

use serde::{Serialize, Serializer};

/// `window.MDPY_CONFIG`, the bundle's prelude (one per book): read by
/// `runner.js` (`CFG`) and `quiz.js` (`quizLabels`). JS: `MdpyConfig`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Config<'a> {
    /// Where Pyodide is, absolute or relative to the book's root
    /// (`pyodide-url`): runner.js loads `pyodide.mjs` from it.
    pub pyodide_url: &'a str,
    /// `output-limit` in bytes: runner.js sends it with every run.
    pub output_limit: usize,
    /// Every label of the runner, translated where the book translates it
    /// (runner.js, `L`; `assets::RUNNER_LABELS`).
    pub labels: std::collections::BTreeMap<&'static str, String>,
    /// Every text of the quiz widget (quiz.js, `L`).
    pub quiz_labels: &'a crate::quiz::Labels,
    /// `svg` or `png`: the format of figures in the browser (the worker's `fmt`).
    pub figure_format: &'a str,
    /// book.toml's `packages`: Pyodide package names and wheel URLs the
    /// worker installs before the first run of a page that needs them.
    pub packages: &'a [String],
}

/// The `data-mdpy` attribute of a chapter's hidden `div.mdpy-chapter`: what
/// `runner.js` needs of every Python block of the chapter, in page order
/// (runner.js `init`). JS: `MdpyChapter`.
#[derive(Debug, Serialize)]
pub struct Chapter<'a> {
    /// The chapter's source path (`src/` relative): the prefix of every
    /// block's key, which names saved edits (`mdpy:edit:<src>#<hash>`).
    pub src: &'a str,
    /// The chapter's file as the build names it in tracebacks: the file
    /// name the browser compiles each block under.
    pub file: String,
    /// The build's Python, `3.11`: labels name it.
    pub py: &'a str,
    /// One entry per runnable block (pycon blocks have none), in page order:
    /// runner.js pairs the n-th `code.language-python` with the n-th.
    pub s: Vec<Snippet>,
}

/// One Python block's entry in [`Chapter::s`]: only what differs from the
/// default (`{"l":7}` is a plain block at line 7 whose output block follows
/// it). The code is not repeated: runner.js reads it from the page's own
/// code block. JS: `MdpySnippet` (runner.js, `Block` and `gather`).
#[derive(Debug, Default, Serialize)]
pub struct Snippet {
    /// The block's index among the chapter's Python blocks, pycon ones
    /// included, when it is not its position in `s` (not read by runner.js:
    /// it names the block for the build's own checks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub i: Option<usize>,
    /// The file an `{{#include}}` brought the code from, when not the
    /// chapter's: runner.js compiles the block under this name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub f: Option<String>,
    /// The line of the code's first line in its file (`f`, else the
    /// chapter): runner.js sends it as the run's `line`, so tracebacks name
    /// the lines the build's do.
    pub l: usize,
    /// The `session=` the block belongs to: runner.js replays the session's
    /// earlier blocks first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The block's attached stdin (LF line ends): runner.js fills the Input
    /// box with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// The block's `raises=`: a session replay goes on past it when it fails
    /// (runner.js, `go`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raises: Option<String>,
    /// The exercise the block is the starter of: runner.js adds Check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ex: Option<Exercise>,
    /// The block has no runner in the browser (`nobrowser`, `norun`, not
    /// marked): written as `"browser":false`.
    #[serde(
        rename = "browser",
        skip_serializing_if = "not",
        serialize_with = "as_false"
    )]
    pub no_browser: bool,
    /// `browser=differs`: the browser's output is expected to differ
    /// (written as `true`; not read by runner.js, the note is in the HTML).
    #[serde(skip_serializing_if = "not")]
    pub differs: bool,
    /// The code imports a module outside the standard library: runner.js
    /// asks the worker for the book's `packages` (written as `true`).
    #[serde(skip_serializing_if = "not")]
    pub packages: bool,
    /// The block has a `div.mdpy-snippet` of HTML built for it (figures,
    /// notes, warnings) instead of plain text blocks to gather (written as
    /// `1`; runner.js `gather`).
    #[serde(skip_serializing_if = "not", serialize_with = "as_one")]
    pub h: bool,
    /// No output block follows the code (written as `"o":0`; runner.js
    /// `gather`).
    #[serde(rename = "o", skip_serializing_if = "not", serialize_with = "as_zero")]
    pub no_output: bool,
    /// The output block's text had no final line break (a fenced block
    /// always gets one): runner.js takes it off again (written as `1`).
    #[serde(skip_serializing_if = "not", serialize_with = "as_one")]
    pub nonl: bool,
    /// The output block is the author's, shown as written (the build did
    /// not run the block): runner.js labels it so (written as `1`).
    #[serde(rename = "a", skip_serializing_if = "not", serialize_with = "as_one")]
    pub author: bool,
}

/// [`Snippet::ex`]: an exercise's starter block. JS: `MdpyExercise`
/// (runner.js, `exercise`).
#[derive(Debug, Serialize)]
pub struct Exercise {
    /// The exercise's name (`exercise=`): part of the key under which
    /// runner.js remembers it solved.
    pub name: String,
    /// The checks' code, run after the reader's in the same namespace.
    pub check: String,
    /// How many hints the page holds for it (not read by runner.js, which
    /// finds the hints' `details` after the block).
    pub hints: usize,
}

/// The `data-mdpy-quiz` attribute of a `div.mdpy-quiz`: the answer keys,
/// which never appear in the page's text. JS: `MdpyQuiz` (quiz.js, `init`).
#[derive(Debug, Serialize)]
pub struct Quiz<'a> {
    /// The quiz's key (its file): progress is saved as `mdpy-quiz:<key>`.
    pub key: &'a str,
    /// The quiz's content hash: saved progress of other questions is dropped.
    pub hash: String,
    /// One per `li.mdpy-quiz-q`, in order.
    pub questions: Vec<Question>,
}

/// One question's key in [`Quiz::questions`]. JS: `MdpyQuestion` (quiz.js,
/// `build`, `feedback`).
#[derive(Debug, Serialize)]
pub struct Question {
    /// What kind, and how to grade it (`t`: `mc`, `sa`, `tr`).
    #[serde(flatten)]
    pub kind: Grading,
    /// The multipart group: quiz.js copies the group's context into the
    /// later parts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    /// The right answer, as HTML shown after an answer.
    pub answer: String,
    /// The explanation, as HTML shown after an answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// How quiz.js grades a question, by kind (`t`).
#[derive(Debug, Serialize)]
#[serde(tag = "t")]
pub enum Grading {
    /// Multiple choice.
    #[serde(rename = "mc")]
    Choice {
        /// Several answers may be right: check boxes, not radio buttons.
        multi: bool,
        /// The indexes of the right choices, in page order.
        correct: Vec<usize>,
    },
    /// A typed answer.
    #[serde(rename = "sa")]
    Short {
        /// The accepted answers, trimmed and lower-cased.
        accept: Vec<String>,
        /// The answer box.
        response: AnswerBox,
    },
    /// What a program does: whether it runs to the end, and its output or
    /// exception.
    #[serde(rename = "tr")]
    Tracing {
        /// A Python program: the choice is runs/raises (else
        /// compiles/does not compile), and the exception's name counts.
        py: bool,
        #[serde(flatten)]
        key: TracingKey,
    },
}

/// [`Grading::Short`]'s box: one line, several, or code (monospace).
#[derive(Debug, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerBox {
    Short,
    Long,
    Code,
}

/// [`Grading::Tracing`]'s key, when the build knows it.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum TracingKey {
    Known {
        /// The program runs to the end.
        runs: bool,
        /// What it prints (normalised as the build compares output);
        /// `null` when not known.
        stdout: Option<String>,
        /// The exception's name, when it raises one.
        exc: Option<String>,
    },
    /// Nothing to grade against: any answer counts.
    Unknown {
        /// Always `true`.
        unknown: bool,
    },
}

fn not(b: &bool) -> bool {
    !b
}

fn as_one<S: Serializer, T>(_: &T, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(1)
}

fn as_zero<S: Serializer>(_: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u8(0)
}

fn as_false<S: Serializer>(_: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(false)
}

/// A record as the JSON the front end reads (these types cannot fail to
/// serialize: no maps with non-string keys, no floats).
pub fn to_json<T: Serialize>(record: &T) -> String {
    serde_json::to_string(record).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_left_out_and_flags_are_compact() {
        assert_eq!(
            to_json(&Snippet {
                l: 7,
                ..Default::default()
            }),
            r#"{"l":7}"#
        );
        let all = Snippet {
            i: Some(2),
            f: Some("src/x.py".into()),
            l: 1,
            session: Some("s".into()),
            stdin: Some("a\n".into()),
            raises: Some("ValueError".into()),
            ex: Some(Exercise {
                name: "e".into(),
                check: "assert f()\n".into(),
                hints: 1,
            }),
            no_browser: true,
            differs: true,
            packages: true,
            h: true,
            no_output: true,
            nonl: true,
            author: true,
        };
        assert_eq!(
            to_json(&all),
            concat!(
                r#"{"i":2,"f":"src/x.py","l":1,"session":"s","stdin":"a\n","raises":"ValueError","#,
                r#""ex":{"name":"e","check":"assert f()\n","hints":1},"browser":false,"differs":true,"#,
                r#""packages":true,"h":1,"o":0,"nonl":1,"a":1}"#
            )
        );
    }

    #[test]
    fn quiz_questions_keep_their_keys_in_order() {
        let q = |kind, part: Option<&str>, context: Option<&str>| Question {
            kind,
            part: part.map(Into::into),
            answer: "<p>A</p>".into(),
            context: context.map(Into::into),
        };
        let quiz = Quiz {
            key: "q.toml",
            hash: "h".into(),
            questions: vec![
                q(
                    Grading::Choice {
                        multi: false,
                        correct: vec![1],
                    },
                    Some("p"),
                    Some("<p>C</p>"),
                ),
                q(
                    Grading::Short {
                        accept: vec!["x".into()],
                        response: AnswerBox::Code,
                    },
                    None,
                    None,
                ),
                q(
                    Grading::Tracing {
                        py: true,
                        key: TracingKey::Known {
                            runs: false,
                            stdout: None,
                            exc: Some("KeyError".into()),
                        },
                    },
                    None,
                    None,
                ),
                q(
                    Grading::Tracing {
                        py: false,
                        key: TracingKey::Unknown { unknown: true },
                    },
                    None,
                    None,
                ),
            ],
        };
        assert_eq!(
            to_json(&quiz),
            concat!(
                r#"{"key":"q.toml","hash":"h","questions":["#,
                r#"{"t":"mc","multi":false,"correct":[1],"part":"p","answer":"<p>A</p>","context":"<p>C</p>"},"#,
                r#"{"t":"sa","accept":["x"],"response":"code","answer":"<p>A</p>"},"#,
                r#"{"t":"tr","py":true,"runs":false,"stdout":null,"exc":"KeyError","answer":"<p>A</p>"},"#,
                r#"{"t":"tr","py":false,"unknown":true,"answer":"<p>A</p>"}]}"#
            )
        );
    }
}
