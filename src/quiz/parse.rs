//! TOML → [`Quiz`], with every problem located (file, line, column).
//!
//! The TOML is read with `toml::de::DeTable`, which keeps the span of every key
//! and value, and walked by hand so each message can say exactly what is wrong
//! and where.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::QuizSource;
use super::schema::*;
use crate::diagnostics::{Diagnostic, closest};
use crate::scan::Lines;

pub(crate) const TYPES: [&str; 3] = ["MultipleChoice", "ShortAnswer", "Tracing"];

const QUESTION_KEYS: [&str; 7] = [
    "type",
    "id",
    "prompt",
    "answer",
    "context",
    "multipart",
    "promptExplanation",
];
const MC_PROMPT: [&str; 4] = ["prompt", "distractors", "answerIndex", "sortAnswers"];
const MC_ANSWER: [&str; 1] = ["answer"];
const SA_PROMPT: [&str; 2] = ["prompt", "response"];
const SA_ANSWER: [&str; 2] = ["answer", "alternatives"];
const TR_PROMPT: [&str; 3] = ["program", "language", "versions"];
const TR_ANSWER: [&str; 4] = ["doesCompile", "stdout", "lineNumber", "exception"];

type Value<'i> = Spanned<DeValue<'i>>;

struct Cx<'s> {
    src: &'s QuizSource<'s>,
    /// The language of a `Tracing` program that names none.
    default_language: &'s str,
    lines: Lines,
    errors: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Cx<'_> {
    /// (line, column) of a byte offset, in the file: a binary search in the
    /// line table built once per file (a scan from the start per lookup made
    /// parsing quadratic in the number of questions).
    fn pos(&self, offset: usize) -> (usize, usize) {
        let (line, column) = self.lines.position(self.src.toml, offset);
        (self.src.first_line + line - 1, column)
    }

    fn line(&self, span: &Range<usize>) -> usize {
        self.pos(span.start).0
    }

    fn at(&self, span: &Range<usize>, message: impl Into<String>) -> Diagnostic {
        let (line, column) = self.pos(span.start);
        Diagnostic::error(self.src.file.clone(), line, message).with_column(column)
    }

    fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let d = self.at(span, message);
        self.errors.push(d);
    }

    fn error_help(
        &mut self,
        span: &Range<usize>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        let d = self.at(span, message).with_help(help);
        self.errors.push(d);
    }

    /// Warn about keys of `table` not in `known` (mdbook-quiz ignores them
    /// too, but a misspelt key is usually a mistake).
    /// Warn about unknown keys under `prompt.` and `answer.` of a question;
    /// returns the question's name for messages.
    fn unknown_prompt_answer_keys(
        &mut self,
        q: &Q,
        prompt: Option<&DeTable>,
        answer: Option<&DeTable>,
        prompt_keys: &[&str],
        answer_keys: &[&str],
    ) -> String {
        let owner = q.owner();
        if let Some(t) = prompt {
            self.unknown_keys(t, prompt_keys, "prompt.", &owner);
        }
        if let Some(t) = answer {
            self.unknown_keys(t, answer_keys, "answer.", &owner);
        }
        owner
    }

    fn unknown_keys(&mut self, table: &DeTable, known: &[&str], prefix: &str, owner: &str) {
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if known.contains(&name) {
                continue;
            }
            let (line, column) = self.pos(key.span().start);
            let mut d = Diagnostic::warning(
                self.src.file.clone(),
                line,
                format!("unknown field \"{prefix}{name}\" in {owner}, ignored"),
            )
            .with_column(column);
            if let Some(near) = closest(name, known) {
                d = d.with_help(format!("did you mean \"{prefix}{near}\"?"));
            }
            self.warnings.push(d);
        }
    }
}

fn a_type(v: &DeValue) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a datetime",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

fn get<'t, 'i>(table: &'t DeTable<'i>, key: &str) -> Option<&'t Value<'i>> {
    table
        .iter()
        .find(|(k, _)| k.get_ref().as_ref() == key)
        .map(|(_, v)| v)
}

/// The entries of a table in file order (DeTable sorts them by key).
fn in_order<'t, 'i>(table: &'t DeTable<'i>) -> Vec<(&'t str, &'t Value<'i>)> {
    let mut v: Vec<_> = table
        .iter()
        .map(|(k, v)| (k.get_ref().as_ref(), v))
        .collect();
    v.sort_by_key(|(_, v)| v.span().start);
    v
}

