//! Rich outputs: `display()` and its sanitized HTML, embedded images,
//! Markdown renderers' notes and tables, missing modules; then the
//! `tests/fixtures/rich-book` fixture with matplotlib and pandas from its
//! virtual environment (`tests/fixtures/rich-book/setup` makes it; without
//! it those tests say so and pass, except in CI, where they fail).

use crate::harness::{BOOK_TOML, BookTest};
use std::path::{Path, PathBuf};

const DISPLAYS: &str = r#"# A

```python
class Evil:
    def _repr_html_(self):
        return ('<table class="x"><tr><th>k</th><td onclick="alert(1)">v</td></tr></table>'
                '<script>alert(2)</script><img src=x onerror=alert(3)>'
                '<a href="javascript:alert(4)">link</a><style>*{}</style>')

class Dot:
    def _repr_png_(self):
        return b"\x89PNG\r\n\x1a\n"

class Shape:
    def _repr_svg_(self):
        return '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(5)"/>'

class Note:
    def _repr_markdown_(self):
        return "**bold** <script>alert(6)</script>"

print("first")
display(Evil())
print("between")
display(Dot(), Shape(), Note(), [1, 2])
print("last")
```
"#;

#[test]
fn display_shows_sanitized_html_and_images_in_output_order() {
    let t = BookTest::chapter(DISPLAYS);
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    let page = &texts[0];
    let start = page.find("<div class=\"mdpy-output").unwrap();
    let out = &page[start..];
    let out = &out[..out.find("\n").unwrap_or(out.len())];
    // The label names the build's Python: "Output, CPython 3.11 at build".
    let label = (out.split("<div class=\"mdpy-label\">").nth(1))
        .and_then(|r| r.split_once("</div>"))
        .map(|(l, _)| l)
        .unwrap();
    assert!(
        label.starts_with("Output, CPython 3.") && label.ends_with(" at build"),
        "{label}"
    );
    let out = out.replacen(label, "Output", 1);
    assert_eq!(
        out,
        "<div class=\"mdpy-output mdpy-rich\" data-origin=\"build\"><div class=\"mdpy-label\">Output</div>\
         <pre><code class=\"nohighlight\">first&#10;</code></pre>\
         <div class=\"mdpy-html\"><table><tbody><tr><th>k</th><td>v</td></tr></tbody></table><a rel=\"noopener noreferrer nofollow\">link</a></div>\
         <pre><code class=\"nohighlight\">between&#10;</code></pre>\
         <img class=\"mdpy-image\" alt=\"Dot\" src=\"data:image/png;base64,iVBORw0KGgo=\">\
         <img class=\"mdpy-image\" alt=\"Shape\" src=\"data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIG9ubG9hZD0iYWxlcnQoNSkiLz4=\">\
         <div class=\"mdpy-html\"><p><strong>bold</strong> </p>&#10;</div>\
         <pre><code class=\"nohighlight\">[1, 2]&#10;last&#10;</code></pre></div></div>"
    );
}

#[test]
fn a_built_page_has_no_script_handler_or_javascript_url_from_a_snippet() {
    let t = BookTest::chapter(DISPLAYS);
    t.build().unwrap();
    let html = t.main_html("a.md");
    let output = &html[html.find("mdpy-output").unwrap()..];
    for bad in [
        "<script",
        "onerror",
        "onclick",
        "onload",
        "javascript:",
        "<style",
    ] {
        assert!(!output.contains(bad), "{bad} in {output}");
    }
    assert!(output.contains("<td>v</td>"), "{output}");
}

#[test]
fn plain_print_output_is_unchanged_and_output_blocks_check_text_only() {
    let t = BookTest::chapter(
        "```python\nclass T:\n    def _repr_html_(self):\n        return '<b>t</b>'\n\nprint('a')\ndisplay(T())\nprint('b')\n```\n\n```output\na\nb\n```\n\n```python\nprint('<b>plain</b>')\n```\n",
    );
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("<div class=\"mdpy-html\"><b>t</b></div>"),
        "{html}"
    );
    assert_eq!(t.text_blocks("a.md"), ["<b>plain</b>\n"], "{html}");
}

