//! Every failure is an error that names the Markdown file and line, says
//! what is wrong and how to fix it. Messages are asserted exactly.

use crate::harness::{BOOK_TOML, BookTest};

fn first_error(chapter: &str) -> String {
    let errors = BookTest::chapter(chapter).errors();
    assert!(!errors.is_empty(), "expected an error for {chapter:?}");
    errors[0].clone()
}

#[test]
fn a_wrong_output_block_fails_with_a_diff() {
    let e = first_error(
        "# A\n\n```python\nprint('one')\nprint('two')\n```\n\n```output\none\n2\n```\n",
    );
    assert_eq!(
        e,
        "error: the output block does not match what the snippet prints\n  --> src/a.md:8\n   | --- expected\n   | +++ actual\n   | @@ -1,2 +1,2 @@\n   |  one\n   | -2\n   | +two\n   = help: fix the output block, run `mdbook-python bless` to write the real output, or mark the block `nondeterministic` if it varies"
    );
}

#[test]
fn the_build_fails_and_names_the_error_count() {
    let t = BookTest::chapter("```python\nprint(1)\n```\n\n```output\n2\n```\n");
    let err = t.build().unwrap_err();
    assert!(
        err.contains("mdbook-python: 1 error (see above); the book was not built"),
        "{err}"
    );
}

#[test]
fn trailing_whitespace_and_ellipsis_are_accepted() {
    let t = BookTest::chapter(
        "```python\nprint('a   ')\nprint(object())\n```\n\n```output,ellipsis\na\n<object object at 0x...>\n\n```\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
}

#[test]
fn nondeterministic_output_is_a_sample() {
    let t = BookTest::chapter(
        "```python,nondeterministic\nimport time\nprint(time.time())\n```\n\n```output\n12.5\n```\n",
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
}

#[test]
fn an_unexpected_exception_points_at_its_line() {
    let e = first_error("text\n\n```python\nx = 1\nprint(x / 0)\n```\n");
    assert!(e.starts_with("error: this snippet raised ZeroDivisionError: division by zero\n  --> src/a.md:5\n   | Traceback (most recent call last):\n   |   File \"src/a.md\", line 5, in <module>\n"), "{e}");
    assert!(e.ends_with("   = help: fix the code, or mark the block `raises=ZeroDivisionError` if the exception is the point"), "{e}");
}

#[test]
fn lone_cr_line_endings_count_as_lines() {
    // CommonMark: LF, CRLF and a lone CR each end a line (pulldown-cmark
    // finds no fence whose lines end in a lone CR, so they are in the prose).
    let e = first_error("text\rmore\r\rpara\r\n\n```python\nx = 1\nprint(x / 0)\n```\n");
    assert!(e.starts_with("error: this snippet raised ZeroDivisionError: division by zero\n  --> src/a.md:8\n   | Traceback (most recent call last):\n   |   File \"src/a.md\", line 8, in <module>\n"), "{e}");
}

#[test]
fn raises_checks_the_exception() {
    assert_eq!(
        first_error("```python,raises=ValueError\nprint('fine')\n```\n"),
        "error: this snippet should raise ValueError, but it finished without an exception\n  --> src/a.md:2\n   = help: remove `raises=` from the block, or make the code raise"
    );
    let e = first_error("```python,raises=KeyError\n[][1]\n```\n");
    assert!(e.starts_with("error: this snippet should raise KeyError, but it raised IndexError: list index out of range\n  --> src/a.md:2\n"), "{e}");
    let ok = BookTest::chapter("```python,raises=LookupError\n{}['k']\n```\n");
    assert!(
        ok.errors().is_empty(),
        "a subclass matches: {:?}",
        ok.errors()
    );
}

#[test]
fn a_timeout_names_the_line_it_stopped_at() {
    let e = first_error("# A\n\n```python,timeout=0.5\nx = 0\nwhile True:\n    x += 1\n```\n");
    assert!(
        e.starts_with(
            "error: this snippet ran past its timeout of 0.5 s and was stopped\n  --> src/a.md:"
        ),
        "{e}"
    );
    assert!(e.ends_with("= help: make it finish sooner, or give it more time with `timeout=SECONDS` on the block (or `timeout` in [preprocessor.python])"), "{e}");
}

#[test]
fn after_a_timeout_the_next_snippet_runs_normally() {
    let t = BookTest::chapter(
        "```python,timeout=0.3\nimport time\nwhile True: time.sleep(0.01)\n```\n\n```python\nprint('next')\n```\n\n```output\nnext\n```\n",
    );
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
}

#[test]
fn a_crash_is_reported_and_the_next_snippet_runs() {
    let t = BookTest::chapter(
        "```python\nimport os\nos._exit(3)\n```\n\n```python\nprint('after')\n```\n\n```output\nafter\n```\n",
    );
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].starts_with("error: the interpreter died while running this snippet: the interpreter exited with status 3\n  --> src/a.md:2\n"), "{}", errors[0]);
}