/// One question being read: its number, type and table, for messages.
struct Q<'t, 'i> {
    number: usize,
    type_name: &'static str,
    table: &'t DeTable<'i>,
    span: Range<usize>,
    /// Sub-tables present with the wrong type: their fields are not "missing".
    bad: std::cell::RefCell<Vec<String>>,
}

impl<'t, 'i> Q<'t, 'i> {
    fn owner(&self) -> String {
        format!("question {} ({})", self.number, self.type_name)
    }

    /// The sub-table `prompt` or `answer`; None (and an error when it is not a
    /// table) when absent.
    fn sub(&self, cx: &mut Cx, name: &str) -> Option<&'t DeTable<'i>> {
        let v = get(self.table, name)?;
        match v.get_ref() {
            DeValue::Table(t) => Some(t),
            other => {
                self.bad.borrow_mut().push(format!("{name}."));
                cx.error(
                    &v.span(),
                    format!(
                        "the field \"{name}\" of {} must be a table, not {}",
                        self.owner(),
                        a_type(other)
                    ),
                );
                None
            }
        }
    }

    fn missing(&self, cx: &mut Cx, field: &str) {
        if self
            .bad
            .borrow()
            .iter()
            .any(|prefix| field.starts_with(prefix.as_str()))
        {
            return;
        }
        cx.error(
            &self.span,
            format!("{} is missing the field \"{field}\"", self.owner()),
        );
    }

    fn wrong_type(&self, cx: &mut Cx, field: &str, v: &Value, expected: &str) {
        cx.error(
            &v.span(),
            format!(
                "the field \"{field}\" of {} must be {expected}, not {}",
                self.owner(),
                a_type(v.get_ref())
            ),
        );
    }

    fn string(
        &self,
        cx: &mut Cx,
        table: Option<&DeTable>,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<(String, Range<usize>)> {
        let field = format!("{prefix}{key}");
        match table.and_then(|t| get(t, key)) {
            None => {
                if required {
                    self.missing(cx, &field);
                }
                None
            }
            Some(v) => match v.get_ref() {
                DeValue::String(s) => Some((s.to_string(), v.span())),
                _ => {
                    self.wrong_type(cx, &field, v, "a string");
                    None
                }
            },
        }
    }

    fn strings(
        &self,
        cx: &mut Cx,
        table: Option<&DeTable>,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<Vec<(String, Range<usize>)>> {
        let field = format!("{prefix}{key}");
        let v = match table.and_then(|t| get(t, key)) {
            None => {
                if required {
                    self.missing(cx, &field);
                }
                return None;
            }
            Some(v) => v,
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.wrong_type(cx, &field, v, "an array of strings");
            return None;
        };
        let mut out = Vec::new();
        let mut ok = true;
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span())),
                other => {
                    ok = false;
                    cx.error(
                        &item.span(),
                        format!(
                            "the field \"{field}\" of {} must be an array of strings, but it holds {}",
                            self.owner(),
                            a_type(other)
                        ),
                    );
                }
            }
        }
        ok.then_some(out)
    }

    fn boolean(
        &self,
        cx: &mut Cx,
        table: Option<&DeTable>,
        prefix: &str,
        key: &str,
    ) -> Option<(bool, Range<usize>)> {
        let v = table.and_then(|t| get(t, key))?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some((*b, v.span())),
            _ => {
                self.wrong_type(
                    cx,
                    &format!("{prefix}{key}"),
                    v,
                    "a boolean (true or false)",
                );
                None
            }
        }
    }

    fn integer(
        &self,
        cx: &mut Cx,
        table: Option<&DeTable>,
        prefix: &str,
        key: &str,
        min: i64,
    ) -> Option<(usize, Range<usize>)> {
        let v = table.and_then(|t| get(t, key))?;
        let n = match v.get_ref() {
            DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
            _ => None,
        };
        match n {
            Some(n) if n >= min => Some((n as usize, v.span())),
            _ => {
                let expected = if min == 0 {
                    "a non-negative integer"
                } else {
                    "a positive integer"
                };
                if let DeValue::Integer(_) = v.get_ref() {
                    cx.error(
                        &v.span(),
                        format!(
                            "the field \"{prefix}{key}\" of {} must be {expected}",
                            self.owner()
                        ),
                    );
                } else {
                    self.wrong_type(cx, &format!("{prefix}{key}"), v, expected);
                }
                None
            }
        }
    }
}

