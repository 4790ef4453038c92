//! Quizzes in the pipeline: files and inline blocks, Tracing keys computed
//! by CPython, mismatches and missing files reported at their line.

use crate::harness::{BOOK_TOML, BookTest};

const INLINE: &str = "# A\n\nText.\n\n```quiz\n[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nx = [1]\ny = x\ny.append(2)\nprint(x)\n\"\"\"\nanswer.doesCompile = true\nanswer.stdout = \"WRONG\"\n```\n";

#[test]
fn a_wrong_tracing_answer_fails_the_build_with_a_diff() {
    let errors = BookTest::chapter(INLINE).errors();
    assert_eq!(
        errors,
        vec!["error: the output written in question 1 (Tracing) does not match what the program prints\n  --> src/a.md:15\n   | --- written answer\n   | +++ CPython\n   | @@ -1 +1 @@\n   | -WRONG\n   | +[1, 2]\n   = help: correct the answer, or delete it: the build computes it from the program".to_string()]
    );
}

#[test]
fn the_key_is_computed_and_rendered_as_a_widget() {
    let t = BookTest::chapter(
        &INLINE.replace("answer.doesCompile = true\nanswer.stdout = \"WRONG\"\n", ""),
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(html.contains("class=\"mdpy-quiz"), "{html}");
    assert!(
        !html.contains("language-quiz"),
        "the quiz block is replaced: {html}"
    );
}

#[test]
fn quiz_files_are_relative_to_the_chapter() {
    let t = BookTest::with(
        BOOK_TOML,
        &[("part/a.md", "# A\n\n{{#quiz ../quizzes/q.toml}}\n")],
    );
    std::fs::create_dir_all(t.root().join("src/quizzes")).unwrap();
    t.write(
        "src/quizzes/q.toml",
        "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nprint('a')\n1 / 0\n\"\"\"\nanswer.doesCompile = false\nanswer.lineNumber = 2\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
    t.write("src/quizzes/q.toml", "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"print(1)\"\nanswer.doesCompile = false\nanswer.lineNumber = 1\n");
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("--> src/quizzes/q.toml:"),
        "{}",
        errors[0]
    );
}

#[test]
fn a_missing_quiz_file() {
    let t = BookTest::chapter("# A\n\nSee: {{#quiz nope.toml}}\n");
    assert_eq!(
        t.errors(),
        vec!["error: quiz file \"nope.toml\" not found\n  --> src/a.md:3:6\n   = help: the path is relative to the chapter's file".to_string()]
    );
}

#[test]
fn quiz_language_sets_the_language_of_programs_that_name_none() {
    let rust = "# A\n\n```quiz\n[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nfn main() {\n    let v = vec![1];\n    println!(\"{:?}\", v);\n}\n\"\"\"\nanswer.doesCompile = true\nanswer.stdout = \"[1]\"\n\n[[questions]]\ntype = \"Tracing\"\nprompt.language = \"python\"\nprompt.program = \"print([1])\"\nanswer.doesCompile = true\nanswer.stdout = \"[2]\"\n```\n";
    let toml = BOOK_TOML.replace("jobs = 2", "quiz-language = \"rust\"");
    let t = BookTest::with(&toml, &[("a.md", rust)]);
    let (report, _) = t.run("html", mdbook_python::Mode::Build);
    let errors: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    // The Rust program is not run as Python (it would not parse); the
    // Python one still is, and its wrong answer is found.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("error: the output written in question 2 (Tracing) does not match what the program prints"),
        "{}",
        errors[0]
    );
    assert_eq!(report.stats.programs, 1);
    assert_eq!(
        report.notes.lines(),
        vec!["1 quiz program in rust not run (answers taken as written)"]
    );
    // Without the setting, the program is Python, and fails to parse.
    let t = BookTest::chapter(rust);
    assert_eq!(t.errors().len(), 2, "{:?}", t.errors());
}
