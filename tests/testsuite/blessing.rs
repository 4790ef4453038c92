//! `bless` settles exactly what `check` reports: after it, `check` passes
//! for every deterministic block; it follows `{{#include}}` as a build does,
//! and never writes a traceback the block does not ask for.

use crate::harness::{BookTest, cli, cli_ok};

/// Run `mdbook-python <command> book`: exit code and stderr.
fn run(command: &str, t: &BookTest) -> (i32, String) {
    cli(command, t.root(), &[])
}

#[test]
fn after_bless_check_passes() {
    let chapter = "# A\n\n```python\nprint(1 + 1)\n```\n\n```output\n3\n```\n\n```python\nfor i in range(3):\n    print(i)\n```\n\n```output\n0\n```\n\n```pycon\n>>> 2 * 3\n7\n>>> print('a')\n>>> 'x' * 2\n'xxx'\n```\n\n```python\nx = 1\n```\n\n```output\nleft over\n```\n\n```python\nprint('fine')\n```\n\n```output\nfine\n```\n";
    let t = BookTest::chapter(chapter);
    let (code, err) = run("check", &t);
    assert_eq!(code, 1, "{err}");
    let (code, err) = run("bless", &t);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.ends_with("mdbook-python: blessed 4 blocks in 1 file\n"),
        "{err}"
    );
    assert_eq!(
        t.read("src/a.md"),
        chapter
            .replace("```output\n3\n", "```output\n2\n")
            .replace("```output\n0\n", "```output\n0\n1\n2\n")
            .replace(">>> 2 * 3\n7\n", ">>> 2 * 3\n6\n")
            .replace(">>> print('a')\n", ">>> print('a')\na\n")
            .replace("'xxx'", "'xx'")
            .replace("```output\nleft over\n", "```output\n")
    );
    let (code, err) = run("check", &t);
    assert_eq!(code, 0, "{err}");
    let (_, err) = run("bless", &t);
    assert!(
        err.ends_with("mdbook-python: blessed 0 blocks in 0 files\n"),
        "{err}"
    );
}

#[test]
fn bless_runs_included_code_and_writes_the_chapters_output_block() {
    let chapter = "# A\n\n```python\n{{#include code.py}}\n```\n\n```output\nwrong\n```\n";
    let t = BookTest::chapter(chapter);
    t.write("src/code.py", "print('from the file')\n");
    let (code, err) = run("bless", &t);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.ends_with("mdbook-python: blessed 1 block in 1 file\n"),
        "{err}"
    );
    assert_eq!(
        t.read("src/a.md"),
        chapter.replace("wrong", "from the file")
    );
    cli_ok("check", t.root());
}

#[test]
fn bless_leaves_an_output_block_that_comes_from_an_included_file() {
    let part = "```python\nprint('real')\n```\n\n```output\nwritten\n```\n";
    let chapter = "# A\n\nSome prose.\n\n{{#include part.md}}\n\n```python\nprint(2)\n```\n\n```output\n3\n```\n";
    let t = BookTest::chapter(chapter);
    t.write("src/part.md", part);
    let (code, err) = run("bless", &t);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.starts_with(&format!(
            "warning: bless left an output block as it is: it is part of the text this line includes\n  --> {}/src/a.md:5\n   = help: fix the output block in the included file\n",
            t.root().display()
        )),
        "{err}"
    );
    assert!(
        err.ends_with("mdbook-python: blessed 1 block in 1 file\n"),
        "{err}"
    );
    assert_eq!(
        t.read("src/a.md"),
        chapter.replace("```output\n3\n", "```output\n2\n")
    );
    assert_eq!(t.read("src/part.md"), part);
}