pub(crate) fn parse<'s>(
    src: &'s QuizSource<'s>,
    default_language: &'s str,
) -> Result<Quiz, Vec<Diagnostic>> {
    let mut cx = Cx {
        src,
        default_language,
        lines: Lines::new(src.toml),
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let root = match DeTable::parse(src.toml) {
        Ok(root) => root,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            cx.error(
                &span,
                format!("invalid quiz TOML: {}", e.message().trim_end()),
            );
            return Err(cx.errors);
        }
    };
    let root = root.get_ref();
    let start = 0..0;

    // [multipart]
    let mut multipart = BTreeMap::new();
    if let Some(v) = get(root, "multipart") {
        match v.get_ref() {
            DeValue::Table(t) => {
                for (k, v) in in_order(t) {
                    match v.get_ref() {
                        DeValue::String(s) => {
                            multipart.insert(k.to_string(), s.to_string());
                        }
                        other => cx.error(
                            &v.span(),
                            format!(
                                "the multipart context \"{k}\" must be a string, not {}",
                                a_type(other)
                            ),
                        ),
                    }
                }
            }
            other => cx.error(
                &v.span(),
                format!(
                    "the field \"multipart\" must be a table of strings, not {}",
                    a_type(other)
                ),
            ),
        }
    }
    cx.unknown_keys(root, &["questions", "multipart"], "", "the quiz");

    let mut questions = Vec::new();
    match get(root, "questions") {
        None => cx.error(&start, "the quiz is missing the field \"questions\""),
        Some(v) => match v.get_ref() {
            DeValue::Array(items) if items.is_empty() => {
                cx.error(&v.span(), "the quiz has no questions")
            }
            DeValue::Array(items) => {
                let mut ids: HashMap<String, usize> = HashMap::new();
                for (i, item) in items.iter().enumerate() {
                    let number = i + 1;
                    match item.get_ref() {
                        DeValue::Table(t) => {
                            if let Some(q) =
                                question(&mut cx, number, t, item.span(), &multipart, &mut ids)
                            {
                                questions.push(q);
                            }
                        }
                        other => cx.error(
                            &item.span(),
                            format!("question {number} must be a table, not {}", a_type(other)),
                        ),
                    }
                }
            }
            other => cx.error(
                &v.span(),
                format!(
                    "the field \"questions\" must be an array of tables ([[questions]]), not {}",
                    a_type(other)
                ),
            ),
        },
    }

    if !cx.errors.is_empty() {
        cx.errors.sort_by_key(|d| (d.line, d.column));
        return Err(cx.errors);
    }
    Ok(Quiz {
        file: src.file.clone(),
        questions,
        multipart,
        warnings: cx.warnings,
    })
}

