//! The quiz module's parser: mdbook-quiz's format accepted as is, and every
//! bad input reported with file, line, column and an exact message.

use std::path::{Path, PathBuf};

use mdbook_python::quiz::{self, Kind, QuizSource, Response};

fn fixture(name: &str) -> (PathBuf, String) {
    // file!() is this file's path as cargo passed it (relative to the package root,
    // where tests run), so the fixture is found from any crate that includes it.
    let path = Path::new(file!())
        .parent()
        .unwrap()
        .join("fixtures/quiz-book/quizzes")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (PathBuf::from("quizzes").join(name), text)
}

fn parse_ok(toml: &str) -> quiz::Quiz {
    let src = QuizSource {
        toml,
        file: "q.toml".into(),
        first_line: 1,
    };
    match quiz::parse(&src) {
        Ok(q) => q,
        Err(e) => panic!("unexpected errors: {e:#?}"),
    }
}

/// Every error as `file:line:col: message`.
fn errors(toml: &str) -> Vec<String> {
    errors_at(toml, 1)
}

fn errors_at(toml: &str, first_line: usize) -> Vec<String> {
    let src = QuizSource {
        toml,
        file: "quizzes/q.toml".into(),
        first_line,
    };
    match quiz::parse(&src) {
        Ok(_) => panic!("expected errors for:\n{toml}"),
        Err(ds) => ds
            .iter()
            .map(|d| {
                assert!(d.is_error());
                format!("{}: {}", d.location(), d.message)
            })
            .collect(),
    }
}

#[test]
fn fixture_files_in_mdbook_quiz_format_parse() {
    let (file, text) = fixture("lists.toml");
    let q = quiz::parse(&QuizSource {
        toml: &text,
        file: file.clone(),
        first_line: 1,
    })
    .unwrap();
    assert_eq!(q.questions.len(), 4);
    assert!(q.warnings.is_empty(), "{:?}", q.warnings);
    assert_eq!(q.questions[0].id.as_ref().unwrap().0, "lists-mutable");

    let Kind::MultipleChoice(mc) = &q.questions[0].kind else {
        panic!()
    };
    assert_eq!(mc.answers, vec!["`tuple`"]);
    assert!(!mc.multiple);
    assert_eq!(mc.distractors.len(), 3);
    assert!(
        q.questions[0]
            .context
            .as_ref()
            .unwrap()
            .contains("```python")
    );

    let Kind::MultipleChoice(multi) = &q.questions[1].kind else {
        panic!()
    };
    assert!(multi.multiple && multi.sort_answers);
    let order: Vec<&str> = multi.choices().iter().map(|c| c.0).collect();
    assert_eq!(
        order,
        vec!["`append`", "`count`", "`index`", "`sort`"],
        "sortAnswers sorts by text"
    );

    let Kind::ShortAnswer(sa) = &q.questions[2].kind else {
        panic!()
    };
    assert_eq!(sa.response, Response::Short);
    assert_eq!(sa.accepted(), vec!["len", "len()"]);

    let Kind::Tracing(t) = &q.questions[3].kind else {
        panic!()
    };
    assert!(t.is_python());
    let a = t.answer.as_ref().unwrap();
    assert!(a.does_compile);
    assert_eq!(a.stdout.as_ref().unwrap().0, "[1, 2, 3]\n3\n");

    let programs = q.python_programs();
    assert_eq!(programs.len(), 1);
    assert_eq!(programs[0].question, 3);
    assert_eq!(programs[0].file, file);
    let first = text.lines().position(|l| l == "a = [1, 2]").unwrap() + 1;
    assert_eq!(
        programs[0].line, first,
        "line of the program's first line in the file"
    );
    assert!(programs[0].code.starts_with("a = [1, 2]\nb = a\n"));
}