#[test]
fn bless_never_writes_a_traceback_over_an_output_block() {
    let chapter = "# A\n\n```python\nprint('before')\nraise ValueError('oops')\n```\n\n```output\nbefore\nafter\n```\n\n```python,raises=KeyError\nprint('k')\n{}['missing']\n```\n\n```output\nold\n```\n";
    let t = BookTest::chapter(chapter);
    let (code, err) = run("bless", &t);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "warning: bless left this output block as it is: the snippet raised ValueError, which its block does not mark with `raises=`\n  --> {}/src/a.md:8\n   = help: fix the code, or mark the block `raises=ValueError` and run bless again\n",
            t.root().display()
        )),
        "{err}"
    );
    assert!(
        err.contains("error: this snippet raised ValueError: oops\n"),
        "{err}"
    );
    assert!(
        err.ends_with("mdbook-python: blessed 1 block in 1 file\n"),
        "{err}"
    );
    let text = t.read("src/a.md");
    assert!(text.contains("```output\nbefore\nafter\n```"), "{text}");
    assert!(
        text.contains("```output\nk\nTraceback (most recent call last):\n"),
        "{text}"
    );
}

#[test]
fn pytest_examples_inline_output_is_checked_and_blessed() {
    let chapter = "# A\n\n```python {test=\"skip\" lint=\"skip\"}\nprint('never run')\n#> wrong, but not run\n```\n\n```py\nx = [1, 2]\nprint(x)\n#> [1, 2]\nfor i in x:\n    print(i)\n    #> 1\n    #> 3\nprint('a\\n\\nb')\n#> a\n#> b\ndef f():\n    \"\"\"\n    A docstring, not output.\n    \"\"\"\nprint('long')\n\"\"\"\nshort\n\"\"\"\nprint({'a': [1, 2]})\n\"\"\"\n{\n    'a': [\n        1,\n        2,\n    ],\n}\n\"\"\"\n```\n";
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "inline-output = \"pytest-examples\"");
    let t = BookTest::with(&toml, &[("a.md", chapter)]);
    let errors = t.errors();
    assert_eq!(
        errors,
        vec![
            "error: the `#>` lines here do not match what the code above them prints\n  --> src/a.md:14\n   | --- expected\n   | +++ actual\n   | @@ -1,2 +1,2 @@\n   |  1\n   | -3\n   | +2\n   = help: fix the `#>` lines, or run `mdbook-python bless` to write the real output".to_string(),
            "error: the `#>` lines here do not match what the code above them prints\n  --> src/a.md:17\n   | --- expected\n   | +++ actual\n   | @@ -1,2 +1,3 @@\n   |  a\n   | +\n   |  b\n   = help: fix the `#>` lines, or run `mdbook-python bless` to write the real output".to_string(),
            "error: the `#>` lines here do not match what the code above them prints\n  --> src/a.md:24\n   | --- expected\n   | +++ actual\n   | @@ -1 +1 @@\n   | -short\n   | +long\n   = help: fix the `#>` lines, or run `mdbook-python bless` to write the real output".to_string(),
        ]
    );
    let (code, err) = run("bless", &t);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        t.read("src/a.md"),
        chapter
            .replace("    #> 1\n    #> 3\n", "    #> 1\n    #> 2\n")
            .replace("#> a\n#> b\n", "#> a\n#>\n#> b\n")
            .replace("\"\"\"\nshort\n", "\"\"\"\nlong\n")
    );
    let (code, err) = run("check", &t);
    assert_eq!(code, 0, "{err}");
    // Without the setting, `#>` lines are comments like any other.
    let t = BookTest::chapter(chapter);
    assert!(t.errors().is_empty(), "{:?}", t.errors());
}

#[test]
fn bless_writes_a_console_traceback_as_the_repl_shows_it() {
    let t =
        BookTest::chapter("# A\n\n```pycon\n>>> def f():\n...     return 1 / 0\n>>> f()\n1\n```\n");
    let (code, err) = run("bless", &t);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        t.read("src/a.md"),
        "# A\n\n```pycon\n>>> def f():\n...     return 1 / 0\n>>> f()\nTraceback (most recent call last):\n  File \"<stdin>\", line 1, in <module>\n  File \"<stdin>\", line 2, in f\nZeroDivisionError: division by zero\n```\n"
    );
    let (code, err) = run("check", &t);
    assert_eq!(code, 0, "{err}");
}