fn question(
    cx: &mut Cx,
    number: usize,
    table: &DeTable,
    span: Range<usize>,
    multipart: &BTreeMap<String, String>,
    ids: &mut HashMap<String, usize>,
) -> Option<Question> {
    let type_name = match get(table, "type") {
        None => {
            cx.error(
                &span,
                format!("question {number} is missing the field \"type\""),
            );
            return None;
        }
        Some(v) => match v.get_ref() {
            DeValue::String(s) => match TYPES.iter().find(|t| **t == s.as_ref()) {
                Some(t) => *t,
                None => {
                    let message = format!(
                        "unknown question type \"{s}\": expected one of {}",
                        TYPES.join(", ")
                    );
                    match closest(s, &TYPES) {
                        Some(near) => {
                            cx.error_help(&v.span(), message, format!("did you mean \"{near}\"?"))
                        }
                        None => cx.error(&v.span(), message),
                    }
                    return None;
                }
            },
            other => {
                cx.error(
                    &v.span(),
                    format!(
                        "the field \"type\" of question {number} must be a string, not {}",
                        a_type(other)
                    ),
                );
                return None;
            }
        },
    };
    let q = Q {
        number,
        type_name,
        table,
        span: span.clone(),
        bad: Default::default(),
    };
    let owner = q.owner();
    let errors_before = cx.errors.len();
    cx.unknown_keys(table, &QUESTION_KEYS, "", &owner);

    // Common fields.
    let id = q
        .string(cx, Some(table), "", "id", false)
        .map(|(id, span)| {
            let line = cx.line(&span);
            match ids.get(&id) {
                Some(first) => cx.error(
                    &span,
                    format!(
                        "duplicate question id \"{id}\" (first used at {}:{first})",
                        cx.src.file.display()
                    ),
                ),
                None => {
                    ids.insert(id.clone(), line);
                }
            }
            (id, line)
        });
    let part = q.string(cx, Some(table), "", "multipart", false).map(|(key, span)| {
        if !multipart.contains_key(&key) {
            let message = format!("{owner} refers to the multipart context \"{key}\", which the quiz does not define");
            let keys: Vec<&str> = multipart.keys().map(|k| k.as_str()).collect();
            match closest(&key, &keys) {
                Some(near) => cx.error_help(&span, message, format!("did you mean \"{near}\"?")),
                None => cx.error_help(&span, message, format!("define it in a [multipart] table: {key} = \"…\"")),
            }
        }
        key
    });
    let context = q
        .string(cx, Some(table), "", "context", false)
        .map(|(s, _)| s);
    let prompt_explanation = q
        .boolean(cx, Some(table), "", "promptExplanation")
        .is_some_and(|(b, _)| b);

    let prompt = q.sub(cx, "prompt");
    let answer = q.sub(cx, "answer");
    let kind = match type_name {
        "MultipleChoice" => multiple_choice(cx, &q, prompt, answer),
        "ShortAnswer" => short_answer(cx, &q, prompt, answer),
        _ => tracing(cx, &q, prompt, answer),
    };
    if cx.errors.len() > errors_before {
        return None;
    }
    Some(Question {
        line: cx.line(&span),
        id,
        multipart: part,
        context,
        prompt_explanation,
        kind: kind?,
    })
}

fn multiple_choice(
    cx: &mut Cx,
    q: &Q,
    prompt: Option<&DeTable>,
    answer: Option<&DeTable>,
) -> Option<Kind> {
    let owner = cx.unknown_prompt_answer_keys(q, prompt, answer, &MC_PROMPT, &MC_ANSWER);
    let text = q.string(cx, prompt, "prompt.", "prompt", true);
    let distractors = q.strings(cx, prompt, "prompt.", "distractors", true);
    let answer_index = q.integer(cx, prompt, "prompt.", "answerIndex", 0);
    let sort_answers = q.boolean(cx, prompt, "prompt.", "sortAnswers");

    let (answers, multiple) = match answer.and_then(|t| get(t, "answer")) {
        None => {
            q.missing(cx, "answer.answer");
            (None, false)
        }
        Some(v) => match v.get_ref() {
            DeValue::String(s) => (Some(vec![(s.to_string(), v.span())]), false),
            DeValue::Array(items) if items.is_empty() => {
                cx.error(
                    &v.span(),
                    format!("the field \"answer.answer\" of {owner} is empty: list at least one correct answer"),
                );
                (None, true)
            }
            DeValue::Array(_) => (q.strings(cx, answer, "answer.", "answer", true), true),
            _ => {
                q.wrong_type(cx, "answer.answer", v, "a string or an array of strings");
                (None, false)
            }
        },
    };

    if let (Some((index, span)), Some(sort)) = (&answer_index, &sort_answers) {
        let second = if span.start < sort.1.start {
            &sort.1
        } else {
            span
        };
        cx.error_help(
            second,
            format!("{owner} sets both \"prompt.answerIndex\" and \"prompt.sortAnswers\""),
            format!(
                "keep one: answerIndex = {index} places the answer, sortAnswers sorts the choices"
            ),
        );
    }
    if let (Some((index, span)), Some(d)) = (&answer_index, &distractors)
        && *index > d.len()
    {
        cx.error(
            span,
            format!(
                "the field \"prompt.answerIndex\" of {owner} is {index}, but it can be at most {} (the number of distractors)",
                d.len()
            ),
        );
    }
    if let (Some(answers), Some(distractors)) = (&answers, &distractors) {
        for (a, _) in answers {
            for (d, dspan) in distractors {
                if a.trim() == d.trim() {
                    cx.error(
                        dspan,
                        format!(
                            "the answer \"{}\" of question {} is also listed as a distractor",
                            a.trim(),
                            q.number
                        ),
                    );
                }
            }
        }
    }

    Some(Kind::MultipleChoice(MultipleChoice {
        prompt: text?.0,
        distractors: distractors?.into_iter().map(|(s, _)| s).collect(),
        answers: answers?.into_iter().map(|(s, _)| s).collect(),
        multiple,
        answer_index: answer_index.map(|(i, _)| i),
        sort_answers: sort_answers.is_some_and(|(b, _)| b),
    }))
}

