//! Markdown the plugin does not own comes out byte for byte the same.

use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::{Book, BookItem, Chapter};
use mdbook_python::{Mode, Options, run};
use proptest::prelude::*;

fn process(text: &str, renderer: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config = mdbook_preprocessor::config::Config::default();
    let ctx = PreprocessorContext::new(dir.path().to_path_buf(), config, renderer.into());
    let mut book = Book::new_with_items(vec![BookItem::Chapter(Chapter::new(
        "a",
        text.to_string(),
        "a.md",
        vec![],
    ))]);
    let report = run(
        &ctx,
        &mut book,
        &Options {
            mode: Mode::Build,
            ..Options::default()
        },
    );
    assert_eq!(report.errors(), 0, "{:?}", report.diagnostics);
    book.chapters().next().unwrap().content.clone()
}

fn piece() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z ,.*_`]{0,40}\n",
        "#{1,3} [a-z ]{1,20}\n",
        "- [a-z{}#]{0,20}\n",
        "> [a-z ]{0,20}\n",
        Just("\n".to_string()),
        Just("\r\n".to_string()),
        "```(rust|text|toml|console|)\n[a-z =()\n]{0,30}\n```\n",
        "~~~sh\n[a-z ]{0,20}\n~~~\n",
        "    indented code {0,5}\n",
        "<div class=\"x\">[a-z]{0,10}</div>\n",
        "\\| a \\| b \\|\n\\|---\\|---\\|\n",
        Just("{{#include nothing.rs}}\n".to_string()),
        "[^`~]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn markdown_without_python_is_unchanged(pieces in prop::collection::vec(piece(), 0..25)) {
        let text: String = pieces.concat();
        prop_assert_eq!(process(&text, "markdown"), text);
    }
}

#[test]
fn prose_around_python_blocks_is_unchanged() {
    let before = "# Title\r\n\r\nSome *prose*, a [link](x.md) and `code`.\r\n\r\n";
    let after = "\r\n\r\n| a | b |\r\n|---|---|\r\n\r\n- list\r\n";
    let text = format!("{before}```python\r\nprint(1)\r\n```{after}");
    let out = process(&text, "markdown");
    assert!(out.starts_with(before), "{out:?}");
    assert!(out.ends_with(after), "{out:?}");
}

fn block() -> impl Strategy<Value = String> {
    prop_oneof![
        "(```|~~~~|````)(python|py|pycon|output|stdin|text)(,norun|,session=a|,raises=E|,ellipsis|,bogus|)\n[a-z()'=0-9 ~>.\n]{0,40}(```|~~~~|````|)\n",
        "(> |- |  )```python\n(> |  )print\\(1\\)\n(> |  )```\n",
        piece(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    /// The rewriter (without execution) never panics on arbitrary Markdown
    /// made of Python, output, stdin and pycon blocks in any container.
    #[test]
    fn the_rewriter_never_panics(pieces in prop::collection::vec(block(), 0..20), html in any::<bool>()) {
        let text: String = pieces.concat();
        let _ = mdbook_python::rewrite_offline(&text, html);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = mdbook_python::rewrite_offline(&text, true);
    }
}
