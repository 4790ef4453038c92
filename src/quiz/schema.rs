//! The parsed quiz: mdbook-quiz's schema, with the source positions the
//! diagnostics need.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::diagnostics::Diagnostic;

/// A parsed, valid quiz.
#[derive(Debug, Clone, PartialEq)]
pub struct Quiz {
    /// The file diagnostics name (the .toml file, or the chapter).
    pub file: PathBuf,
    /// The questions, in file order.
    pub questions: Vec<Question>,
    /// mdbook-quiz's `[multipart]`: shared Markdown context by key.
    pub multipart: BTreeMap<String, String>,
    /// Non-fatal problems (unknown keys), for the caller to print.
    pub warnings: Vec<Diagnostic>,
}

/// One question.
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    /// Line in [`Quiz::file`] where the question starts (its `[[questions]]`).
    pub line: usize,
    /// `id`, and the line it is on.
    pub id: Option<(String, usize)>,
    /// `multipart`: the key of the shared context in [`Quiz::multipart`].
    pub multipart: Option<String>,
    /// `context`: Markdown explaining the answer, shown once answered.
    pub context: Option<String>,
    /// `promptExplanation` (telemetry in mdbook-quiz; accepted and ignored).
    pub prompt_explanation: bool,
    /// The type-specific part.
    pub kind: Kind,
}

/// The question types.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    MultipleChoice(MultipleChoice),
    ShortAnswer(ShortAnswer),
    Tracing(Tracing),
}

impl Kind {
    /// The `type` name in the TOML.
    pub fn name(&self) -> &'static str {
        match self {
            Kind::MultipleChoice(_) => "MultipleChoice",
            Kind::ShortAnswer(_) => "ShortAnswer",
            Kind::Tracing(_) => "Tracing",
        }
    }
}

/// `type = "MultipleChoice"`.
#[derive(Debug, Clone, PartialEq)]
pub struct MultipleChoice {
    /// `prompt.prompt` (Markdown).
    pub prompt: String,
    /// `prompt.distractors` (Markdown each).
    pub distractors: Vec<String>,
    /// `answer.answer`, always as a list.
    pub answers: Vec<String>,
    /// `answer.answer` was an array: the reader selects every correct choice
    /// (checkboxes), even when the array has one element.
    pub multiple: bool,
    /// `prompt.answerIndex`: keep the distractors in order, answers at this index.
    pub answer_index: Option<usize>,
    /// `prompt.sortAnswers`: choices sorted by their text.
    pub sort_answers: bool,
}

impl MultipleChoice {
    /// The choices in display order, each with whether it is correct.
    /// mdbook-quiz orders them like this: with `answerIndex`, the distractors
    /// in order with the answers inserted at that index; with `sortAnswers`,
    /// sorted by text; otherwise shuffled. Here the shuffle is deterministic
    /// (seeded by the question's content), so every build and every reader
    /// sees the same order, and the page without JavaScript matches.
    pub fn choices(&self) -> Vec<(&str, bool)> {
        let answers = self.answers.iter().map(|a| (a.as_str(), true));
        let distractors = self.distractors.iter().map(|d| (d.as_str(), false));
        if let Some(index) = self.answer_index {
            let mut choices: Vec<_> = distractors.collect();
            let at = index.min(choices.len());
            choices.splice(at..at, answers);
            return choices;
        }
        let mut choices: Vec<_> = answers.chain(distractors).collect();
        if self.sort_answers {
            choices.sort_by(|a, b| a.0.cmp(b.0));
            return choices;
        }
        // Fisher-Yates with a generator seeded by the content.
        let mut seed = blake3::Hasher::new();
        for (text, correct) in &choices {
            seed.update(&[*correct as u8]);
            seed.update(text.as_bytes());
            seed.update(&[0]);
        }
        seed.update(self.prompt.as_bytes());
        let mut bytes = seed.finalize_xof();
        for i in (1..choices.len()).rev() {
            let mut word = [0u8; 8];
            bytes.fill(&mut word);
            let j = (u64::from_le_bytes(word) % (i as u64 + 1)) as usize;
            choices.swap(i, j);
        }
        choices
    }
}

/// `prompt.response` of a `ShortAnswer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// A one-line input (the default).
    Short,
    /// A multi-line text area.
    Long,
    /// A multi-line text area in a monospace font.
    Code,
}

/// `type = "ShortAnswer"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShortAnswer {
    /// `prompt.prompt` (Markdown).
    pub prompt: String,
    /// `prompt.response`.
    pub response: Response,
    /// `answer.answer`.
    pub answer: String,
    /// `answer.alternatives`.
    pub alternatives: Vec<String>,
}