#[test]
fn a_missing_module_fails_with_its_name_and_how_to_install_it() {
    let t = BookTest::chapter(
        "# A\n\n```python\nimport json\nimport mdpy_not_installed.sub\n```\n\n```python,raises=ModuleNotFoundError\nimport mdpy_not_installed\n```\n",
    );
    assert_eq!(
        t.errors(),
        vec!["error: this snippet imports `mdpy_not_installed`, which is not installed for the Python that builds the book\n  --> src/a.md:5\n   | Traceback (most recent call last):\n   |   File \"src/a.md\", line 5, in <module>\n   |     import mdpy_not_installed.sub\n   | ModuleNotFoundError: No module named 'mdpy_not_installed'\n   = help: install it in a virtual environment beside book.toml: `python -m venv .venv && .venv/bin/pip install mdpy_not_installed`, then set `python = \".venv/bin/python\"` in [preprocessor.python] (or mark the block `raises=ModuleNotFoundError` if that is the point)".to_string()]
    );
}

#[test]
fn other_renderers_get_a_note_for_images_and_markdown_tables() {
    let t = BookTest::chapter(
        "```python,alt=\"A dot, red\"\nclass Dot:\n    def _repr_png_(self):\n        return b'png'\n\nclass T:\n    def _repr_html_(self):\n        return '<table><tr><th>k</th><th>v</th></tr><tr><td>a|b</td><td>1</td></tr></table>'\n    def __repr__(self):\n        return 'T(a|b=1)'\n\nclass Div:\n    def _repr_html_(self):\n        return '<div>not a table</div>'\n    def __repr__(self):\n        return 'Div()'\n\nprint('x')\ndisplay(Dot(), T(), Div())\n```\n",
    );
    let (report, texts) = t.run("markdown", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    let tail = &texts[0][texts[0].find("```\n\n").unwrap() + 5..];
    assert_eq!(
        tail,
        "```text\nx\n```\n\n\\[image: A dot, red\\]\n\n| k | v |\n| --- | --- |\n| a\\|b | 1 |\n\n```text\nDiv()\n```\n"
    );
}

#[test]
fn alt_needs_a_text_and_never_becomes_a_css_class() {
    let errors = BookTest::chapter("```python,alt=\nprint(1)\n```\n").errors();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("error: `alt` needs a text\n  --> src/a.md:1"),
        "{}",
        errors[0]
    );
    let t = BookTest::chapter("```python,alt=\"Sales, by month\",nobrowser\nprint(1)\n```\n");
    t.build().unwrap();
    let html = t.main_html("a.md");
    assert!(
        html.contains("<code class=\"language-python\">print(1)"),
        "{html}"
    );
    assert!(!html.contains("Sales"), "{html}");
}

#[test]
fn figure_format_and_packages_are_checked() {
    let toml = BOOK_TOML.replace("jobs = 2", "figure-format = \"jpg\"\npackages = \"numpy\"");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    let errors = t.errors();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains("`preprocessor.python.figure-format` must be \"svg\" or \"png\""));
    assert!(errors[1].contains(
        "`preprocessor.python.packages` must be a list of Pyodide package names and wheel URLs"
    ));
}

#[test]
fn the_bundle_carries_packages_and_the_figure_format() {
    let toml = BOOK_TOML.replace(
        "jobs = 2",
        "figure-format = \"png\"\npackages = [\"numpy\", \"wheels/x-1.0-py3-none-any.whl\"]",
    );
    let t = BookTest::with(
        &toml,
        &[(
            "a.md",
            "```python\nimport json\n```\n\n```python,raises=ModuleNotFoundError\nimport mdpy_not_installed as np\n```\n",
        )],
    );
    t.build().unwrap();
    // The browser installs `packages` for a page whose blocks import more than the standard library.
    let html = t.main_html("a.md");
    let data = t.chapter_data("a.md");
    let flags: Vec<bool> = (data["s"].as_array().unwrap().iter())
        .map(|d| d["packages"] == true)
        .collect();
    assert_eq!(flags, vec![false, true], "{html}");
    let js = t.read(".mdbook-python/assets/mdbook-python.js");
    assert!(
        js.contains("\"figureFormat\":\"png\"")
            && js.contains("\"packages\":[\"numpy\",\"wheels/x-1.0-py3-none-any.whl\"]"),
        "{}",
        &js[..400]
    );
}

