//! The quiz module's verification of written Tracing answers against CPython
//! runs, and its HTML and Markdown rendering.

use std::collections::HashSet;
use std::path::Path;

use mdbook_python::quiz::{self, Labels, QuizSource, RaisedException, TracingRun};

fn parse(toml: &str) -> quiz::Quiz {
    quiz::parse(&QuizSource {
        toml,
        file: "quizzes/q.toml".into(),
        first_line: 1,
    })
    .unwrap_or_else(|e| panic!("{e:#?}"))
}

fn fixture(name: &str) -> quiz::Quiz {
    let path = Path::new(file!())
        .parent()
        .unwrap()
        .join("fixtures/quiz-book/quizzes")
        .join(name);
    let text = std::fs::read_to_string(path).unwrap();
    quiz::parse(&QuizSource {
        toml: &text,
        file: format!("quizzes/{name}").into(),
        first_line: 1,
    })
    .unwrap()
}

fn runs(question: usize, stdout: &str) -> TracingRun {
    TracingRun {
        question,
        stdout: stdout.into(),
        exception: None,
    }
}

fn raises(question: usize, stdout: &str, name: &str, message: &str, line: usize) -> TracingRun {
    TracingRun {
        question,
        stdout: stdout.into(),
        exception: Some(RaisedException {
            name: name.into(),
            message: message.into(),
            line: Some(line),
        }),
    }
}

const TRACE: &str = "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nanswer.answer = \"x\"\n\n[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nprint(1 + 1)\nprint(3)\n\"\"\"\n";

#[test]
fn a_wrong_stdout_is_an_error_with_a_diff() {
    let q = parse(&format!(
        "{TRACE}answer.doesCompile = true\nanswer.stdout = \"\"\"\n11\n3\n\"\"\"\n"
    ));
    let ds = quiz::verify(&q, &[runs(1, "2\n3\n")]);
    assert_eq!(ds.len(), 1);
    assert_eq!(
        ds[0].to_string(),
        "error: the output written in question 2 (Tracing) does not match what the program prints\n  --> quizzes/q.toml:13\n   | --- written answer\n   | +++ CPython\n   | @@ -1,2 +1,2 @@\n   | -11\n   | +2\n   |  3\n   = help: correct the answer, or delete it: the build computes it from the program"
    );
    // Trailing spaces and blank lines at the ends do not count.
    let q = parse(&format!(
        "{TRACE}answer.doesCompile = true\nanswer.stdout = \"\"\"\n2  \n3\n\n\"\"\"\n"
    ));
    assert!(quiz::verify(&q, &[runs(1, "2\n3\n")]).is_empty());
}

#[test]
fn runs_or_raises_mismatches() {
    let q = parse(&format!(
        "{TRACE}answer.doesCompile = true\nanswer.stdout = \"2\"\n"
    ));
    let ds = quiz::verify(
        &q,
        &[raises(1, "", "ZeroDivisionError", "division by zero", 1)],
    );
    assert_eq!(ds.len(), 1);
    assert_eq!(
        ds[0].message,
        "question 2 (Tracing) says the program runs to the end (doesCompile = true), but it raises ZeroDivisionError: division by zero on line 1"
    );
    assert_eq!(ds[0].location(), "quizzes/q.toml:12");
    assert_eq!(
        ds[0].detail.as_deref().unwrap(),
        "--- written answer\n+++ CPython\n@@ -1,2 +1,4 @@\n-doesCompile = true\n-stdout = \"2\"\n+doesCompile = false\n+stdout = \"\"\n+lineNumber = 1\n+exception = \"ZeroDivisionError: division by zero\""
    );

    let q = parse(&format!("{TRACE}answer.doesCompile = false\n"));
    let ds = quiz::verify(&q, &[runs(1, "2\n3\n")]);
    assert_eq!(
        ds[0].message,
        "question 2 (Tracing) says the program raises an exception (doesCompile = false), but it runs to the end"
    );
    assert_eq!(
        ds[0].detail.as_deref().unwrap(),
        "--- written answer\n+++ CPython\n@@ -1 +1,5 @@\n-doesCompile = false\n+doesCompile = true\n+stdout = \"\"\"\n+2\n+3\n+\"\"\""
    );
}

#[test]
fn exception_line_and_name_mismatches() {
    let q = parse(&format!(
        "{TRACE}answer.doesCompile = false\nanswer.lineNumber = 2\nanswer.exception = \"KeyError\"\nanswer.stdout = \"2\"\n"
    ));
    let ds = quiz::verify(
        &q,
        &[raises(1, "2\n", "ZeroDivisionError", "division by zero", 1)],
    );
    let messages: Vec<String> = ds
        .iter()
        .map(|d| format!("{}: {}", d.location(), d.message))
        .collect();
    assert_eq!(
        messages,
        vec![
            "quizzes/q.toml:14: question 2 (Tracing) says the program raises KeyError, but it raises ZeroDivisionError: division by zero",
            "quizzes/q.toml:13: question 2 (Tracing) says the exception is raised on line 2, but it is raised on line 1",
        ]
    );
    assert_eq!(
        ds[1].detail.as_deref().unwrap(),
        "--- written answer\n+++ CPython\n@@ -1 +1 @@\n-lineNumber = 2\n+lineNumber = 1"
    );
    // Matching answers (the name alone, or name and message) verify cleanly.
    for exception in ["ZeroDivisionError", "ZeroDivisionError: division by zero"] {
        let q = parse(&format!(
            "{TRACE}answer.doesCompile = false\nanswer.lineNumber = 1\nanswer.exception = \"{exception}\"\n"
        ));
        assert!(
            quiz::verify(
                &q,
                &[raises(1, "", "ZeroDivisionError", "division by zero", 1)]
            )
            .is_empty()
        );
    }
}

