//! Fuzz the chapter rewriter: it never panics, and Markdown without Python,
//! output, stdin, pycon or quiz blocks comes back byte for byte.
//! Run with `cargo +nightly fuzz run rewrite` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for html in [true, false] {
        let out = mdbook_python::rewrite_offline(text, html);
        let owned = ["```py", "~~~py", "```output", "~~~output", "```stdin", "~~~stdin", "```pycon", "~~~pycon", "```quiz", "~~~quiz", "{{#quiz"];
        let lower = text.to_lowercase();
        if !owned.iter().any(|w| lower.contains(w)) {
            assert_eq!(out, text);
        }
    }
});