#[test]
fn unknown_attributes_suggest_the_closest() {
    assert_eq!(
        first_error("# A\n\n```python,sesion=a\nprint(1)\n```\n"),
        "error: unknown attribute `sesion=a` on a Python block\n  --> src/a.md:3\n   = help: did you mean `session`? Known attributes: norun, run, raises=, nondeterministic, session=, timeout=, min-python=, nobrowser, browser-only, browser=differs, versions=differ, exercise=, check=, solution=, wrong=, hidelines=, alt="
    );
}

#[test]
fn a_bad_timeout_value() {
    assert_eq!(
        first_error("```python,timeout=-1\nprint(1)\n```\n"),
        "error: bad value `-1` for `timeout=`: expected a number of seconds from 0.05 to 86400\n  --> src/a.md:1\n   = help: write for example `timeout=30`"
    );
}

#[test]
fn an_output_block_without_a_python_block() {
    assert_eq!(
        first_error("# A\n\n```output\nhello\n```\n"),
        "warning: this `output` block does not follow a Python block, so nothing checks it\n  --> src/a.md:3\n   = help: put it right under a ```python block (only blank lines between), or use ```text to show text"
    );
}

#[test]
fn an_unterminated_fence() {
    assert_eq!(
        first_error("# A\n\n```python\nprint(1)\n"),
        "error: the ```python block opened here is never closed\n  --> src/a.md:3\n   = help: add a closing fence (the same characters, at least as many) after the block's last line"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let t = BookTest::chapter(
        "```python,bogus\n1\n```\n\n```python,timeout=x\n2\n```\n\n```output\n3\n```\n",
    );
    // Both bad blocks are reported; the output block after the second one is
    // attached to it, so it is not an orphan.
    assert_eq!(t.errors().len(), 2, "{:?}", t.errors());
}

#[test]
fn config_errors_name_book_toml_and_the_key() {
    let toml = BOOK_TOML.replace("jobs = 2", "jobs = 2\noutput-limt = 10");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    assert_eq!(
        t.errors(),
        vec!["error: unknown key `output-limt` in [preprocessor.python]\n  --> book.toml:6\n   = help: did you mean `output-limit`?".to_string()]
    );
}

#[test]
fn a_missing_interpreter() {
    let toml = BOOK_TOML.replace("jobs = 2", "python = \"python3.99-not-here\"");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    assert_eq!(
        t.errors(),
        vec!["error: cannot run the Python interpreter `python3.99-not-here`: No such file or directory (os error 2)\n  --> book.toml\n   = help: set `python` in [preprocessor.python] to a Python 3.8+ interpreter: a command on PATH or a path, e.g. `.venv/bin/python`".to_string()]
    );
}

#[test]
fn a_too_old_interpreter_is_one_error_before_anything_runs() {
    let toml = BOOK_TOML.replace("jobs = 2", "python = \"./old-python\"");
    let t = BookTest::with(
        &toml,
        &[(
            "a.md",
            "```python\nprint(1)\n```\n\n```python\nprint(2)\n```\n",
        )],
    );
    // Answers the interpreter probe like a CPython 3.7 would.
    t.write(
        "old-python",
        "#!/bin/sh\necho '[\"/usr/bin/python3.7\", [3, 7, 16], \"3.7.16 (default)\", [], []]'\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        t.root().join("old-python"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    assert_eq!(
        t.errors(),
        vec!["error: `./old-python` is Python 3.7.16; mdbook-python needs Python 3.8 or newer\n  --> book.toml\n   = help: set `python` in [preprocessor.python] to a Python 3.8+ interpreter: a command on PATH or a path, e.g. `.venv/bin/python`".to_string()]
    );
}

#[test]
fn pycon_sessions_are_checked_line_by_line() {
    let e = first_error("# A\n\n```pycon\n>>> 1 + 1\n2\n>>> print('x')\ny\n```\n");
    assert_eq!(
        e,
        "error: the output of this `>>>` statement does not match\n  --> src/a.md:6\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -y\n   | +x\n   = help: fix the lines under the statement, or run `mdbook-python bless` to write the real output"
    );
    let ok = BookTest::chapter(
        "```pycon\n>>> [][0]\nTraceback (most recent call last):\n  ...\nIndexError: list index out of range\n>>> 'a' * 3\n'aaa'\n```\n",
    );
    assert!(ok.errors().is_empty(), "{:?}", ok.errors());
}

#[test]
fn norun_blocks_are_never_executed() {
    let t = BookTest::chapter("```python,norun\nthis is not python\n```\n");
    assert!(t.errors().is_empty());
}

#[test]
fn run_marked_runs_only_marked_blocks() {
    let toml = BOOK_TOML.replace("jobs = 2", "run = \"marked\"");
    let t = BookTest::with(
        &toml,
        &[(
            "a.md",
            "```python\nnot python\n```\n\n```python,run\nprint('ran')\n```\n",
        )],
    );
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    assert_eq!(report.snippets, 1);
    assert!(texts[0].contains("```text\nran\n```"), "{}", texts[0]);
}

#[test]
fn an_unknown_label_names_its_line() {
    let toml = BOOK_TOML.replace(
        "jobs = 2",
        "jobs = 2\n\n[preprocessor.python.labels]\nrun = \"Los\"\nrnu = \"x\"",
    );
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    assert_eq!(
        t.errors(),
        vec!["error: unknown label `rnu` in [preprocessor.python.labels]\n  --> book.toml:9\n   = help: did you mean `run`?".to_string()]
    );
}

#[test]
fn renderers_that_leave_out_one_of_the_books_renderers_fail_the_build() {
    let toml =
        BOOK_TOML.replace("jobs = 2", "jobs = 2\nrenderers = [\"html\"]") + "\n[output.markdown]\n";
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    let err = t.build().unwrap_err();
    assert!(err.contains("1 error"), "{err}");
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("error: `renderers` leaves out `markdown`")
            && errors[0].contains("--> book.toml:6"),
        "{}",
        errors[0]
    );
    // Listing both, the book builds, and the Markdown gets its outputs too.
    t.write(
        "book.toml",
        &toml.replace("[\"html\"]", "[\"html\", \"markdown\"]"),
    );
    t.build().unwrap();
    let md = t.read("out/markdown/a.md");
    assert!(md.contains("```text\n1\n```"), "{md}");
}