fn short_answer(
    cx: &mut Cx,
    q: &Q,
    prompt: Option<&DeTable>,
    answer: Option<&DeTable>,
) -> Option<Kind> {
    let owner = cx.unknown_prompt_answer_keys(q, prompt, answer, &SA_PROMPT, &SA_ANSWER);
    let text = q.string(cx, prompt, "prompt.", "prompt", true);
    let response = match q.string(cx, prompt, "prompt.", "response", false) {
        None => Some(Response::Short),
        Some((r, span)) => match r.as_str() {
            "short" => Some(Response::Short),
            "long" => Some(Response::Long),
            "code" => Some(Response::Code),
            _ => {
                cx.error(
                    &span,
                    format!("the field \"prompt.response\" of {owner} must be one of short, long, code, not \"{r}\""),
                );
                None
            }
        },
    };
    let ans = q.string(cx, answer, "answer.", "answer", true);
    if let Some((a, span)) = &ans
        && a.trim().is_empty()
    {
        cx.error(
            span,
            format!("the field \"answer.answer\" of {owner} is empty"),
        );
    }
    let alternatives = q.strings(cx, answer, "answer.", "alternatives", false);
    Some(Kind::ShortAnswer(ShortAnswer {
        prompt: text?.0,
        response: response?,
        answer: ans?.0,
        alternatives: alternatives
            .unwrap_or_default()
            .into_iter()
            .map(|(s, _)| s)
            .collect(),
    }))
}

fn tracing(cx: &mut Cx, q: &Q, prompt: Option<&DeTable>, answer: Option<&DeTable>) -> Option<Kind> {
    let owner = cx.unknown_prompt_answer_keys(q, prompt, answer, &TR_PROMPT, &TR_ANSWER);
    let program = q.string(cx, prompt, "prompt.", "program", true);
    let language = q.string(cx, prompt, "prompt.", "language", false);
    // `prompt.versions = "differ"`: the answer holds for the build's Python
    // only; the runtime matrix does not hold it to the others.
    let version_specific = match q.string(cx, prompt, "prompt.", "versions", false) {
        Some((v, _)) if v == "differ" => true,
        Some((_, span)) => {
            cx.error(&span, "`prompt.versions` can only be \"differ\" (the answer depends on the Python version)");
            false
        }
        None => false,
    };

    // Where the program's first line is: a multi-line string drops the newline
    // right after its opening quotes.
    let (mut program, program_line) = match program {
        Some((text, span)) => {
            let raw = &cx.src.toml[span.clone()];
            let mut line = cx.line(&span);
            if (raw.starts_with("\"\"\"") || raw.starts_with("'''"))
                && (raw[3..].starts_with('\n') || raw[3..].starts_with("\r\n"))
            {
                line += 1;
            }
            if text.trim().is_empty() {
                cx.error(
                    &span,
                    format!("the field \"prompt.program\" of {owner} is empty"),
                );
            }
            (Some(text), line)
        }
        None => (None, 0),
    };
    let mut program_line = program_line;

    // A program written as one fenced block: ```rust … ```.
    let mut fence_language = None;
    if let Some(text) = &program
        && let Some((lang, body, skipped)) = unfence(text)
    {
        fence_language = Some(lang);
        program_line += skipped;
        program = Some(body);
    }
    let language = match (language, fence_language) {
        (Some((l, _)), _) => l.trim().to_lowercase(),
        (None, Some(l)) if !l.is_empty() => l,
        _ => cx.default_language.to_string(),
    };
    let python = is_python(&language);

    let mut written = None;
    match answer {
        None if python => {}
        None => {
            cx.error_help(
                &q.span,
                format!("{owner} is missing the field \"answer.doesCompile\""),
                format!(
                    "a {language} program is not run at build time, so its answer must be written"
                ),
            );
        }
        Some(t) => {
            let does_compile = q.boolean(cx, Some(t), "answer.", "doesCompile");
            if does_compile.is_none() && get(t, "doesCompile").is_none() {
                q.missing(cx, "answer.doesCompile");
            }
            let stdout = q.string(cx, Some(t), "answer.", "stdout", false);
            let line_number = q.integer(cx, Some(t), "answer.", "lineNumber", 1);
            let exception = q.string(cx, Some(t), "answer.", "exception", false);
            if let Some((does, _)) = &does_compile {
                if !python && *does && stdout.is_none() {
                    cx.error_help(
                        &q.span,
                        format!("{owner} is missing the field \"answer.stdout\""),
                        format!("a {language} program is not run at build time, so its output must be written"),
                    );
                }
                if let Some((_, espan)) = &exception {
                    if !python {
                        cx.error(espan, format!("the field \"answer.exception\" of {owner} is only for Python programs"));
                    } else if *does {
                        cx.error(
                            espan,
                            format!("{owner} sets \"answer.exception\" but also \"answer.doesCompile = true\" (the program runs to the end)"),
                        );
                    }
                }
                if let Some((_, lspan)) = &line_number
                    && *does
                {
                    cx.error(
                        lspan,
                        format!("{owner} sets \"answer.lineNumber\" but also \"answer.doesCompile = true\" (there is no error)"),
                    );
                }
            }
            if let Some((does, span)) = does_compile {
                written = Some(TracingAnswer {
                    does_compile: does,
                    line: cx.line(&span),
                    stdout: stdout.map(|(s, span)| (s, cx.line(&span))),
                    line_number: line_number.map(|(n, span)| (n, cx.line(&span))),
                    exception: exception.map(|(s, span)| (s.trim().to_string(), cx.line(&span))),
                });
            }
        }
    }

    let (program, marks) = extract_marks(&program?);
    Some(Kind::Tracing(Tracing {
        program,
        marks,
        language,
        program_line,
        answer: written,
        version_specific,
    }))
}

