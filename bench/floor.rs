//! The benchmark's floor: an mdBook preprocessor that does nothing. It reads
//! mdBook's `[context, book]` to the end, the ordinary way, and answers with
//! the book unchanged, found by skipping the context (no JSON library, so
//! `rustc -O floor.rs` builds it). `mdbook build` with it, against without
//! it, is what having any preprocessor at all costs.

use std::io::{Read, Write};

/// Where the context ends: the byte after it, at nesting depth 1.
fn end_of_context(json: &[u8]) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => depth += 1,
            b']' | b'}' => depth = depth.checked_sub(1)?,
            b',' if depth == 1 => return Some(i),
            _ => {}
        }
    }
    None
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("supports") {
        return;
    }
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input).expect("stdin");
    let comma = end_of_context(&input).expect("a [context, book] pair");
    let close = input.iter().rposition(|&b| b == b']').expect("a closing ]");
    std::io::stdout()
        .write_all(&input[comma + 1..close])
        .expect("stdout");
}