#[test]
fn a_block_timeout_too_small_or_not_a_number_is_refused() {
    let chapter = "# A\n\n```python,timeout=1e-9\nprint(1)\n```\n\n```python,timeout=0\nprint(2)\n```\n\n```python,timeout=nan\nprint(3)\n```\n\n```python,timeout=inf\nprint(4)\n```\n";
    let expected: Vec<String> = [("1e-9", 3), ("0", 7), ("nan", 11), ("inf", 15)]
        .iter()
        .map(|(value, line)| format!("error: bad value `{value}` for `timeout=`: expected a number of seconds from 0.05 to 86400\n  --> src/a.md:{line}\n   = help: write for example `timeout=30`"))
        .collect();
    assert_eq!(BookTest::chapter(chapter).errors(), expected);
}

/// The errors of a book whose `[preprocessor.python]` holds `lines` (from
/// book.toml's line 5 on).
fn config_errors(lines: &str) -> Vec<String> {
    let toml = format!("[book]\ntitle = \"test\"\n\n[preprocessor.python]\n{lines}");
    BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]).errors()
}

fn config_error(line: usize, key: &str, expected: &str, written: &str) -> String {
    format!(
        "error: `preprocessor.python.{key}` must be {expected}, not `{written}`\n  --> book.toml:{line}"
    )
}

#[test]
fn every_bad_timeout_names_its_key_and_line() {
    for (i, written) in ["nan", "inf", "-inf", "-1", "0", "1e-9", "0.01", "86401"]
        .into_iter()
        .enumerate()
    {
        let lines = format!("{}timeout = {written}\n", "\n".repeat(i));
        assert_eq!(
            config_errors(&lines),
            [config_error(
                5 + i,
                "timeout",
                "a number of seconds from 0.05 to 86400",
                written
            )]
        );
    }
}

#[test]
fn every_numeric_key_refuses_nan_infinities_negatives_and_overflow() {
    let lines = "memory-limit = 17592186044416\nfile-size-limit = nan\nopen-files-limit = -1\nprocess-limit = inf\noutput-limit = -5\njobs = nan\n";
    let mib = "a whole number of MiB from 0 (no limit) to 17592186044415";
    assert_eq!(
        config_errors(lines),
        [
            config_error(5, "memory-limit", mib, "17592186044416"),
            config_error(6, "file-size-limit", mib, "nan"),
            config_error(7, "open-files-limit", "a whole number (0: no limit)", "-1"),
            config_error(8, "process-limit", "a whole number (0: no limit)", "inf"),
            config_error(9, "output-limit", "a positive number of bytes", "-5"),
            config_error(10, "jobs", "a whole number from 1 to 256", "nan"),
        ]
    );
}

