//! The quiz as one line of HTML (widget data + no-JS fallback) or as Markdown.
//!
//! The HTML holds every question readably (prompts, choices, programs), so the
//! page without JavaScript, print.html and the search index all see the
//! questions. What the reader must not see before answering (which choices are
//! right, accepted answers, the program's output, explanations) is kept out of
//! text nodes: the widget's data is a JSON attribute, and each no-JS answer is
//! an attribute of an element inside a closed `<details>`, shown by CSS
//! (`content: attr(data-key)`). mdBook's search indexer reads text nodes only,
//! so none of it is indexed.

use serde::{Deserialize, Serialize};

use crate::render::page_data::{self, AnswerBox, Grading, TracingKey};

use super::markdown::{code_block_marked, escape, one_line, to_html, to_plain};
use super::schema::{Kind, Question, Quiz, Response, Tracing};
use super::verify::{exception_text, normalize_output};
use super::{RaisedException, TracingRun};
use escape as attr;

/// Every text of the widget, so a book can translate them. English defaults.
/// `{n}`, `{total}`, `{correct}`, `{exception}`, `{line}`, `{list}` are
/// placeholders. Read from TOML with kebab-case keys; serialized (camelCase)
/// into `MDPY_CONFIG.quizLabels` for `quiz.js` (`page_data::Config`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    default,
    rename_all(serialize = "camelCase", deserialize = "kebab-case")
)]
pub struct Labels {
    /// The quiz's title.
    pub quiz: String,
    pub question_count: String,
    pub question_count_one: String,
    /// A question's heading.
    pub question: String,
    /// The no-JS disclosure's summary.
    pub answer: String,
    pub explanation: String,
    pub multipart: String,
    /// The prompt of a Python `Tracing` question.
    pub tracing_python: String,
    /// The prompt of a non-Python `Tracing` question.
    pub tracing_other: String,
    pub runs_and_prints: String,
    pub runs_silently: String,
    pub raises: String,
    pub raises_on_line: String,
    pub prints_before: String,
    pub compiles_and_prints: String,
    pub compiles_silently: String,
    pub does_not_compile: String,
    pub error_on_line: String,
    pub also_accepted: String,
    pub answer_unknown: String,
    /// The heading of the answer list in Markdown output.
    pub answers: String,
    // The rest is used by quiz.js only.
    pub question_of: String,
    pub choose_one: String,
    pub choose_all: String,
    pub your_answer: String,
    pub this_program: String,
    pub option_runs: String,
    pub option_raises: String,
    pub option_compiles: String,
    pub option_fails: String,
    pub output: String,
    pub exception: String,
    pub submit: String,
    pub next: String,
    pub finish: String,
    pub correct: String,
    pub incorrect: String,
    pub the_answer: String,
    pub score: String,
    pub retry: String,
    pub restart: String,
    pub required: String,
}

impl Default for Labels {
    fn default() -> Self {
        let s = |x: &str| x.to_string();
        Labels {
            quiz: s("Quiz"),
            question_count: s("{total} questions"),
            question_count_one: s("1 question"),
            question: s("Question {n}"),
            answer: s("Answer"),
            explanation: s("Explanation"),
            multipart: s("Question {n} has several parts; this context is shared by each of them."),
            tracing_python: s(
                "Does this program run to the end, or does it raise an exception? If it runs to the end, what does it print?",
            ),
            tracing_other: s(
                "Does this program compile? If it does, what does it print when it runs?",
            ),
            runs_and_prints: s("This program runs to the end and prints:"),
            runs_silently: s("This program runs to the end and prints nothing."),
            raises: s("This program raises {exception}."),
            raises_on_line: s("This program raises {exception} on line {line}."),
            prints_before: s("Before that, it prints:"),
            compiles_and_prints: s("This program compiles and prints:"),
            compiles_silently: s("This program compiles and prints nothing."),
            does_not_compile: s("This program does not compile."),
            error_on_line: s("The error is on line {line}."),
            also_accepted: s("Also accepted: {list}"),
            answer_unknown: s("The answer could not be computed when the book was built."),
            answers: s("Answers"),
            question_of: s("Question {n} of {total}"),
            choose_one: s("Choose one answer."),
            choose_all: s("Choose every correct answer."),
            your_answer: s("Your answer"),
            this_program: s("This program"),
            option_runs: s("runs to the end"),
            option_raises: s("raises an exception"),
            option_compiles: s("compiles"),
            option_fails: s("does not compile"),
            output: s("What it prints"),
            exception: s("Which exception? (for example ValueError)"),
            submit: s("Check"),
            next: s("Next question"),
            finish: s("See your score"),
            correct: s("Correct!"),
            incorrect: s("Incorrect."),
            the_answer: s("The correct answer:"),
            score: s("You answered {correct} of {total} questions correctly."),
            retry: s("Retry the questions you got wrong"),
            restart: s("Start over"),
            required: s("Answer the question first."),
        }
    }
}

fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = template.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// mdbook-quiz's question titles: "1", "2a", "2b" for a multipart group.
fn titles(quiz: &Quiz) -> Vec<String> {
    let mut out = Vec::new();
    let mut group = 0;
    let mut part = 0u8;
    let mut last: Option<&str> = None;
    for q in &quiz.questions {
        match (&q.multipart, last) {
            (Some(m), Some(l)) if m == l => part += 1,
            _ => {
                group += 1;
                part = 0;
            }
        }
        last = q.multipart.as_deref();
        out.push(match q.multipart {
            Some(_) => format!("{group}{}", (b'a' + part.min(25)) as char),
            None => group.to_string(),
        });
    }
    out
}

fn slug(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// The key of a `Tracing` question, from the run (Python) or as written.
struct Key {
    runs: bool,
    stdout: Option<String>,
    exception: Option<RaisedException>,
    /// Line of the error (non-Python: `answer.lineNumber`).
    line: Option<usize>,
}

fn tracing_key(t: &Tracing, run: Option<&TracingRun>) -> Option<Key> {
    if t.is_python()
        && let Some(run) = run
    {
        return Some(Key {
            runs: run.exception.is_none(),
            stdout: Some(run.stdout.clone()),
            line: run.exception.as_ref().and_then(|e| e.line),
            exception: run.exception.clone(),
        });
    }
    let a = t.answer.as_ref()?;
    let exception = a.exception.as_ref().map(|(text, _)| {
        let (name, message) = text.split_once(':').unwrap_or((text, ""));
        RaisedException {
            name: name.trim().to_string(),
            message: message.trim().to_string(),
            line: a.line_number.map(|(n, _)| n),
        }
    });
    Some(Key {
        runs: a.does_compile,
        stdout: a.stdout.as_ref().map(|(s, _)| s.clone()),
        line: a.line_number.map(|(n, _)| n),
        exception,
    })
}

/// A tracing key as (sentence, optional output block) pairs.
fn tracing_sentences(t: &Tracing, key: &Key, labels: &Labels) -> Vec<(String, Option<String>)> {
    let stdout = key
        .stdout
        .as_deref()
        .map(normalize_output)
        .unwrap_or_default();
    let mut out = Vec::new();
    if t.is_python() {
        if key.runs {
            if stdout.is_empty() {
                out.push((labels.runs_silently.clone(), None));
            } else {
                out.push((labels.runs_and_prints.clone(), Some(stdout)));
            }
        } else {
            let exception = key
                .exception
                .as_ref()
                .map(exception_text)
                .unwrap_or_else(|| "an exception".to_string());
            match key.line {
                Some(line) => out.push((
                    fill(
                        &labels.raises_on_line,
                        &[("exception", &exception), ("line", &line.to_string())],
                    ),
                    None,
                )),
                None => out.push((fill(&labels.raises, &[("exception", &exception)]), None)),
            }
            if !stdout.is_empty() {
                out.push((labels.prints_before.clone(), Some(stdout)));
            }
        }
    } else if key.runs {
        if stdout.is_empty() {
            out.push((labels.compiles_silently.clone(), None));
        } else {
            out.push((labels.compiles_and_prints.clone(), Some(stdout)));
        }
    } else {
        out.push((labels.does_not_compile.clone(), None));
        if let Some(line) = key.line {
            out.push((
                fill(&labels.error_on_line, &[("line", &line.to_string())]),
                None,
            ));
        }
    }
    out
}

fn output_block_html(text: &str) -> String {
    format!(
        "<pre class=\"mdpy-quiz-out\"><code class=\"nohighlight\">{}</code></pre>",
        escape(text)
    )
}

/// The answer of a question: (HTML for the widget, plain text for the no-JS
/// disclosure, Markdown for other renderers).
fn answer_forms(
    q: &Question,
    run: Option<&TracingRun>,
    labels: &Labels,
) -> (String, String, String) {
    match &q.kind {
        Kind::MultipleChoice(mc) => {
            if mc.answers.len() == 1 {
                let a = &mc.answers[0];
                (to_html(a), to_plain(a), a.clone())
            } else {
                let html = mc
                    .answers
                    .iter()
                    .map(|a| format!("<li>{}</li>", to_html(a)))
                    .collect::<String>();
                let plain = mc
                    .answers
                    .iter()
                    .map(|a| format!("• {}", to_plain(a)))
                    .collect::<Vec<_>>()
                    .join("\n");
                let md = mc
                    .answers
                    .iter()
                    .map(|a| a.replace('\n', " "))
                    .collect::<Vec<_>>()
                    .join("; ");
                (format!("<ul>{html}</ul>"), plain, md)
            }
        }
        Kind::ShortAnswer(sa) => {
            let mut html = format!("<p><code>{}</code></p>", escape(&sa.answer));
            let mut plain = sa.answer.clone();
            let mut md = code_span(&sa.answer);
            if !sa.alternatives.is_empty() {
                let list_html = sa
                    .alternatives
                    .iter()
                    .map(|a| format!("<code>{}</code>", escape(a)))
                    .collect::<Vec<_>>()
                    .join(", ");
                let list_plain = sa.alternatives.join(", ");
                let list_md = sa
                    .alternatives
                    .iter()
                    .map(|a| code_span(a))
                    .collect::<Vec<_>>()
                    .join(", ");
                html.push_str(&format!(
                    "<p>{}</p>",
                    fill(&escape(&labels.also_accepted), &[("list", &list_html)])
                ));
                plain.push_str(&format!(
                    "\n{}",
                    fill(&labels.also_accepted, &[("list", &list_plain)])
                ));
                md.push_str(&format!(
                    " ({})",
                    fill(&labels.also_accepted, &[("list", &list_md)])
                ));
            }
            (html, plain, md)
        }
        Kind::Tracing(t) => match tracing_key(t, run) {
            None => {
                let s = labels.answer_unknown.clone();
                (format!("<p>{}</p>", escape(&s)), s.clone(), s)
            }
            Some(key) => {
                let mut html = String::new();
                let mut plain = Vec::new();
                let mut md = String::new();
                for (sentence, block) in tracing_sentences(t, &key, labels) {
                    html.push_str(&format!("<p>{}</p>", escape(&sentence)));
                    plain.push(sentence.clone());
                    if !md.is_empty() {
                        md.push_str("\n\n");
                    }
                    // It may quote the program's exception: text, not Markdown.
                    md.push_str(&crate::render::escape_markdown(&sentence));
                    // What the program printed, as every renderer shows it.
                    if let Some(block) = block.map(|b| crate::render::visible(&b).into_owned()) {
                        html.push_str(&output_block_html(&block));
                        plain.push(block.clone());
                        md.push_str(&format!("\n\n{}", fenced(&block, "text")));
                    }
                }
                (html, plain.join("\n"), md)
            }
        },
    }
}

fn code_span(s: &str) -> String {
    let ticks = "`".repeat(crate::render::longest_run(s, '`') + 1);
    let pad = if s.starts_with('`') || s.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{ticks}{pad}{s}{pad}{ticks}")
}

fn fenced(code: &str, lang: &str) -> String {
    let fence = crate::render::fence_for(code);
    format!("{fence}{lang}\n{}\n{fence}", code.trim_end_matches('\n'))
}

fn program_html(t: &Tracing) -> String {
    let text = t.program.trim_end_matches(['\n', '\r', ' ', '\t']);
    let lines = text.split('\n').count();
    let numbers: Vec<String> = (1..=lines).map(|n| n.to_string()).collect();
    let extra = if t.is_python() { "" } else { "noplayground" };
    let code = code_block_marked(text, &t.marks, &t.language, extra);
    // <pre><code …> → <pre class=…><span gutter></span><code …>
    let code = code.strip_prefix("<pre>").unwrap_or(&code);
    format!(
        "<pre class=\"mdpy-quiz-program\"><span class=\"mdpy-quiz-lines\" aria-hidden=\"true\" data-lines=\"{}\"></span>{code}",
        attr(&numbers.join("\n"))
    )
}

pub(crate) fn html(quiz: &Quiz, runs: &[TracingRun], key: &str, labels: &Labels) -> String {
    let rid = format!("mdpy-quiz-{}", slug(key));
    let titles = titles(quiz);
    let total = quiz.questions.len();
    let mut data = Vec::new();
    let mut items = String::new();
    let mut seen_parts = std::collections::HashSet::new();

    let runs = super::runs_by_question(runs);
    for (i, q) in quiz.questions.iter().enumerate() {
        let run = runs.get(&i).copied();
        let qid = format!("{rid}-q{}", i + 1);
        let (answer_html, answer_plain, _) = answer_forms(q, run, labels);
        let context_html = q.context.as_deref().map(to_html);
        let mut li = format!(
            "<li class=\"mdpy-quiz-q mdpy-quiz-{}\" id=\"{qid}\" data-q=\"{i}\"><div class=\"mdpy-quiz-qhead\" id=\"{qid}-h\">{}</div>",
            match q.kind {
                Kind::MultipleChoice(_) => "mc",
                Kind::ShortAnswer(_) => "sa",
                Kind::Tracing(_) => "tr",
            },
            escape(&fill(&labels.question, &[("n", &titles[i])]))
        );
        if let Some(part) = &q.multipart
            && let Some(context) = quiz.multipart.get(part)
            && seen_parts.insert(part.clone())
        {
            let group: String = titles[i]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            li.push_str(&format!(
                "<div class=\"mdpy-quiz-multipart\" data-part=\"{}\"><p><strong>{}</strong></p>{}</div>",
                attr(part),
                escape(&fill(&labels.multipart, &[("n", &group)])),
                to_html(context)
            ));
        }
        let entry = match &q.kind {
            Kind::MultipleChoice(mc) => {
                li.push_str(&format!(
                    "<div class=\"mdpy-quiz-prompt\">{}</div><ul class=\"mdpy-quiz-choices\">",
                    to_html(&mc.prompt)
                ));
                let mut correct = Vec::new();
                for (j, (text, ok)) in mc.choices().into_iter().enumerate() {
                    li.push_str(&format!(
                        "<li class=\"mdpy-quiz-choice\">{}</li>",
                        to_html(text)
                    ));
                    if ok {
                        correct.push(j);
                    }
                }
                li.push_str("</ul>");
                Grading::Choice {
                    multi: mc.multiple,
                    correct,
                }
            }
            Kind::ShortAnswer(sa) => {
                li.push_str(&format!(
                    "<div class=\"mdpy-quiz-prompt\">{}</div>",
                    to_html(&sa.prompt)
                ));
                let response = match sa.response {
                    Response::Short => AnswerBox::Short,
                    Response::Long => AnswerBox::Long,
                    Response::Code => AnswerBox::Code,
                };
                Grading::Short {
                    accept: sa.accepted(),
                    response,
                }
            }
            Kind::Tracing(t) => {
                let prompt = if t.is_python() {
                    &labels.tracing_python
                } else {
                    &labels.tracing_other
                };
                li.push_str(&format!(
                    "<div class=\"mdpy-quiz-prompt\"><p>{}</p></div>{}",
                    escape(prompt),
                    program_html(t)
                ));
                let key = match tracing_key(t, run) {
                    Some(k) => TracingKey::Known {
                        runs: k.runs,
                        stdout: k.stdout.as_deref().map(normalize_output),
                        exc: k.exception.as_ref().map(|e| e.name.clone()),
                    },
                    None => TracingKey::Unknown { unknown: true },
                };
                Grading::Tracing {
                    py: t.is_python(),
                    key,
                }
            }
        };
        data.push(page_data::Question {
            kind: entry,
            part: q
                .multipart
                .clone()
                .filter(|part| quiz.multipart.contains_key(part)),
            answer: answer_html,
            context: context_html,
        });

        li.push_str(&format!(
            "<details class=\"mdpy-quiz-reveal\"><summary>{}</summary><div class=\"mdpy-quiz-key\" data-key=\"{}\"></div>",
            escape(&labels.answer),
            attr(&answer_plain)
        ));
        if let Some(context) = &q.context {
            li.push_str(&format!(
                "<div class=\"mdpy-quiz-key mdpy-quiz-key-context\" data-key=\"{}\"></div>",
                attr(&format!("{}: {}", labels.explanation, to_plain(context)))
            ));
        }
        li.push_str("</details></li>");
        items.push_str(&li);
    }

    let count = if total == 1 {
        labels.question_count_one.clone()
    } else {
        fill(&labels.question_count, &[("total", &total.to_string())])
    };
    let payload = page_data::Quiz {
        key,
        hash: quiz.content_hash(),
        questions: data,
    };
    let html = format!(
        "<div class=\"mdpy-quiz\" id=\"{rid}\" data-mdpy-quiz=\"{}\"><div class=\"mdpy-quiz-header\"><span class=\"mdpy-quiz-title\" id=\"{rid}-title\">{}</span> <span class=\"mdpy-quiz-count\">{}</span></div><ol class=\"mdpy-quiz-list\" aria-labelledby=\"{rid}-title\">{items}</ol></div>",
        attr(&page_data::to_json(&payload)),
        escape(&labels.quiz),
        escape(&count),
    );
    one_line(&html)
}

fn indent(text: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 || l.is_empty() {
                l.to_string()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub(crate) fn markdown(quiz: &Quiz, runs: &[TracingRun], labels: &Labels) -> String {
    let titles = titles(quiz);
    let mut out = format!("**{}**\n\n", labels.quiz);
    let mut answers = format!("**{}**\n\n", labels.answers);
    let mut seen_parts = std::collections::HashSet::new();
    let runs = super::runs_by_question(runs);
    for (i, q) in quiz.questions.iter().enumerate() {
        let run = runs.get(&i).copied();
        let marker = format!("{}. ", i + 1);
        let w = marker.len();
        let pad = " ".repeat(w);
        let mut body = String::new();
        if titles[i] != (i + 1).to_string() {
            body.push_str(&format!(
                "*{}*\n\n",
                fill(&labels.question, &[("n", &titles[i])])
            ));
        }
        if let Some(part) = &q.multipart
            && let Some(context) = quiz.multipart.get(part)
            && seen_parts.insert(part.clone())
        {
            body.push_str(&format!("> {}\n\n", context.trim().replace('\n', "\n> ")));
        }
        match &q.kind {
            Kind::MultipleChoice(mc) => {
                body.push_str(mc.prompt.trim());
                body.push_str("\n\n");
                for (text, _) in mc.choices() {
                    body.push_str(&format!("- {}\n", indent(text.trim(), 2)));
                }
            }
            Kind::ShortAnswer(sa) => body.push_str(sa.prompt.trim()),
            Kind::Tracing(t) => {
                let prompt = if t.is_python() {
                    &labels.tracing_python
                } else {
                    &labels.tracing_other
                };
                body.push_str(&format!("{prompt}\n\n{}", fenced(&t.program, &t.language)));
            }
        }
        out.push_str(&format!("{marker}{}\n\n", indent(body.trim_end(), w)));

        let (_, _, answer_md) = answer_forms(q, run, labels);
        let mut a = answer_md;
        if let Some(c) = &q.context {
            a.push_str(&format!("\n\n*{}:* {}", labels.explanation, c.trim()));
        }
        answers.push_str(&format!("{marker}{}\n\n", indent(&a, w)));
        let _ = &pad;
    }
    out.push_str(&answers);
    out.trim_end().to_string() + "\n"
}
