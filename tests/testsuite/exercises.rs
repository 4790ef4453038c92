//! Exercises whose grader is proven at build time: the solution passes
//! every check, the starter and every wrong answer fail one.

use crate::harness::BookTest;

fn exercise(starter: &str, check: &str, solution: &str, wrong: &str) -> String {
    format!(
        "# A\n\n```python,exercise=double\n{starter}```\n\n```hint,exercise=double\nMultiply by **two**.\n```\n\n```python,check=double\n{check}```\n\n```python,solution=double\n{solution}```\n\n```python,wrong=double\n{wrong}```\n"
    )
}

const STARTER: &str = "def double(x):\n    ...\n";
const CHECK: &str = "assert double(2) == 4, \"double(2) should be 4\"\nassert double(-3) == -6, \"double(-3) should be -6\"\n";
const SOLUTION: &str = "def double(x):\n    return 2 * x\n";
const WRONG: &str = "def double(x):\n    return x + 2\n";

#[test]
fn a_good_exercise_builds_with_hints_and_solution_behind_disclosures() {
    let t = BookTest::chapter(&exercise(STARTER, CHECK, SOLUTION, WRONG));
    assert_eq!(t.errors(), Vec::<String>::new());
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(html.contains("<details class=\"mdpy-hint\"><summary>Hint 1</summary>\n<p>Multiply by <strong>two</strong>.</p>\n"), "{html}");
    assert!(html.contains("<details class=\"mdpy-solution\"><summary>Solution</summary>\n<pre><code class=\"language-py\">def double(x):\n    return 2 * x\n</code></pre>\n</details>"), "{html}");
    // The checks are in the runner's data only; the wrong answer is not on the page.
    let shown = &html[html.find("</div>").unwrap()..];
    assert!(!html.contains("x + 2"), "{html}");
    assert!(!shown.contains("assert double"), "{html}");
    let data = t.chapter_data("a.md");
    assert_eq!(data["s"][0]["ex"]["name"], "double");
    assert_eq!(data["s"][0]["ex"]["check"], CHECK);
    assert_eq!(data["s"][0]["ex"]["hints"], 1);
    // One runnable block: the starter.
    assert_eq!(html.matches("language-python").count(), 1, "{html}");
}

#[test]
fn a_starter_that_already_passes_fails_the_build() {
    let t = BookTest::chapter(&exercise(SOLUTION, CHECK, SOLUTION, WRONG));
    assert_eq!(
        t.errors(),
        vec!["error: the starter code of exercise `double` already passes every check\n  --> src/a.md:3\n   = help: make the checks demand what the exercise asks (a reader who presses Check without changing anything must not be told they solved it)".to_string()]
    );
}

#[test]
fn a_solution_that_fails_a_check_fails_the_build_with_the_checks_message() {
    let t = BookTest::chapter(&exercise(
        STARTER,
        CHECK,
        "def double(x):\n    return abs(2 * x)\n",
        WRONG,
    ));
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("error: the solution of exercise `double` fails its checks: AssertionError: double(-3) should be -6\n  --> src/a.md:17\n"), "{}", errors[0]);
}

#[test]
fn a_wrong_answer_that_passes_fails_the_build() {
    let t = BookTest::chapter(&exercise(
        STARTER,
        CHECK,
        SOLUTION,
        "def double(x):\n    return x + x\n",
    ));
    assert_eq!(
        t.errors(),
        vec!["error: this wrong answer to exercise `double` passes every check\n  --> src/a.md:22\n   = help: add a check that this answer fails: it is the mistake the exercise is about".to_string()]
    );
}

#[test]
fn incomplete_exercises_are_named() {
    let t =
        BookTest::chapter("```python,exercise=a\nx = 1\n```\n\n```python,check=b\nassert x\n```\n");
    assert_eq!(
        t.errors(),
        vec![
            "error: `check=b` names no exercise of this chapter\n  --> src/a.md:5\n   = help: add the starter code as a ```python,exercise=b block in this chapter, or fix the name".to_string(),
            "error: exercise `a` has no checks\n  --> src/a.md:1\n   = help: add a ```python,check=a block: asserts, run after the reader's code, with a message each (`assert f(2) == 4, \"f(2) should be 4\"`)".to_string(),
        ]
    );
}

#[test]
fn other_renderers_get_readable_markdown() {
    let t = BookTest::chapter(&exercise(STARTER, CHECK, SOLUTION, WRONG));
    let (report, texts) = t.run("markdown", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0);
    let md = &texts[0];
    assert!(
        md.contains("> **Hint 1.**\n>\n> Multiply by **two**.\n"),
        "{md}"
    );
    assert!(
        md.contains("**Solution:**\n\n```python\ndef double(x):\n    return 2 * x\n```\n"),
        "{md}"
    );
    assert!(
        !md.contains("x + 2") && !md.contains("assert double"),
        "{md}"
    );
}

/// A starter whose function raises when the checks call it: the traceback's
/// deepest frame is in the starter, lines above the checks. The worker once
/// reported that line relative to the checks (a negative number), its reply
/// did not parse, and the proof passed on a protocol error, uncached.
#[test]
fn an_attempt_that_raises_inside_its_own_function_is_judged_and_cached() {
    let starter = "def double(x):\n    return x.double()\n";
    let t = BookTest::chapter(&exercise(starter, CHECK, SOLUTION, WRONG));
    let (report, _) = t.run("html", mdbook_python::Mode::Check);
    let errors: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    assert_eq!(
        report.stats.run,
        3 * 2,
        "solution, starter and wrong answer, each with the checks"
    );
    let (again, _) = t.run("html", mdbook_python::Mode::Check);
    assert_eq!(
        (again.stats.run, again.stats.cached),
        (0, 6),
        "every proof is cached"
    );
}

/// The same in a session: the second block calls a function of the first
/// that raises; the build shows the traceback and says nothing else.
#[test]
fn a_session_block_calling_a_raising_function_of_an_earlier_block_is_reported_as_raised() {
    let t = BookTest::chapter(
        "```python,session=s\ndef f():\n    raise ValueError(\"no\")\n```\n\n```python,session=s,raises=ValueError\nprint(\"before\")\nf()\n```\n",
    );
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    let errors: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(errors, Vec::<String>::new());
    assert!(texts[0].contains("ValueError: no"), "{}", texts[0]);
}