#[test]
fn empty_strings_are_refused() {
    let lines =
        "python = \"\"\ncache-dir = \"\"\npyodide-url = \" \"\nbrowser-check-pyodide = \"\"\n";
    assert_eq!(
        config_errors(lines),
        [
            config_error(
                5,
                "python",
                "a non-empty string (a command or a path)",
                "\"\""
            ),
            config_error(6, "cache-dir", "a path", "\"\""),
            config_error(
                7,
                "pyodide-url",
                "a URL or a path relative to the book's root",
                "\" \""
            ),
            config_error(
                8,
                "browser-check-pyodide",
                "the path of the npm `pyodide` package's folder",
                "\"\""
            ),
        ]
    );
}

/// `mdbook-python check` (mdBook's `links` preprocessor runs first, as in a
/// build): its diagnostics, one string each.
fn check_errors(t: &BookTest) -> Vec<String> {
    let out = std::process::Command::new(crate::harness::bin())
        .args(["check", "."])
        .current_dir(t.root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    err.split("\n\n")
        .filter(|d| d.starts_with("error") || d.starts_with("warning"))
        .map(|d| d.trim_end().to_string())
        .collect()
}

#[test]
fn lines_below_and_inside_an_include_are_the_written_ones() {
    let t = BookTest::chapter(
        "# A\n\n```python\n{{#include code/demo.py:1:3}}\n```\n\nSome prose.\n\n```python\nx = 1\nraise ValueError('here')\n```\n",
    );
    std::fs::create_dir_all(t.root().join("src/code")).unwrap();
    t.write(
        "src/code/demo.py",
        "def f():\n    return 1\nraise KeyError(f())\nnot included\n",
    );
    assert_eq!(
        check_errors(&t),
        vec![
            "error: this snippet raised KeyError: 1\n  --> src/code/demo.py:3 (included by src/a.md:4)\n   | Traceback (most recent call last):\n   |   File \"src/code/demo.py\", line 3, in <module>\n   |     raise KeyError(f())\n   | KeyError: 1\n   = help: fix the code, or mark the block `raises=KeyError` if the exception is the point",
            "error: this snippet raised ValueError: here\n  --> src/a.md:11\n   | Traceback (most recent call last):\n   |   File \"src/a.md\", line 11, in <module>\n   |     raise ValueError('here')\n   | ValueError: here\n   = help: fix the code, or mark the block `raises=ValueError` if the exception is the point",
        ]
    );
}

#[test]
fn an_output_block_below_an_anchored_include_is_at_its_line() {
    let t =
        BookTest::chapter("# A\n\n```python\n{{#include lib.py:part}}\n```\n\n```output\n2\n```\n");
    t.write(
        "src/lib.py",
        "import os\n# ANCHOR: part\nx = 1\nprint(x)\n# ANCHOR_END: part\n",
    );
    assert_eq!(
        check_errors(&t),
        vec![
            "error: the output block does not match what the snippet prints\n  --> src/a.md:7\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -2\n   | +1\n   = help: fix the output block, run `mdbook-python bless` to write the real output, or mark the block `nondeterministic` if it varies"
        ]
    );
}

#[test]
fn an_included_pycon_session_is_checked_at_the_included_line() {
    let t = BookTest::chapter(
        "# A\n\n{{#include intro.md}}\n\n```pycon\n{{#include s.txt}}\n```\n\n```pycon\n>>> 1 + 1\n3\n```\n",
    );
    t.write("src/intro.md", "one\ntwo\nthree\n");
    t.write("src/s.txt", ">>> x = 2\n>>> x * 2\n5\n");
    let help = "   = help: fix the lines under the statement, or run `mdbook-python bless` to write the real output";
    assert_eq!(
        check_errors(&t),
        vec![
            format!(
                "error: the output of this `>>>` statement does not match\n  --> src/s.txt:2 (included by src/a.md:6)\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -5\n   | +4\n{help}"
            ),
            format!(
                "error: the output of this `>>>` statement does not match\n  --> src/a.md:10\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -3\n   | +2\n{help}"
            ),
        ]
    );
}

#[test]
fn a_prompt_without_its_space_is_named_not_fatal() {
    let t = BookTest::chapter(
        "# A\n\n```pycon\n>>> 1\n1\n>>>print(1)\n1\n```\n\n```python\nprint('still runs')\n```\n\n```output\nstill runs\n```\n",
    );
    assert_eq!(
        t.errors(),
        vec!["error: this console session cannot be run: doctest reads this line as one that lacks blank after >>>: '>>>print(1)'\n  --> src/a.md:6\n   = help: put a space after the prompt, as Python's prompt shows it: `>>> print(1)`, `... x`".to_string()]
    );
}

#[test]
fn a_python_block_written_as_a_console_session_is_one() {
    let t = BookTest::chapter(
        "# A\n\n```python\n>>> print(\"~/projects\")\n~/projects\n>>> 1 + 1\n3\n```\n",
    );
    let (report, _) = t.run("html", mdbook_python::Mode::Build);
    let errors: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        errors,
        vec!["error: the output of this `>>>` statement does not match\n  --> src/a.md:6\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -3\n   | +2\n   = help: fix the lines under the statement, or run `mdbook-python bless` to write the real output".to_string()]
    );
    assert_eq!(
        report.notes.lines(),
        vec![
            "1 console session found in python blocks (a first code line starting with `>>> `), checked as doctest runs them"
        ]
    );
}