#[test]
fn multipart_answer_index_and_languages() {
    let (file, text) = fixture("exceptions.toml");
    let q = quiz::parse(&QuizSource {
        toml: &text,
        file,
        first_line: 1,
    })
    .unwrap();
    assert_eq!(q.multipart.len(), 1);
    assert_eq!(q.questions[2].multipart.as_deref(), Some("division"));
    let Kind::MultipleChoice(mc) = &q.questions[2].kind else {
        panic!()
    };
    let order: Vec<(&str, bool)> = mc.choices();
    assert_eq!(
        order,
        vec![("`1`", false), ("`1.0`", false), ("`1.5`", true)],
        "answerIndex places the answer"
    );

    let Kind::Tracing(rust) = &q.questions[4].kind else {
        panic!()
    };
    assert_eq!(rust.language, "rust");
    assert!(!rust.is_python());
    // Python programs only, the one without an answer included.
    let programs: Vec<usize> = q.python_programs().iter().map(|p| p.question).collect();
    assert_eq!(programs, vec![0, 1]);
    let Kind::Tracing(computed) = &q.questions[1].kind else {
        panic!()
    };
    assert!(computed.answer.is_none());
}

#[test]
fn the_readme_examples_parse() {
    // mdbook-quiz's README and schema crate, verbatim.
    let q = parse_ok(
        r#"
[[questions]]
type = "ShortAnswer"
prompt.prompt = "What is the keyword for declaring a variable in Rust?"
answer.answer = "let"
context = "For example, you can write: `let x = 1`"

[[questions]]
type = "MultipleChoice"
prompt.prompt = "What does it mean if a variable `x` is immutable?"
prompt.distractors = [
  "`x` is stored in the immutable region of memory.",
  "After being defined, `x` can be changed at most once.",
  "You cannot create a reference to `x`."
]
answer.answer = "`x` cannot be changed after being assigned to a value."
context = """
Immutable means "not mutable", or not changeable.
"""

[[questions]]
id = "b230bed3-d6ba-4048-8b06-aa655d837b04"
type = "MultipleChoice"
prompt.prompt = "What is 1 + 1?"
prompt.distractors = ["1", "3", "**infinity**"]
answer.answer = ["2"]
context = """
Consult your local mathematician for details.
"""
"#,
    );
    assert_eq!(q.questions.len(), 3);
    let Kind::MultipleChoice(mc) = &q.questions[2].kind else {
        panic!()
    };
    assert!(
        mc.multiple,
        "an array answer means checkboxes, even with one element"
    );
    // Shuffled, deterministically: the same order on every build.
    let a: Vec<_> = mc.choices();
    assert_eq!(a, mc.choices());
    assert_eq!(a.len(), 4);
}

#[test]
fn a_fenced_program_names_its_language() {
    let q = parse_ok(
        r#"
[[questions]]
type = "Tracing"
prompt.program = """
```rust
fn main() { println!("hi"); }
```
"""
answer.doesCompile = true
answer.stdout = "hi"
"#,
    );
    let Kind::Tracing(t) = &q.questions[0].kind else {
        panic!()
    };
    assert_eq!(t.language, "rust");
    assert_eq!(t.program, "fn main() { println!(\"hi\"); }\n");
    assert!(q.python_programs().is_empty());
}

#[test]
fn inline_quizzes_report_chapter_lines() {
    // An inline ```quiz block whose fence is on line 10 of the chapter.
    let toml = "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nprint(1)\n\"\"\"\n";
    let q = quiz::parse(&QuizSource {
        toml,
        file: "src/chapter.md".into(),
        first_line: 11,
    })
    .unwrap();
    let p = &q.python_programs()[0];
    assert_eq!((p.file.to_str().unwrap(), p.line), ("src/chapter.md", 14));
    assert_eq!(
        errors_at("[[questions]]\ntype = \"Foo\"\n", 11),
        vec![
            "quizzes/q.toml:12:8: unknown question type \"Foo\": expected one of MultipleChoice, ShortAnswer, Tracing"
        ]
    );
}