#[test]
fn unwritten_and_non_python_answers_are_not_verified() {
    let q = parse(TRACE);
    assert!(quiz::verify(&q, &[runs(1, "anything\n")]).is_empty());
    let q = fixture("exceptions.toml");
    // The fixture is right: ratio(1, 0) raises on line 2 after printing "start".
    let good = [
        raises(0, "start\n", "ZeroDivisionError", "division by zero", 2),
        runs(1, "6\n"),
    ];
    assert!(quiz::verify(&q, &good).is_empty());
}

/// The page text a reader (or mdBook's search indexer) sees: text nodes only.
fn text_nodes(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    while out.contains("  ") {
        out = out.replace("  ", " ");
    }
    out.replace("&#10;", "\n")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn attribute(html: &str, name: &str) -> String {
    let start = html.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&#10;", "\n")
        .replace("&#123;", "{")
        .replace("&#125;", "}")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn html_is_one_line_and_keeps_keys_out_of_the_text() {
    let q = fixture("exceptions.toml");
    let run = [
        raises(0, "start\n", "ZeroDivisionError", "division by zero", 2),
        runs(1, "6\n"),
    ];
    let html = quiz::render_html(&q, &run, "exceptions.md#quiz1", &Labels::default());
    assert!(!html.contains('\n'));
    assert!(html.starts_with(
        "<div class=\"mdpy-quiz\" id=\"mdpy-quiz-exceptions-md-quiz1\" data-mdpy-quiz=\""
    ));

    let text = text_nodes(&html);
    // Questions, choices and programs are readable...
    assert!(text.contains("print(ratio(1, 0))"));
    assert!(text.contains("What does ratio(3, 2) return?"));
    assert!(text.contains("1.5"), "choices are part of the question");
    // ...but no key or explanation is in a text node.
    for secret in [
        "division by zero",
        "ZeroDivisionError",
        "Dividing by zero",
        "0 + 1 + 2 + 3",
        "compute",
    ] {
        assert!(!text.contains(secret), "{secret:?} is visible text");
    }
    assert!(
        text.contains("Which exception does ratio(1, 0) raise?"),
        "the prompt itself may name it"
    );

    // The widget's data has the keys, computed by CPython.
    let data: serde_json::Value =
        serde_json::from_str(&attribute(&html, "data-mdpy-quiz")).unwrap();
    assert_eq!(data["key"], "exceptions.md#quiz1");
    assert_eq!(data["hash"], q.content_hash());
    let q0 = &data["questions"][0];
    assert_eq!(
        (q0["t"].as_str(), q0["py"].as_bool(), q0["runs"].as_bool()),
        (Some("tr"), Some(true), Some(false))
    );
    assert_eq!(q0["exc"], "ZeroDivisionError");
    assert!(
        q0["answer"]
            .as_str()
            .unwrap()
            .contains("This program raises ZeroDivisionError: division by zero on line 2.")
    );
    assert!(
        q0["answer"]
            .as_str()
            .unwrap()
            .contains("Before that, it prints:")
    );
    assert_eq!(data["questions"][1]["stdout"], "6");
    assert_eq!(data["questions"][2]["correct"], serde_json::json!([2]));
    assert_eq!(
        data["questions"][3]["accept"],
        serde_json::json!(["zerodivisionerror"])
    );
    assert_eq!(data["questions"][4]["runs"], false);
    assert!(
        data["questions"][4]["context"]
            .as_str()
            .unwrap()
            .contains("<code>mut</code>")
    );

    // The no-JS fallback: each answer in an attribute inside a closed <details>.
    assert_eq!(
        html.matches("<details class=\"mdpy-quiz-reveal\"><summary>Answer</summary>")
            .count(),
        5
    );
    assert!(html.contains("data-key=\"This program raises ZeroDivisionError: division by zero on line 2.&#10;Before that, it prints:&#10;start\""));
    assert!(html.contains("data-key=\"Explanation: No answer is written in the quiz file: the build computes it (0 + 1 + 2 + 3).\""));

    // Code is marked for the book's highlighter; a Rust program gets no play button.
    assert!(html.contains("<code class=\"language-python\">def ratio(a, b):&#10;    return a / b&#10;&#10;print(&quot;start&quot;)&#10;print(ratio(1, 0))</code>"));
    assert!(html.contains("<code class=\"language-rust noplayground\">"));
    assert!(html.contains("data-lines=\"1&#10;2&#10;3&#10;4&#10;5\""));
    // Multipart: titles 3a and 3b, the shared context once.
    assert!(
        html.contains(">Question 3a<")
            && html.contains(">Question 3b<")
            && html.contains(">Question 4<")
    );
    assert_eq!(html.matches("class=\"mdpy-quiz-multipart\"").count(), 1);
}

#[test]
fn ids_are_unique_and_everything_is_escaped() {
    let toml = r#"
[[questions]]
type = "MultipleChoice"
prompt.prompt = "Is <script>alert('x')</script> shown? {{#include secret.md}}"
prompt.distractors = ["<b>bold</b>", "no"]
answer.answer = "yes"
context = "<img src=x onerror=alert(1)>"
"#;
    let q = parse(toml);
    let a = quiz::render_html(&q, &[], "ch/a.md#quiz1", &Labels::default());
    let b = quiz::render_html(&q, &[], "ch/a.md#quiz2", &Labels::default());
    assert!(!a.contains("<script") && !a.contains("<b>") && !a.contains("<img"));
    assert!(
        a.contains("Is &lt;script&gt;alert(‘x’)&lt;/script&gt; shown?"),
        "as text (smart quotes, as mdBook)"
    );
    assert!(a.contains("&lt;b&gt;bold&lt;/b&gt;"));
    assert!(
        !a.contains("{{#"),
        "mdBook's {{{{#include}}}} must not see it"
    );
    let page = format!("{a}\n\n{b}");
    let mut ids = HashSet::new();
    for part in page.split(" id=\"").skip(1) {
        let id = &part[..part.find('"').unwrap()];
        assert!(ids.insert(id.to_string()), "duplicate id {id}");
        assert!(id.starts_with("mdpy-quiz-"));
    }
    assert_eq!(ids.len(), 2 * 4);
}

#[test]
fn labels_translate_the_static_text() {
    let labels = Labels {
        quiz: "Quiz (fr)".into(),
        answer: "Réponse".into(),
        question: "Question n° {n}".into(),
        ..Labels::default()
    };
    let q = parse(
        "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nanswer.answer = \"x\"\n",
    );
    let html = quiz::render_html(&q, &[], "a.md#quiz1", &labels);
    assert!(
        html.contains(">Quiz (fr)<")
            && html.contains("<summary>Réponse</summary>")
            && html.contains(">Question n° 1<")
    );
    assert!(html.contains(">1 question<"));
    let js = serde_json::to_value(&labels).unwrap();
    assert_eq!(js["answer"], "Réponse");
    assert_eq!(js["questionOf"], "Question {n} of {total}");
    // book.toml spelling is kebab-case.
    let from_toml: Labels = toml::from_str("question-of = \"Frage {n} von {total}\"").unwrap();
    assert_eq!(from_toml.question_of, "Frage {n} von {total}");
    assert_eq!(from_toml.quiz, "Quiz");
}

#[test]
fn markdown_lists_questions_then_answers() {
    let q = fixture("lists.toml");
    let md = quiz::render_markdown(&q, &[runs(3, "[1, 2, 3]\n3\n")]);
    let (questions, answers) = md.split_once("**Answers**").unwrap();
    assert!(
        questions.starts_with("**Quiz**\n\n1. Which of these types is **immutable**?\n\n   - ")
    );
    assert!(questions.contains("4. Does this program run to the end"));
    assert!(questions.contains("   ```python\n   a = [1, 2]\n"));
    assert!(
        !questions.contains("in place"),
        "explanations come with the answers"
    );
    assert!(answers.contains("\n\n1. `tuple`\n\n   *Explanation:* A `tuple` cannot change"));
    assert!(answers.contains("2. `append`; `sort`"));
    assert!(answers.contains("3. `len` (Also accepted: `len()`)"));
    assert!(answers.contains(
        "4. This program runs to the end and prints:\n\n   ```text\n   [1, 2, 3]\n   3\n   ```"
    ));
}

#[test]
fn every_label_quiz_js_uses_has_a_translation_key() {
    // quiz.js keeps English defaults for the labels it reads from MDPY_CONFIG.quizLabels;
    // each must be a field of Labels, or a book could not translate it.
    let js = std::fs::read_to_string(
        Path::new(file!())
            .parent()
            .unwrap()
            .join("../front-end/quiz.js"),
    )
    .unwrap();
    let start = js.find("Object.assign({").unwrap();
    let end = start + js[start..].find("}, (window.MDPY_CONFIG").unwrap();
    let labels = serde_json::to_value(Labels::default()).unwrap();
    let mut n = 0;
    for line in js[start..end].lines().skip(1) {
        let Some((key, value)) = line.trim().split_once(": ") else {
            continue;
        };
        n += 1;
        let value = value.trim_end_matches(',').trim_matches('\'');
        assert_eq!(labels[key].as_str(), Some(value), "label {key}");
    }
    assert!(n >= 20);
}
