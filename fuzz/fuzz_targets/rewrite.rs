//! Fuzz the chapter rewriter: it never panics, and Markdown without Python,
//! output, stdin, pycon or quiz blocks comes back byte for byte.
//! Run with `cargo +nightly fuzz run rewrite` from the repository root (or on
//! stable with the sancov flags cargo-fuzz passes; see the guide).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let scanned = mdbook_python::scan::scan(text);
    let owned = !scanned.quizzes.is_empty()
        || scanned
            .fences
            .iter()
            .any(|f| matches!(f.lang(), "python" | "py" | "pycon" | "output" | "stdin" | "quiz"));
    for html in [true, false] {
        let out = mdbook_python::rewrite_offline(text, html);
        if !owned {
            assert_eq!(out, text);
        }
    }
});