#[test]
fn invalid_toml() {
    assert_eq!(
        errors("[[questions]]\ntype = \"MultipleChoice\nprompt.prompt = \"\"\n"),
        vec!["quizzes/q.toml:2:23: invalid quiz TOML: invalid basic string, expected `\"`"]
    );
    assert_eq!(
        errors("[[questions]]\ntype = \"ShortAnswer\"\ntype = \"Tracing\"\n"),
        vec!["quizzes/q.toml:3:1: invalid quiz TOML: duplicate key"]
    );
}

#[test]
fn unknown_question_type() {
    let src = QuizSource {
        toml: "[[questions]]\ntype = \"MultipleChoise\"\nprompt.prompt = \"x\"\n",
        file: "quizzes/q.toml".into(),
        first_line: 1,
    };
    let ds = quiz::parse(&src).unwrap_err();
    assert_eq!(ds.len(), 1);
    assert_eq!(
        ds[0].to_string(),
        "error: unknown question type \"MultipleChoise\": expected one of MultipleChoice, ShortAnswer, Tracing\n  --> quizzes/q.toml:2:8\n   = help: did you mean \"MultipleChoice\"?"
    );
}

#[test]
fn missing_fields() {
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"a\"\nanswer.answer = \"b\"\n\n[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"c\"\nanswer.answer = \"d\"\n\n[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"Which?\"\nprompt.distractors = [\"x\"]\n"
        ),
        vec![
            "quizzes/q.toml:11:1: question 3 (MultipleChoice) is missing the field \"answer.answer\""
        ]
    );
    assert_eq!(
        errors("[[questions]]\ntype = \"MultipleChoice\"\nanswer.answer = \"a\"\n"),
        vec![
            "quizzes/q.toml:1:1: question 1 (MultipleChoice) is missing the field \"prompt.prompt\"",
            "quizzes/q.toml:1:1: question 1 (MultipleChoice) is missing the field \"prompt.distractors\"",
        ]
    );
    assert_eq!(
        errors("[[questions]]\nprompt.prompt = \"a\"\n"),
        vec!["quizzes/q.toml:1:1: question 1 is missing the field \"type\""]
    );
    assert_eq!(
        errors("[[questions]]\ntype = \"Tracing\"\nanswer.doesCompile = true\n"),
        vec!["quizzes/q.toml:1:1: question 1 (Tracing) is missing the field \"prompt.program\""]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"print(1)\"\nanswer.stdout = \"1\"\n"
        ),
        vec![
            "quizzes/q.toml:1:1: question 1 (Tracing) is missing the field \"answer.doesCompile\""
        ]
    );
    assert_eq!(
        errors("title = \"x\"\n"),
        vec!["quizzes/q.toml:1:1: the quiz is missing the field \"questions\""]
    );
    assert_eq!(
        errors("questions = []\n"),
        vec!["quizzes/q.toml:1:13: the quiz has no questions"]
    );
}

#[test]
fn non_python_tracing_needs_a_written_answer() {
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"Tracing\"\nprompt.language = \"rust\"\nprompt.program = \"fn main() {}\"\n"
        ),
        vec![
            "quizzes/q.toml:1:1: question 1 (Tracing) is missing the field \"answer.doesCompile\""
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"Tracing\"\nprompt.language = \"c\"\nprompt.program = \"int main() {}\"\nanswer.doesCompile = true\n"
        ),
        vec!["quizzes/q.toml:1:1: question 1 (Tracing) is missing the field \"answer.stdout\""]
    );
}

#[test]
fn answer_that_is_also_a_distractor() {
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"a\"\nanswer.answer = \"b\"\n\n[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"Which is immutable?\"\nprompt.distractors = [\"`list`\", \"`tuple`\"]\nanswer.answer = \"`tuple`\"\n"
        ),
        vec![
            "quizzes/q.toml:9:33: the answer \"`tuple`\" of question 2 is also listed as a distractor"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"p\"\nprompt.distractors = [\"a\", \"c\"]\nanswer.answer = [\"b\", \"c\"]\n"
        ),
        vec!["quizzes/q.toml:4:28: the answer \"c\" of question 1 is also listed as a distractor"]
    );
}