impl ShortAnswer {
    /// Every accepted answer, normalized as the widget compares them (trimmed,
    /// lowercase: mdbook-quiz's comparison).
    pub fn accepted(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for a in std::iter::once(&self.answer).chain(&self.alternatives) {
            let n = a.trim().to_lowercase();
            if !out.contains(&n) {
                out.push(n);
            }
        }
        out
    }
}

/// `type = "Tracing"`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tracing {
    /// `prompt.program`, as it runs (highlight markers removed, a fence unwrapped).
    pub program: String,
    /// Byte ranges of `program` that mdbook-quiz's `` `[ `` … `` ]` `` markers highlight.
    pub marks: Vec<std::ops::Range<usize>>,
    /// The program's language, lowercase: `prompt.language`, else the fence's,
    /// else the book's `quiz-language` (`python`).
    pub language: String,
    /// Line in the quiz file of the program's first line.
    pub program_line: usize,
    /// The author's `answer`, if written (required unless the program is Python).
    pub answer: Option<TracingAnswer>,
    /// `prompt.versions = "differ"`: the key is the build's Python's; the
    /// runtime matrix may print something else.
    pub version_specific: bool,
}

impl Tracing {
    /// Whether the program is Python (and so is executed at build time).
    pub fn is_python(&self) -> bool {
        is_python(&self.language)
    }
}

pub(crate) fn is_python(language: &str) -> bool {
    matches!(language, "python" | "py" | "python3" | "py3")
}

/// The author's `answer` of a `Tracing` question.
#[derive(Debug, Clone, PartialEq)]
pub struct TracingAnswer {
    /// `answer.doesCompile`: for Python, true when the program runs to the end
    /// and false when it raises.
    pub does_compile: bool,
    /// Line of `answer.doesCompile` (or of the `answer` table).
    pub line: usize,
    /// `answer.stdout` and its line: what the program prints (for a raising
    /// Python program, what it prints before raising).
    pub stdout: Option<(String, usize)>,
    /// `answer.lineNumber` and its line: where the error is.
    pub line_number: Option<(usize, usize)>,
    /// `answer.exception` and its line: `Name` or `Name: message` (Python only).
    pub exception: Option<(String, usize)>,
}

/// Removes mdbook-quiz's `` `[ `` … `` ]` `` highlight markers from `text`,
/// returning the plain text and the highlighted byte ranges. Text without a
/// balanced pair of markers is returned as is.
pub(crate) fn extract_marks(text: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let mut out = String::with_capacity(text.len());
    let mut marks = Vec::new();
    let mut open: Option<usize> = None;
    let mut rest = text;
    while !rest.is_empty() {
        if open.is_none() && rest.starts_with("`[") && rest[2..].contains("]`") {
            open = Some(out.len());
            rest = &rest[2..];
        } else if let (Some(start), true) = (open, rest.starts_with("]`")) {
            marks.push(start..out.len());
            open = None;
            rest = &rest[2..];
        } else {
            let Some(c) = rest.chars().next() else { break };
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    (out, marks)
}

pub(crate) fn content_hash(quiz: &Quiz) -> String {
    let mut h = blake3::Hasher::new();
    let mut field = |s: &str| {
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for (k, v) in &quiz.multipart {
        field(k);
        field(v);
    }
    for q in &quiz.questions {
        field(q.kind.name());
        field(q.id.as_ref().map_or("", |(id, _)| id));
        field(q.multipart.as_deref().unwrap_or(""));
        field(q.context.as_deref().unwrap_or("\u{0}"));
        match &q.kind {
            Kind::MultipleChoice(mc) => {
                field(&mc.prompt);
                for (text, correct) in mc.choices() {
                    field(if correct { "+" } else { "-" });
                    field(text);
                }
                field(if mc.multiple { "multi" } else { "single" });
            }
            Kind::ShortAnswer(sa) => {
                field(&sa.prompt);
                field(&format!("{:?}", sa.response));
                field(&sa.answer);
                for a in &sa.alternatives {
                    field(a);
                }
            }
            Kind::Tracing(t) => {
                field(&t.program);
                field(&format!("{:?}", t.marks));
                field(&t.language);
                if let Some(a) = &t.answer {
                    field(&a.does_compile.to_string());
                    field(a.stdout.as_ref().map_or("\u{0}", |(s, _)| s));
                    field(&format!("{:?}", a.line_number.map(|(n, _)| n)));
                    field(a.exception.as_ref().map_or("\u{0}", |(s, _)| s));
                }
            }
        }
    }
    h.finalize().to_hex()[..16].to_string()
}
