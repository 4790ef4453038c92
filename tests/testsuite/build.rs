//! What a reader sees: outputs injected under snippets, escaped, in every
//! container, with sessions, stdin, hidden lines and notes.

use crate::harness::BookTest;

#[test]
fn injects_the_real_output_escaped() {
    let t = BookTest::chapter(
        "# A\n\n```python\nprint('<script>alert(1)</script>')\nprint(6 * 7)\n```\n",
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    // The output is a plain text block under the code (the runner labels it).
    assert!(
        html.contains("<pre><code class=\"language-text\">&lt;script&gt;alert(1)&lt;/script&gt;\n42\n</code></pre>"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    // A plain block's entry: only its first code line (tracebacks in the browser name it).
    assert_eq!(t.chapter_data("a.md")["s"], serde_json::json!([{"l": 4}]));
}

#[test]
fn attributes_never_become_css_classes() {
    let t = BookTest::chapter(
        "```python,norun,nobrowser,session=x\nprint(1)\n```\n\n```python,nondeterministic,timeout=5\nprint(2)\n```\n",
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert_eq!(
        html.matches("<code class=\"language-python\">").count(),
        2,
        "{html}"
    );
    for word in [
        "norun",
        "nobrowser",
        "session",
        "nondeterministic",
        "timeout",
        "playground",
    ] {
        assert!(
            !html.contains(&format!("class=\"language-python {word}")),
            "{word} leaked: {html}"
        );
    }
}

#[test]
fn a_snippet_that_prints_nothing_gets_no_output_block() {
    let t = BookTest::chapter("```python\nx = 1\n```\n");
    t.build().unwrap();
    assert!(!t.main_html("a.md").contains("mdpy-output"));
}

#[test]
fn sessions_share_variables_in_page_order() {
    let t = BookTest::chapter(
        "```python,session=s\nx = 40\n```\n\n```python\nprint('other')\n```\n\n```python,session=s\nx += 2\nprint(x)\n```\n",
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert_eq!(t.text_blocks("a.md"), ["other\n", "42\n"], "{html}");
    let data = t.chapter_data("a.md");
    assert_eq!(data["s"][0]["session"], "s");
    assert_eq!(data["s"][2]["session"], "s");
    assert_eq!(data["file"], "src/a.md");
    // What browser tracebacks and labels need: the first code line, the build's Python.
    assert_eq!(data["s"][2]["l"], 10);
    let py = data["py"].as_str().unwrap();
    assert!(py.starts_with("3.") && py.matches('.').count() == 1, "{py}");
}

/// The page data names where the code was written, so the browser's
/// tracebacks name the lines the build's do: an included file at its line.
#[test]
fn the_page_data_names_the_written_file_and_line_of_included_code() {
    let t = BookTest::chapter(
        "# A\n\n```python,raises=KeyError\n{{#include code/demo.py:2:3}}\n```\n\n```python\nprint(1)\n```\n",
    );
    std::fs::create_dir_all(t.root().join("src/code")).unwrap();
    t.write("src/code/demo.py", "# demo\nx = 1\nraise KeyError(x)\n");
    t.build().unwrap();
    let data = t.chapter_data("a.md");
    assert_eq!(data["s"][0]["f"], "src/code/demo.py");
    assert_eq!(data["s"][0]["l"], 2);
    assert_eq!(data["s"][1], serde_json::json!({"l": 8}));
    assert!(t.text_blocks("a.md")[0].contains("File \"src/code/demo.py\", line 3"));
}

#[test]
fn lone_snippets_start_from_a_clean_namespace() {
    let t = BookTest::chapter(
        "```python\nsecret = 1\n```\n\n```python\nprint('secret' in globals())\n```\n",
    );
    t.build().unwrap();
    assert_eq!(t.text_blocks("a.md"), ["False\n"]);
}

#[test]
fn stdin_blocks_feed_input_and_eof_without_one() {
    let t = BookTest::chapter(
        "```python\nprint('Hi', input('name? '))\n```\n\n```stdin\nAnn\n```\n\n```python,raises=EOFError\ninput()\n```\n",
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(html.contains("name? Hi Ann"), "{html}");
    assert!(html.contains("EOFError: EOF when reading a line"), "{html}");
    // The stdin block shows above the output; the runner prefills its box.
    assert_eq!(t.text_blocks("a.md")[..2], ["Ann\n", "name? Hi Ann\n"]);
    assert_eq!(t.chapter_data("a.md")["s"][0]["stdin"], "Ann\n");
}

#[test]
fn hidden_lines_run_but_are_hidden() {
    let t = BookTest::chapter("```python\n~import math\nprint(math.pi > 3)\n```\n");
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("<span class=\"boring\">import math\n</span>"),
        "{html}"
    );
    assert!(html.contains(">True\n</code>"), "{html}");
}

#[test]
fn tracebacks_name_the_markdown_file_and_line() {
    let t =
        BookTest::chapter("# A\n\ntext\n\n```python,raises=KeyError\nd = {}\nd['missing']\n```\n");
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("File \"src/a.md\", line 7, in &lt;module&gt;"),
        "{html}"
    );
    assert!(!html.contains("mdbook-python worker"), "{html}");
}

#[test]
fn containers_tildes_long_fences_and_crlf() {
    let text = "- item\n\n  ~~~python\n  print('in list')\n  ~~~\n\n> ````python\n> print('in quote')\n> ````\n\r\nend\n";
    let t = BookTest::chapter(text);
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(html.contains("in list\n</code>"), "{html}");
    assert!(html.contains("in quote\n</code>"), "{html}");
    let crlf = BookTest::chapter("# A\r\n\r\n```python\r\nprint('crlf')\r\n```\r\n\r\nafter\r\n");
    crlf.build().unwrap();
    let html = crlf.main_html("a.md");
    assert!(
        html.contains("crlf\n</code>") && html.contains("<p>after</p>"),
        "{html}"
    );
}

#[test]
fn notes_for_min_python_and_browser_blockers() {
    let t = BookTest::chapter(
        "```python,min-python=3.99\nprint(1)\n```\n\n```python\nimport threading\nprint(threading.current_thread().name)\n```\n",
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("Needs Python 3.99+; not run when this book was built"),
        "{html}"
    );
    assert!(
        html.contains("it uses threads, which Python in the browser cannot do"),
        "{html}"
    );
    assert!(html.contains("MainThread"), "{html}");
}

#[test]
fn output_limit_cuts_with_a_visible_note() {
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "jobs = 2\noutput-limit = 50");
    let t = BookTest::with(
        &toml,
        &[("a.md", "```python\nwhile True:\n    print('x' * 10)\n```\n")],
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains(
            "[mdbook-python: output cut at 50 bytes (output-limit); the snippet was stopped there]"
        ),
        "{html}"
    );
}

#[test]
fn warn_mode_shows_the_diff_on_the_page() {
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "on-mismatch = \"warn\"");
    let t = BookTest::with(
        &toml,
        &[("a.md", "```python\nprint(1)\n```\n\n```output\n2\n```\n")],
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(html.contains("class=\"mdpy-warning\""), "{html}");
    assert!(html.contains("-2\n+1"), "{html}");
}

#[test]
fn other_renderers_get_plain_fenced_text() {
    let t = BookTest::chapter("```python,session=a\nprint('hi')\n```\n\n```output\nhi\n```\n");
    let (report, texts) = t.run("markdown", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0);
    assert_eq!(
        texts[0],
        "```python\nprint('hi')\n```\n\n```text\nhi\n```\n"
    );
}

#[test]
fn the_build_never_writes_into_the_source_folder() {
    let t = BookTest::chapter("```python\nprint(1)\n```\n\n```output\n1\n```\n");
    let before = t.src_snapshot();
    t.build().unwrap();
    t.build().unwrap();
    assert_eq!(before, t.src_snapshot());
    assert!(
        t.root()
            .join(".mdbook-python/assets/mdbook-python.js")
            .exists()
    );
    assert_eq!(
        t.read(".mdbook-python/.gitignore").lines().last(),
        Some("*")
    );
}

#[test]
fn an_unchanged_book_runs_no_python_and_an_edit_reruns_one_chapter() {
    let t = BookTest::with(
        crate::harness::BOOK_TOML,
        &[
            ("a.md", "```python\nprint('a')\n```\n"),
            (
                "b.md",
                "```python\nprint('b')\n```\n\n```python\nprint('c')\n```\n",
            ),
        ],
    );
    let (r1, _) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((r1.stats.run, r1.stats.cached), (3, 0));
    let (r2, _) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((r2.stats.run, r2.stats.cached), (0, 3));
    t.write("src/a.md", "```python\nprint('A')\n```\n");
    let (r3, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((r3.stats.run, r3.stats.cached), (1, 2));
    assert!(texts[0].contains("```text\nA\n```"), "{}", texts[0]);
    assert_eq!(
        r3.summary().split(" (").next(),
        Some("mdbook-python: 3 snippets, 1 run, 2 cached, 0 failed")
    );
}

#[test]
fn check_from_elsewhere_and_build_share_the_cache() {
    let t = BookTest::chapter("```python,raises=ValueError\nraise ValueError('x')\n```\n");
    crate::harness::cli_ok("check", t.root());
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((report.stats.run, report.stats.cached), (0, 1));
    assert!(
        texts[0].contains("File &quot;src/a.md&quot;, line 2")
            || texts[0].contains("File \"src/a.md\", line 2"),
        "{}",
        texts[0]
    );
}

#[test]
fn other_renderers_leave_hidden_lines_out() {
    let t = BookTest::chapter(
        "- item\n\n  ```python\n  ~import math\n  print(math.floor(2.5))\n  ```\n",
    );
    let (report, texts) = t.run("markdown", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    assert_eq!(
        texts[0],
        "- item\n\n  ```python\n  print(math.floor(2.5))\n  ```\n\n  ```text\n  2\n  ```\n"
    );
}

#[test]
fn control_characters_and_progress_bars_show_visibly_without_html_errors() {
    let t = BookTest::chapter(
        "```python\nprint('a\\0b')\nprint('10%\\r20%\\r100%')\nprint('\\x1b[1mbold\\x1b[0m \\x7f \\x85', end='\\r\\n')\nprint('abcdef\\rXY')\n```\n",
    );
    let (result, warnings) = t.build_with_warnings();
    result.unwrap();
    assert_eq!(warnings, "", "mdBook warned");
    // A lone CR returns to the line's start (as in a terminal); terminal
    // styles are HTML; other control characters show as Unicode control
    // pictures (C1 as escapes).
    let html = t.main_html("a.md");
    assert!(
        html.contains("a\u{2400}b\n100%\n<b>bold</b> \u{2421} \\x85\nXYcdef\n"),
        "{html}"
    );
}

#[test]
fn terminal_colours_in_output_are_coloured_spans() {
    let t =
        BookTest::chapter("# A\n\n```python\nprint('\\x1b[1;32mok\\x1b[0m done \\x1b[2K')\n```\n");
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("<pre><code class=\"nohighlight\"><b><span style=\"color:var(--green,#0a0)\">ok</span></b> done \u{241b}[2K\n</code></pre>"),
        "{html}"
    );
    // A text renderer gets the text without the sequences.
    let (_, texts) = t.run("markdown", mdbook_python::Mode::Build);
    assert!(
        texts[0].contains("```text\nok done \u{241b}[2K\n```"),
        "{}",
        texts[0]
    );
}

#[test]
fn blocks_that_do_not_run_get_no_run_button_and_no_note() {
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "run = \"marked\"");
    let t = BookTest::with(
        &toml,
        &[(
            "a.md",
            "# A\n\n```python\nimport threading\n```\n\n```python,run\nprint(1)\n```\n\n```python,run,norun\nx\n```\n",
        )],
    );
    assert_eq!(t.errors().len(), 1);
    let t = BookTest::with(
        &toml,
        &[(
            "a.md",
            "# A\n\n```python\nimport threading\n```\n\n```python,run\nprint(1)\n```\n",
        )],
    );
    t.build().unwrap();
    assert_eq!(
        t.chapter_data("a.md")["s"],
        serde_json::json!([{"browser": false, "o": 0, "l": 4}, {"l": 8}])
    );
    assert!(!t.main_html("a.md").contains("Runs at build time only"));
    let t = BookTest::chapter("# A\n\n```python,norun\nimport subprocess\n```\n");
    t.build().unwrap();
    assert_eq!(
        t.chapter_data("a.md")["s"],
        serde_json::json!([{"browser": false, "o": 0, "l": 4}])
    );
    assert!(!t.main_html("a.md").contains("Runs at build time only"));
}