#[test]
fn duplicate_ids() {
    let toml = "[[questions]]\nid = \"x\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"a\"\nanswer.answer = \"b\"\n\n[[questions]]\nid = \"x\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"c\"\nanswer.answer = \"d\"\n";
    assert_eq!(
        errors(toml),
        vec!["quizzes/q.toml:8:6: duplicate question id \"x\" (first used at quizzes/q.toml:2)"]
    );
    // Across the quizzes of a book.
    let one = parse_ok(
        "[[questions]]\nid = \"x\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"a\"\nanswer.answer = \"b\"\n",
    );
    let mut two = one.clone();
    two.file = "src/chapter.md".into();
    let ds = quiz::check_unique_ids(&[&one, &two]);
    assert_eq!(ds.len(), 1);
    assert_eq!(
        format!("{}: {}", ds[0].location(), ds[0].message),
        "src/chapter.md:2: duplicate question id \"x\" (first used at q.toml:2)"
    );
    // The same quiz file included twice is not a duplicate.
    assert!(quiz::check_unique_ids(&[&one, &one]).is_empty());
}

#[test]
fn missing_quiz_file() {
    let err = std::io::Error::from(std::io::ErrorKind::NotFound);
    let d = quiz::unreadable_file(
        "src/chapter.md",
        7,
        1,
        Path::new("../quizzes/nope.toml"),
        &err,
    );
    assert_eq!(
        d.to_string(),
        "error: quiz file \"../quizzes/nope.toml\" not found\n  --> src/chapter.md:7:1\n   = help: the path is relative to the chapter's file"
    );
}

#[test]
fn wrong_types_and_values() {
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt = \"Ok\"\nanswer.answer = \"Yeah\"\ncontext = \"Hmm\"\n"
        ),
        vec![
            "quizzes/q.toml:3:10: the field \"prompt\" of question 1 (MultipleChoice) must be a table, not a string"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = 3\nprompt.distractors = [\"a\", 2]\nanswer.answer = \"b\"\n"
        ),
        vec![
            "quizzes/q.toml:3:17: the field \"prompt.prompt\" of question 1 (MultipleChoice) must be a string, not an integer",
            "quizzes/q.toml:4:28: the field \"prompt.distractors\" of question 1 (MultipleChoice) must be an array of strings, but it holds an integer",
        ]
    );
    assert_eq!(
        errors("[[questions]]\ntype = 1\n"),
        vec![
            "quizzes/q.toml:2:8: the field \"type\" of question 1 must be a string, not an integer"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"p\"\nprompt.distractors = [\"a\"]\nanswer.answer = []\n"
        ),
        vec![
            "quizzes/q.toml:5:17: the field \"answer.answer\" of question 1 (MultipleChoice) is empty: list at least one correct answer"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"p\"\nprompt.distractors = [\"a\"]\nprompt.answerIndex = 2\nanswer.answer = \"b\"\n"
        ),
        vec![
            "quizzes/q.toml:5:22: the field \"prompt.answerIndex\" of question 1 (MultipleChoice) is 2, but it can be at most 1 (the number of distractors)"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"MultipleChoice\"\nprompt.prompt = \"p\"\nprompt.distractors = [\"a\"]\nprompt.answerIndex = 0\nprompt.sortAnswers = true\nanswer.answer = \"b\"\n"
        ),
        vec![
            "quizzes/q.toml:6:22: question 1 (MultipleChoice) sets both \"prompt.answerIndex\" and \"prompt.sortAnswers\""
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nprompt.response = \"essay\"\nanswer.answer = \"b\"\n"
        ),
        vec![
            "quizzes/q.toml:4:19: the field \"prompt.response\" of question 1 (ShortAnswer) must be one of short, long, code, not \"essay\""
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"1/0\"\nanswer.doesCompile = \"no\"\n"
        ),
        vec![
            "quizzes/q.toml:4:22: the field \"answer.doesCompile\" of question 1 (Tracing) must be a boolean (true or false), not a string"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"1/0\"\nanswer.doesCompile = false\nanswer.lineNumber = 0\n"
        ),
        vec![
            "quizzes/q.toml:5:21: the field \"answer.lineNumber\" of question 1 (Tracing) must be a positive integer"
        ]
    );
    assert_eq!(
        errors(
            "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"print(1)\"\nanswer.doesCompile = true\nanswer.exception = \"ValueError\"\n"
        ),
        vec![
            "quizzes/q.toml:5:20: question 1 (Tracing) sets \"answer.exception\" but also \"answer.doesCompile = true\" (the program runs to the end)"
        ]
    );
    assert_eq!(
        errors("[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\n\n\"\"\"\n"),
        vec!["quizzes/q.toml:3:18: the field \"prompt.program\" of question 1 (Tracing) is empty"]
    );
    assert_eq!(
        errors("questions = [1]\n"),
        vec!["quizzes/q.toml:1:14: question 1 must be a table, not an integer"]
    );
}

