//! The runtime matrix: every block on several CPythons (3.13 primary, 3.11
//! in the matrix here; both are on this machine and CI's through pyenv).

use crate::harness::{BOOK_TOML, BookTest};

fn book(chapter: &str) -> BookTest {
    let toml = BOOK_TOML.replace(
        "jobs = 2",
        "jobs = 2\npython = \"3.13\"\nmatrix = [\"3.11\"]",
    );
    BookTest::with(&toml, &[("a.md", chapter)])
}

const THRESHOLD: &str = "```python,versions=differ\nimport gc\nprint(gc.get_threshold())\n```\n";

#[test]
fn a_version_independent_block_passes_and_a_marked_one_shows_every_output() {
    let t = book(&format!(
        "# A\n\n```python\nprint(sum(range(10)))\n```\n\n{THRESHOLD}"
    ));
    assert_eq!(t.errors(), Vec::<String>::new());
    t.build().unwrap();
    let html = t.main_html("a.md");
    // Both outputs, each labelled with its versions, the primary's first
    // and chosen; a radio group a keyboard can move through.
    let first = html.find("(2000, 10, 10)").expect("3.13's output");
    let second = html.find("(700, 10, 10)").expect("3.11's output");
    assert!(first < second, "{html}");
    assert!(html.contains("<label for=\"mdpy-v"), "{html}");
    assert!(html.contains(" (build)</label>"), "{html}");
    assert!(html.contains("role=\"group\""), "{html}");
    assert_eq!(html.matches("type=\"radio\"").count(), 2, "{html}");
    assert_eq!(html.matches(" checked=\"\"").count(), 1, "{html}");
    assert_eq!(t.text_blocks("a.md"), vec!["45\n".to_string()]);
}

#[test]
fn an_unmarked_difference_fails_naming_both_versions() {
    let t = book("```python\nimport gc\nprint(gc.get_threshold())\n```\n");
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    assert!(
        e.starts_with("error: this block prints something else on Python 3.11."),
        "{e}"
    );
    assert!(
        e.contains(" (matrix: 3.11) than on Python 3.13.0 (`python`)\n  --> src/a.md:2\n"),
        "{e}"
    );
    assert!(
        e.contains("   | -(2000, 10, 10)\n   | +(700, 10, 10)\n"),
        "{e}"
    );
    assert!(
        e.contains("= help: mark the block `versions=differ`"),
        "{e}"
    );
}

#[test]
fn an_output_block_can_lock_one_versions_text() {
    let good = book(
        "```python\nimport gc\nprint(gc.get_threshold())\n```\n\n```output\n(2000, 10, 10)\n```\n\n```output,python=3.11\n(700, 10, 10)\n```\n",
    );
    assert_eq!(good.errors(), Vec::<String>::new());
    let bad = book(
        "```python\nimport gc\nprint(gc.get_threshold())\n```\n\n```output\n(2000, 10, 10)\n```\n\n```output,python=3.11\n(701, 10, 10)\n```\n",
    );
    let errors = bad.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("error: the `output,python=3.11` block does not match what this block prints on Python 3.11."), "{}", errors[0]);
}

#[test]
fn min_python_gates_a_block_per_runtime() {
    // `type X = int` is 3.12 syntax: it runs on 3.13 and is never tried on 3.11.
    let t = book(
        "```python,min-python=3.12\ntype Pair = tuple[int, int]\nprint(Pair.__value__)\n```\n\n```output\ntuple[int, int]\n```\n",
    );
    assert_eq!(t.errors(), Vec::<String>::new());
}

#[test]
fn a_quiz_key_that_depends_on_the_version_fails() {
    let t = book("# A\n\n{{#quiz q.toml}}\n");
    t.write(
        "src/q.toml",
        "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nimport gc\nprint(gc.get_threshold()[0])\n\"\"\"\nanswer.doesCompile = true\nanswer.stdout = \"2000\"\n",
    );
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "error: the program of quiz question 1 prints something else on Python 3.11."
        ),
        "{}",
        errors[0]
    );
    // Marked version-specific, the key is the build's Python's.
    t.write(
        "src/q.toml",
        "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nimport gc\nprint(gc.get_threshold()[0])\n\"\"\"\nprompt.versions = \"differ\"\nanswer.doesCompile = true\nanswer.stdout = \"2000\"\n",
    );
    assert_eq!(t.errors(), Vec::<String>::new());
}

#[test]
fn check_ends_with_the_matrix_table_and_runtime_runs_one_alone() {
    let t = book(&format!("# A\n\n```python\nprint(1)\n```\n\n{THRESHOLD}"));
    let (code, err) = crate::harness::cli("check", t.root(), &[]);
    assert_eq!(code, 0, "{err}");
    let table: Vec<&str> = err.lines().rev().take(3).collect();
    assert!(
        table[2].starts_with("runtime  version  run  same as primary  marked different  failing"),
        "{err}"
    );
    assert!(
        table[1].starts_with("3.13     3.13.0   2    2                0                 0"),
        "{err}"
    );
    assert!(table[0].starts_with("3.11     3.11."), "{err}");
    assert!(
        table[0].ends_with("2    1                1                 0"),
        "{err}"
    );
    let err = crate::harness::cli_ok("check --runtime 3.11", t.root());
    // Already run as part of the matrix: from the cache, per runtime.
    assert!(
        err.contains("2 snippets, 0 run, 2 cached, 0 failed"),
        "{err}"
    );
    assert!(
        !err.contains("runtime  version"),
        "one runtime, no table: {err}"
    );
}

#[test]
fn a_missing_runtime_says_where_it_looked() {
    let toml = BOOK_TOML.replace("jobs = 2", "matrix = [\"3.99\"]");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].starts_with("error: `matrix` runtime `3.99`: no Python 3.99 found: looked for `python3.99` on PATH, in "), "{}", errors[0]);
    assert!(
        errors[0].contains("= help: install it (`pyenv install 3.X` or `uv python install 3.X`)"),
        "{}",
        errors[0]
    );
}
