//! The Python Refresher itself: every snippet and quiz verified, and the
//! SUMMARY covers every topic of the outline.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_refresher_passes_check() {
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