/// A program that is exactly one fenced code block: (language, body, lines
/// before the body).
fn unfence(text: &str) -> Option<(String, String, usize)> {
    let leading = text.len() - text.trim_start_matches(['\n', '\r']).len();
    let skipped_blank = Lines::count(&text[..leading]);
    let body = text.trim_matches(['\n', '\r', ' ', '\t']);
    let fence_char = body.chars().next()?;
    if fence_char != '`' && fence_char != '~' {
        return None;
    }
    let fence_len = body.chars().take_while(|c| *c == fence_char).count();
    if fence_len < 3 {
        return None;
    }
    let fence: String = std::iter::repeat_n(fence_char, fence_len).collect();
    let (first, rest) = body.split_once('\n')?;
    let info = first[fence_len..].trim();
    let inner = rest.trim_end().strip_suffix(fence.as_str())?;
    if inner.contains(&format!("\n{fence}")) {
        return None;
    }
    let lang = info
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_lowercase();
    Some((lang, inner.trim_end().to_string() + "\n", skipped_blank + 1))
}

/// Repeated question ids across quizzes.
pub(crate) fn check_unique_ids(quizzes: &[&Quiz]) -> Vec<Diagnostic> {
    let mut seen_files = HashSet::new();
    let mut first: HashMap<&str, (&std::path::Path, usize)> = HashMap::new();
    let mut out = Vec::new();
    for quiz in quizzes {
        if !seen_files.insert(quiz.file.as_path())
            && quiz.file.extension().is_some_and(|e| e == "toml")
        {
            continue;
        }
        for q in &quiz.questions {
            let Some((id, line)) = &q.id else { continue };
            match first.get(id.as_str()) {
                Some((file, first_line)) => out.push(Diagnostic::error(
                    quiz.file.clone(),
                    *line,
                    format!(
                        "duplicate question id \"{id}\" (first used at {}:{first_line})",
                        file.display()
                    ),
                )),
                None => {
                    first.insert(id, (quiz.file.as_path(), *line));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unfence_takes_the_language_and_body() {
        let (lang, body, skipped) = unfence("```rust\nfn main() {}\n```\n").unwrap();
        assert_eq!(
            (lang.as_str(), body.as_str(), skipped),
            ("rust", "fn main() {}\n", 1)
        );
        assert!(unfence("print(1)\n").is_none());
        assert!(unfence("```\na\n```\nb\n```\n").is_none());
    }

    #[test]
    fn marks_are_removed_from_programs() {
        let (text, marks) = extract_marks("x = `[1]`\nprint(x)");
        assert_eq!(text, "x = 1\nprint(x)");
        assert_eq!(marks, vec![4..5]);
        assert_eq!(extract_marks("a `[ b").0, "a `[ b");
    }
}