#[test]
fn an_ipython_transcript_is_reported_unchecked() {
    let t = BookTest::chapter("# A\n\n```pycon\nIn [1]: 1 + 1\nOut[1]: 3\n```\n");
    assert_eq!(
        t.errors(),
        vec!["warning: this console session has no `>>>` prompt, so it is not checked: `In [1]: 1 + 1`\n  --> src/a.md:4\n   = help: write it as Python's prompt shows it (`>>> ` before each statement), or make it a ```text block".to_string()]
    );
}

#[test]
fn a_wrong_transcript_is_published_with_its_diff_under_warn() {
    let toml = BOOK_TOML.replace("jobs = 2", "on-mismatch = \"warn\"");
    let t = BookTest::with(&toml, &[("a.md", "# A\n\n```pycon\n>>> 2 * 3\n7\n```\n")]);
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("<strong>mdbook-python: this console session does not match what Python prints</strong>\n<pre><code class=\"nohighlight\">--- expected\n+++ actual\n@@ -1 +1 @@\n-7\n+6</code></pre>"),
        "{html}"
    );
}

#[test]
fn a_planning_error_drops_its_block_only() {
    let t = BookTest::chapter(
        "# A\n\n```python,noruns\nx\n```\n\n```python {test=\"skip\" lint=\"skip\"}\nnot python\n```\n\n```python\nprint(1)\n```\n\n```output\n2\n```\n",
    );
    let errors = t.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with("error: unknown attribute `noruns` on a Python block\n  --> src/a.md:3\n   = help: did you mean `norun`?"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with(
            "error: the output block does not match what the snippet prints\n  --> src/a.md:15\n"
        ),
        "{}",
        errors[1]
    );
}

#[test]
fn a_text_block_contradicting_the_output_is_a_warning() {
    let t = BookTest::chapter(
        "# A\n\n```python3\nprint('real')\n```\n\n```text\nwritten\n```\n\n```py\n    print('same')\n```\n\n```text\nsame\n```\n",
    );
    let (report, _) = t.run("html", mdbook_python::Mode::Build);
    let all: Vec<String> = report.diagnostics.iter().map(|d| d.to_string()).collect();
    assert_eq!(
        all,
        vec!["warning: the ```text block under this snippet does not match what it prints\n  --> src/a.md:7\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -written\n   | +real\n   = help: make it an ```output block to have it checked (and written by bless), fix it, or put a line of prose between them if it shows something else".to_string()]
    );
    assert_eq!(
        report.notes.lines(),
        vec!["1 code block indented as a whole ran dedented"]
    );
}

#[test]
fn qualified_exception_names_match_and_are_named() {
    let t = BookTest::chapter(
        "# A\n\n```python,raises=curses.error\nimport curses\nraise curses.error('boom')\n```\n\n```python\nimport curses\nraise curses.error('boom')\n```\n",
    );
    assert_eq!(
        t.errors(),
        vec!["error: this snippet raised curses.error: boom\n  --> src/a.md:10\n   | Traceback (most recent call last):\n   |   File \"src/a.md\", line 10, in <module>\n   |     raise curses.error('boom')\n   | _curses.error: boom\n   = help: fix the code, or mark the block `raises=curses.error` if the exception is the point".to_string()]
    );
}