/// The fixture's virtual environment, or `None` (with a note) outside CI.
fn venv() -> Option<PathBuf> {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rich-book");
    if fixture.join(".venv/bin/python").exists() {
        return Some(fixture.join(".venv"));
    }
    let how = format!("run {} first", fixture.join("setup").display());
    assert!(
        std::env::var_os("CI").is_none(),
        "the rich-book virtual environment is missing: {how}"
    );
    eprintln!("note: skipped, no virtual environment with matplotlib and pandas: {how}");
    None
}

/// tests/fixtures/rich-book in a temporary folder, using its virtual
/// environment where it is; `edit` changes its book.toml.
fn rich_book(edit: impl Fn(String) -> String) -> Option<BookTest> {
    let venv = venv()?;
    let fixture = venv.parent().unwrap();
    let summary = std::fs::read_to_string(fixture.join("src/SUMMARY.md")).unwrap();
    let chapters: Vec<(String, String)> = summary
        .lines()
        .filter_map(|l| l.split_once("](")?.1.strip_suffix(')'))
        .map(|name| {
            let text = std::fs::read_to_string(fixture.join("src").join(name)).unwrap();
            (name.to_string(), text)
        })
        .collect();
    let refs: Vec<(&str, &str)> = chapters
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let toml = std::fs::read_to_string(fixture.join("book.toml")).unwrap();
    let t = BookTest::with(&edit(toml), &refs);
    std::os::unix::fs::symlink(&venv, t.root().join(".venv")).unwrap();
    Some(t)
}

/// The `<img>` tags of a page, their data cut to the first 30 characters.
fn images(html: &str) -> Vec<String> {
    html.split("<img ")
        .skip(1)
        .map(|rest| {
            let tag = &rest[..rest.find('>').unwrap()];
            match tag.find("base64,") {
                Some(at) => format!("{}…", &tag[..(at + 37).min(tag.len())]),
                None => tag.to_string(),
            }
        })
        .collect()
}

#[test]
fn fixture_a_line_plot_is_an_embedded_svg_with_alt_text() {
    let Some(t) = rich_book(|toml| toml) else {
        return;
    };
    t.build().unwrap();
    let html = t.main_html("figures.md");
    assert_eq!(
        images(&html),
        vec![
            "class=\"mdpy-image mdpy-figure\" alt=\"Croissants sold per month\" src=\"data:image/svg+xml;base64,PD94bWwgdmVyc2lvbj0iMS4wIiBlbm…",
            "class=\"mdpy-image mdpy-figure\" alt=\"Squares and cubes, 1 to 5\" src=\"data:image/svg+xml;base64,PD94bWwgdmVyc2lvbj0iMS4wIiBlbm…",
            "class=\"mdpy-image mdpy-figure\" alt=\"Figure 1\" src=\"data:image/svg+xml;base64,PD94bWwgdmVyc2lvbj0iMS4wIiBlbm…",
        ]
    );
    let shown = &html[html.find("Squares and cubes").unwrap() - 700..];
    assert!(
        shown.contains(">before\n</code></pre>\n<img"),
        "the figure comes after `before`: {shown}"
    );
    assert!(
        !html.contains("non-interactive"),
        "plt.show() does not warn"
    );
    // No file is written into the book's source folder (images are embedded).
    let sources: Vec<PathBuf> = t.src_snapshot().into_iter().map(|(p, _)| p).collect();
    assert_eq!(sources.len(), 5, "{sources:?}");
}

