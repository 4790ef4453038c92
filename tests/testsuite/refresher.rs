//! The Python Refresher itself: every snippet and quiz verified, and the
//! SUMMARY covers every topic of the outline.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_refresher_passes_check() {
    let _heavy = crate::harness::heavy();
    let out = Command::new(crate::harness::bin())
        .arg("check")
        .arg(repo())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(" 0 failed ("), "{err}");
}

#[test]
fn the_summary_covers_every_topic_of_the_outline() {
    let summary = std::fs::read_to_string(repo().join("book/SUMMARY.md")).unwrap();
    let topics = [
        "Mutable and immutable types",
        "Identity, aliasing and copies",
        "Hashability",
        "Type hints",
        "AST",
        "Bytecode",
        "GIL",
        "Memory management",
        "CPython",
        "event loop",
        "coroutines",
        "TaskGroup",
        "Awaitables",
        "Cancellation",
        "timeouts",
        "Async I/O",
        "Concurrency vs parallelism",
        "Interview questions",
    ];
    for t in topics {
        assert!(summary.contains(t), "SUMMARY.md has no chapter on {t}");
    }
    for line in summary.lines().filter(|l| l.contains("](")) {
        let path = line.split("](").nth(1).unwrap().trim_end_matches(')');
        assert!(
            repo().join("book").join(path).exists(),
            "{path} is in SUMMARY.md but missing"
        );
    }
}

#[test]
fn the_refresher_builds_for_the_markdown_renderer_too() {
    let _heavy = crate::harness::heavy();
    let out = tempfile::tempdir().unwrap();
    let mut md = mdbook_driver::MDBook::load(repo()).unwrap();
    md.config.build.build_dir = out.path().to_path_buf();
    // As a reader of the guide would: the renderer added, and listed.
    md.config
        .set("preprocessor.python.renderers", ["html", "markdown"])
        .unwrap();
    md.with_preprocessor(mdbook_python::PythonPreprocessor::new(
        mdbook_python::Options::default(),
    ));
    md.with_renderer(mdbook_driver::builtin_renderers::MarkdownRenderer::new());
    md.build().unwrap();
    let chapter =
        std::fs::read_to_string(out.path().join("markdown/episode-1/mutability.md")).unwrap();
    assert!(
        chapter.contains("```text\n"),
        "outputs are plain fenced text"
    );
    assert!(
        !chapter.contains("mdpy-"),
        "no widget HTML for the markdown renderer"
    );
    assert!(
        !chapter.contains("```quiz"),
        "quizzes become readable questions"
    );
    assert!(chapter.contains("Answers"), "with the answers at the end");
}

/// The user guide and the example book are books of their own, checked like
/// the refresher: the plugin is general, not made for one book.
#[test]
fn the_guide_and_the_example_book_pass_check() {
    let _heavy = crate::harness::heavy();
    for book in ["guide", "examples/data-tutorial"] {
        let out = Command::new(crate::harness::bin())
            .arg("check")
            .arg(repo().join(book))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{book}: {err}");
        assert!(err.contains(" 0 failed ("), "{book}: {err}");
    }
}

#[test]
fn the_example_book_runs_only_marked_blocks() {
    let toml = std::fs::read_to_string(repo().join("examples/data-tutorial/book.toml")).unwrap();
    assert!(toml.contains("run = \"marked\""));
}