#[test]
fn multipart_keys_must_exist() {
    assert_eq!(
        errors(
            "[multipart]\na = \"ctx\"\n\n[[questions]]\nmultipart = \"b\"\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nanswer.answer = \"x\"\n"
        ),
        vec![
            "quizzes/q.toml:5:13: question 1 (ShortAnswer) refers to the multipart context \"b\", which the quiz does not define"
        ]
    );
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let toml = "[[questions]]\ntype = \"Foo\"\n\n[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\n\n[[questions]]\nid = 4\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nanswer.answer = \"x\"\n";
    assert_eq!(
        errors(toml),
        vec![
            "quizzes/q.toml:2:8: unknown question type \"Foo\": expected one of MultipleChoice, ShortAnswer, Tracing",
            "quizzes/q.toml:4:1: question 2 (ShortAnswer) is missing the field \"answer.answer\"",
            "quizzes/q.toml:9:6: the field \"id\" of question 3 (ShortAnswer) must be a string, not an integer",
        ]
    );
}

#[test]
fn unknown_keys_are_warnings_with_a_suggestion() {
    let q = parse_ok(
        "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"print(1)\"\nanswer.doesCompile = true\nanswer.stdot = \"1\"\n",
    );
    assert_eq!(q.warnings.len(), 1);
    let w = &q.warnings[0];
    assert!(!w.is_error());
    assert_eq!(
        w.to_string(),
        "warning: unknown field \"answer.stdot\" in question 1 (Tracing), ignored\n  --> q.toml:5:8\n   = help: did you mean \"answer.stdout\"?"
    );
    // mdbook-quiz's own optional keys are known.
    let q = parse_ok(
        "[[questions]]\ntype = \"ShortAnswer\"\npromptExplanation = true\nprompt.prompt = \"p\"\nprompt.response = \"long\"\nanswer.answer = \"x\"\n",
    );
    assert!(q.warnings.is_empty());
}

#[test]
fn content_hash_follows_the_content() {
    let a = parse_ok(
        "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nanswer.answer = \"x\"\n",
    );
    let same = parse_ok(
        "# a comment\n[[questions]]\ntype   = \"ShortAnswer\"\nanswer.answer = \"x\"\nprompt.prompt = \"p\"\n",
    );
    let changed = parse_ok(
        "[[questions]]\ntype = \"ShortAnswer\"\nprompt.prompt = \"p\"\nanswer.answer = \"y\"\n",
    );
    assert_eq!(a.content_hash(), same.content_hash());
    assert_ne!(a.content_hash(), changed.content_hash());
    assert_eq!(a.content_hash().len(), 16);
}