#[test]
fn fixture_a_dataframe_is_a_table_and_markdown_renderers_get_notes() {
    let Some(t) = rich_book(|toml| toml) else {
        return;
    };
    t.build().unwrap();
    let html = t.main_html("tables.md");
    assert!(html.contains("<th>city</th>"), "{html}");
    assert!(html.contains("<td>Lyon</td>"), "{html}");
    assert!(!html.contains("<style"), "{html}");
    let (report, texts) = t.run("markdown", mdbook_python::Mode::Build);
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    assert!(
        texts[0].contains(
            "```text\nplotted 4 months\n```\n\n\\[figure: Croissants sold per month\\]\n"
        ),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].contains("```text\nrows: 2\n```\n\n|  | city | sold |\n| --- | --- | --- |\n| 0 | Lyon | 120 |\n| 1 | Nantes | 85 |\n"),
        "{}",
        texts[1]
    );
}

#[test]
fn fixture_figures_are_the_same_on_every_build_and_png_on_request() {
    let Some(t) = rich_book(|toml| toml) else {
        return;
    };
    let (r1, first) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((r1.errors(), r1.stats.cached), (0, 0));
    std::fs::remove_dir_all(t.root().join(".mdbook-python/results")).unwrap();
    std::fs::remove_file(t.root().join(".mdbook-python/chapters.json")).unwrap();
    let (r2, second) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((r2.errors(), r2.stats.cached), (0, 0));
    assert!(
        first == second,
        "a second build from scratch gives the same pages"
    );
    let (r3, _) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!(r3.stats.run, 0, "all cached");

    let Some(png) =
        rich_book(|toml| toml.replace("pyodide-url = ", "figure-format = \"png\"\npyodide-url = "))
    else {
        return;
    };
    png.build().unwrap();
    assert!(
        images(&png.main_html("figures.md"))
            .iter()
            .all(|i| i.contains("src=\"data:image/png;base64,iVBORw0KGgo")),
        "{:?}",
        images(&png.main_html("figures.md"))
    );
}

#[test]
fn fixture_a_module_missing_from_the_venv_is_named() {
    let Some(t) = rich_book(|toml| toml) else {
        return;
    };
    t.write(
        "src/tables.md",
        "# Tables\n\n```python\nimport pandas\nimport seaborn as sns\n```\n",
    );
    let errors = t.errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("error: this snippet imports `seaborn`, which is not installed for the Python that builds the book\n  --> src/tables.md:5\n"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains(".venv/bin/pip install seaborn`"),
        "{}",
        errors[0]
    );
}

#[test]
fn markdown_for_other_renderers_holds_no_html_and_no_links_from_snippets() {
    let toml = crate::harness::BOOK_TOML.to_string() + "\n[output.markdown]\n";
    let quiz = "```quiz\n[[questions]]\ntype = \"Tracing\"\nprompt.program = \"\"\"\nprint('<img src=x onerror=alert(2)> [y](javascript:alert(3))')\nraise ValueError('<img src=x onerror=alert(4)> [z](javascript:alert(5))')\n\"\"\"\n```\n";
    let chapter = "```python\nclass T:\n    def _repr_html_(self):\n        return ('<table><tr><th>k</th><th>v</th></tr><tr><td>&lt;img src=x onerror=alert(1)&gt;</td>'\n                '<td>[x](javascript:alert(1)) *em* `c` &amp;lt;b&amp;gt;</td></tr></table>')\n    def __repr__(self):\n        return 'T()'\n\ndisplay(T())\nprint('```\\n<b>fenced</b>')\n```\n\n"
        .to_string()
        + quiz;
    let t = BookTest::with(&toml, &[("a.md", &chapter)]);
    t.build().unwrap();
    let md = t.read("out/markdown/a.md");
    // The table keeps its text, as text.
    assert!(
        md.contains("| k | v |\n| --- | --- |\n| \\<img src=x onerror=alert(1)\\> | \\[x\\](javascript:alert(1)) \\*em\\* \\`c\\` \\&lt;b\\&gt; |"),
        "{md}"
    );
    let mut html = String::new();
    pulldown_cmark::html::push_html(
        &mut html,
        pulldown_cmark::Parser::new_ext(&md, pulldown_cmark::Options::all()),
    );
    for bad in ["<img", "<b>", "href=\"javascript", "<em>"] {
        assert!(!html.contains(bad), "{bad} in\n{html}\nfrom\n{md}");
    }
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(4)&gt; [z](javascript:alert(5))"),
        "{html}"
    );
}
