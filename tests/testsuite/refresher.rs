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

/// Every heading (`#` lines outside code fences) of every page of the book.
fn book_headings() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "md") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&repo().join("book"), &mut files);
    let mut headings = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        let mut fence: Option<String> = None;
        for line in text.lines() {
            let ticks: String = line.chars().take_while(|&c| c == '`').collect();
            if ticks.len() >= 3 {
                match &fence {
                    None => fence = Some(ticks),
                    Some(open) if line.trim_end() == open => fence = None,
                    Some(_) => {}
                }
                continue;
            }
            if fence.is_none() && line.starts_with('#') {
                let name = file.strip_prefix(repo()).unwrap().display().to_string();
                headings.push((name, line.to_lowercase()));
            }
        }
    }
    headings
}

/// The topics of issue 26 (typing toolkit, decorators, asyncio in production,
/// memory tools, internals, profiling, reference pages): each needs a chapter
/// or a section whose heading names it.
#[test]
fn the_book_has_a_section_for_every_topic_of_issue_26() {
    let headings = book_headings();
    let topics = [
        // Episode 1: decorators and the typing toolkit
        "# decorators",
        "functools.wraps",
        "decorators with arguments",
        "paramspec",
        "concatenate",
        "`self`",
        "@overload",
        "`literal`",
        "`final` and `classvar`",
        "`newtype`",
        "`typeis`",
        "assert_never",
        "@override",
        "type_checking",
        "unpack[typeddict]",
        "`readonly`",
        "variance in pep 695 generics",
        "deferred evaluation",
        // Episode 2: memory tools, internals, profiling
        "__slots__",
        "tracemalloc",
        "memory profilers",
        "zero-cost exceptions",
        "sys.monitoring",
        "the jit",
        "tail-calling interpreter",
        "gc.freeze()",
        "cprofile",
        "sampling profilers",
        // Episode 3: asyncio in production
        "async generators",
        "@asynccontextmanager",
        "graceful shutdown",
        "ctrl-c",
        "sigterm",
        "close_clients",
        "queue.shutdown()",
        "taskgroup.cancel()",
        "# subprocesses",
        "create_subprocess_exec",
        "timeouts and killing",
        "bridging sync and async",
        "background thread",
        "nest_asyncio",
        "loop_factory",
        "interpreterpoolexecutor",
        // Reference pages
        "# glossary",
        "# index of interview questions",
    ];
    let missing: Vec<&str> = topics
        .iter()
        .copied()
        .filter(|t| !headings.iter().any(|(_, h)| h.contains(t)))
        .collect();
    assert!(missing.is_empty(), "no heading covers: {missing:?}");
}

/// Every chapter (overviews included) ends with interview angles and a quiz,
/// and the index of interview questions links to each chapter's angles.
#[test]
fn every_chapter_has_interview_angles_and_a_quiz() {
    let summary = std::fs::read_to_string(repo().join("book/SUMMARY.md")).unwrap();
    let index = std::fs::read_to_string(repo().join("book/interview-index.md")).unwrap();
    let chapters: Vec<&str> = summary
        .lines()
        .filter_map(|l| l.split("](").nth(1))
        .map(|p| p.trim_end_matches(')'))
        .filter(|p| p.starts_with("episode-"))
        .collect();
    assert!(chapters.len() >= 28, "{chapters:?}");
    for path in chapters {
        let text = std::fs::read_to_string(repo().join("book").join(path)).unwrap();
        assert!(
            text.contains("\n## Interview angles\n"),
            "{path} has no Interview angles section"
        );
        assert!(text.contains("```quiz\n"), "{path} has no quiz");
        if !path.ends_with("interview.md") {
            assert!(
                index.contains(&format!("({path}#interview-angles)")),
                "interview-index.md does not link to {path}'s interview angles"
            );
        }
    }
}

/// The chapters of the three episodes, from SUMMARY.md, without the
/// episode overviews (`index.md`), with their Markdown.
fn episode_chapters() -> Vec<(String, String)> {
    let summary = std::fs::read_to_string(repo().join("book/SUMMARY.md")).unwrap();
    summary
        .lines()
        .filter_map(|l| l.split("](").nth(1))
        .map(|p| p.trim_end_matches(')'))
        .filter(|p| p.starts_with("episode-") && !p.ends_with("/index.md"))
        .map(|p| {
            let text = std::fs::read_to_string(repo().join("book").join(p)).unwrap();
            (p.to_string(), text)
        })
        .collect()
}

/// A fence opening line `prefix` exactly, or `prefix` followed by more
/// attributes (`prefix,...`).
fn has_fence(text: &str, prefix: &str) -> bool {
    text.lines()
        .any(|l| l.trim_end() == prefix || l.starts_with(&format!("{prefix},")))
}

/// The names of a chapter's exercises: the `NAME` of each
/// ```` ```python,exercise=NAME ```` line.
fn exercise_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("```python,exercise="))
        .map(|rest| {
            rest.split([',', ' '])
                .next()
                .unwrap()
                .trim_end()
                .to_string()
        })
        .collect()
}

/// Every chapter of the three episodes (the overviews aside) gives the
/// reader at least one exercise, under an `### Exercise:` heading.
#[test]
fn every_chapter_has_an_exercise() {
    let chapters = episode_chapters();
    let paths: Vec<&str> = chapters.iter().map(|(p, _)| p.as_str()).collect();
    assert!(chapters.len() >= 25, "{paths:?}");
    let mut total = 0;
    for (path, text) in &chapters {
        let names = exercise_names(text);
        assert!(!names.is_empty(), "{path} has no ```python,exercise= block");
        assert!(
            text.contains("\n### Exercise: "),
            "{path} has no `### Exercise:` heading"
        );
        total += names.len();
    }
    assert!(total >= 25, "only {total} exercises");
}

/// Every exercise has at least one hint and at least one wrong answer (the
/// build proves that each wrong answer fails a check).
#[test]
fn every_exercise_has_a_hint_and_a_wrong_answer() {
    for (path, text) in episode_chapters() {
        for name in exercise_names(&text) {
            assert!(
                has_fence(&text, &format!("```hint,exercise={name}")),
                "{path}: exercise `{name}` has no hint"
            );
            assert!(
                has_fence(&text, &format!("```python,wrong={name}")),
                "{path}: exercise `{name}` has no wrong answer"
            );
            assert!(
                has_fence(&text, &format!("```python,check={name}"))
                    && has_fence(&text, &format!("```python,solution={name}")),
                "{path}: exercise `{name}` needs checks and a solution"
            );
        }
    }
}
