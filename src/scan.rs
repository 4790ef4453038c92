//! Scan: one chapter's Markdown in, the fenced code blocks and `{{#quiz}}`
//! directives it holds out, each with its byte span, its Markdown line numbers
//! and the container prefix (`> ` or list indentation) that text spliced after it
//! must repeat. Pure: no I/O, no allocation of replacement text. Parsing uses
//! pulldown-cmark with the options mdBook itself uses, so a block is found here
//! exactly when mdBook would render it as a code block.

use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::ops::Range;

/// A fenced code block as written in the chapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    /// Bytes of the whole block: from the opening fence characters to the end
    /// of the closing fence line (excluding its line break).
    pub span: Range<usize>,
    /// Bytes of the info string on the opening line (trimmed).
    pub info_span: Range<usize>,
    /// The info string (trimmed).
    pub info: String,
    /// The block's content with container prefixes removed, as mdBook renders it.
    pub body: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// 1-based line of the first content line.
    pub body_line: usize,
    /// The text that precedes the closing fence on its line (`> `, spaces):
    /// inserted lines repeat it so they stay inside the same container.
    pub prefix: String,
    /// False when the block runs to the end of its container without a
    /// closing fence.
    pub closed: bool,
}

impl Fence {
    /// The first word of the info string (`python` in `python,norun`).
    pub fn lang(&self) -> &str {
        self.info
            .split([',', ' ', '\t'])
            .find(|w| !w.is_empty())
            .unwrap_or("")
    }
}

/// `{{#quiz path}}` found in text (outside code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuizDirective {
    pub span: Range<usize>,
    pub path: String,
    pub line: usize,
    /// 1-based column (in characters) of `{{`.
    pub column: usize,
    pub prefix: String,
}

/// Everything the later stages need from one chapter.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Scanned {
    pub fences: Vec<Fence>,
    pub quizzes: Vec<QuizDirective>,
}

/// Maps byte offsets to 1-based line numbers and columns. The one place lines
/// are counted: as CommonMark counts them, LF, CRLF and a lone CR each end a
/// line. Built in one pass; each lookup is a binary search.
pub struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
                starts.push(i + 1);
            }
        }
        Lines { starts }
    }

    /// How many lines `text` has (a final line ending starts none).
    pub fn count(text: &str) -> usize {
        let lines = Lines::new(text);
        let n = lines.starts.len();
        if lines.starts[n - 1] == text.len() {
            n - 1
        } else {
            n
        }
    }

    pub fn line_of(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    pub fn start_of_line_containing(&self, offset: usize) -> usize {
        self.starts[self.line_of(offset) - 1]
    }

    /// The byte offset where 1-based `line` starts, if the text has it.
    pub fn start_of(&self, line: usize) -> Option<usize> {
        self.starts.get(line.max(1) - 1).copied()
    }

    /// (line, column) of `offset` in `text` (this table's text); the column
    /// is 1-based in characters.
    pub fn position(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.line_of(offset);
        let column = text[self.starts[line - 1]..offset].chars().count() + 1;
        (line, column)
    }
}

/// The parser options mdBook 0.5 uses for chapters.
/// The line ending a text uses, for lines the plugin writes into it: CRLF
/// when it has any, else LF.
pub(crate) fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

pub fn mdbook_options() -> Options {
    Options::ENABLE_TABLES
        | Options::ENABLE_FOOTNOTES
        | Options::ENABLE_STRIKETHROUGH
        | Options::ENABLE_TASKLISTS
        | Options::ENABLE_HEADING_ATTRIBUTES
        | Options::ENABLE_SMART_PUNCTUATION
        | Options::ENABLE_DEFINITION_LIST
        | Options::ENABLE_GFM
}

/// The words that make a fence the plugin's business.
pub const LANGS: [&str; 9] = [
    "python", "py", "python3", "py3", "Python", "pycon", "output", "stdin", "quiz",
];

/// Whether `scan` could find anything in `text`: a quiz directive, or a
/// fence-like run of three backticks or tildes whose info string starts with
/// one of `LANGS`. A superset of what `scan` finds, at the cost of a substring
/// search, so a warm build need not parse chapters it takes from the cache.
pub fn may_have_python(text: &str) -> bool {
    // The fence walk first: it stops at the first Python block, where the
    // search for a quiz directive would read the whole chapter.
    has_fence_word(text, &LANGS) || text.contains("{{#quiz")
}

/// Whether `scan` could find a quiz in `text` (a superset, as above).
pub fn may_have_quiz(text: &str) -> bool {
    // Both forms spell `quiz`: a chapter without the word (most of them) is
    // answered by one fast search instead of a walk over its fences.
    text.contains("quiz") && (text.contains("{{#quiz") || has_fence_word(text, &["quiz"]))
}

fn has_fence_word(text: &str, words: &[&str]) -> bool {
    for marker in ["```", "~~~"] {
        let c = marker.as_bytes()[0] as char;
        let mut rest = text;
        while let Some(at) = rest.find(marker) {
            let after = rest[at..].trim_start_matches(c);
            let info = after.trim_start_matches([' ', '\t']);
            let word = info.split([',', ' ', '\t', '\r', '\n']).next();
            if word.is_some_and(|w| words.contains(&w)) {
                return true;
            }
            rest = after;
        }
    }
    false
}

/// Scan a chapter. Cheap when the chapter has no code: a chapter without a
/// fence or a quiz directive is not parsed at all.
pub fn scan(text: &str) -> Scanned {
    let mut out = Scanned::default();
    if !text.contains("```") && !text.contains("~~~") && !text.contains("{{#quiz") {
        return out;
    }
    let lines = Lines::new(text);
    let mut current: Option<(Range<usize>, String, String)> = None;
    for (event, range) in Parser::new_ext(text, mdbook_options()).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                current = Some((range, info.to_string(), String::new()));
            }
            Event::Text(t) if current.is_some() => {
                if let Some((_, _, body)) = current.as_mut() {
                    body.push_str(&t);
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((range, info, body)) = current.take() {
                    out.fences.push(fence(text, &lines, range, info, body));
                }
            }
            Event::Text(t) if t.contains("{{#quiz") => {
                find_directives(text, &lines, range, &mut out.quizzes);
            }
            _ => {}
        }
    }
    out
}

fn fence(text: &str, lines: &Lines, range: Range<usize>, info: String, body: String) -> Fence {
    let start = range.start;
    let opening = &text[start..];
    let fence_char = opening.chars().next().unwrap_or('`');
    let fence_len = opening.chars().take_while(|&c| c == fence_char).count();
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let raw_info = &text[start + fence_len..line_end];
    let info_start = start + fence_len + (raw_info.len() - raw_info.trim_start().len());
    let info_span = info_start..info_start + raw_info.trim().len();

    // The block's range ends after the closing fence line, line break included
    // (or at the end of the container when unclosed).
    let mut end = range.end.min(text.len());
    while end > start && matches!(text.as_bytes()[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    let last_line_start = lines.start_of_line_containing(end.saturating_sub(1).max(start));
    let last_line = &text[last_line_start.max(start)..end];
    let trimmed = last_line.trim_start_matches([' ', '\t', '>']);
    let closing_len = trimmed.chars().take_while(|&c| c == fence_char).count();
    let closed = last_line_start > start
        && closing_len >= fence_len
        && trimmed[closing_len..].trim().is_empty();
    let prefix = if closed {
        text[last_line_start..end - trimmed.len()].to_string()
    } else {
        // Unclosed: derive the prefix from the opening line.
        let open_line_start = lines.start_of_line_containing(start);
        continuation_prefix(&text[open_line_start..start])
    };
    let line = lines.line_of(start);
    Fence {
        span: start..end,
        info_span,
        info: info.trim().to_string(),
        body,
        line,
        body_line: line + 1,
        prefix,
        closed,
    }
}

/// The prefix a continuation line needs, given the text before a block on its
/// first line: `>` markers stay, list markers become spaces.
fn continuation_prefix(before: &str) -> String {
    before
        .chars()
        .map(|c| {
            if c == '>' || c == ' ' || c == '\t' {
                c
            } else {
                ' '
            }
        })
        .collect()
}

fn find_directives(text: &str, lines: &Lines, range: Range<usize>, out: &mut Vec<QuizDirective>) {
    let slice = &text[range.clone()];
    let mut from = 0;
    while let Some(i) = slice[from..].find("{{#quiz") {
        let at = range.start + from + i;
        let rest = &text[at..range.end];
        let Some(close) = rest.find("}}") else { break };
        let inner = &rest["{{#quiz".len()..close];
        let end = at + close + 2;
        if out.iter().all(|d| d.span.start != at) {
            let line_start = lines.start_of_line_containing(at);
            let (line, column) = lines.position(text, at);
            out.push(QuizDirective {
                span: at..end,
                path: inner.trim().to_string(),
                line,
                column,
                prefix: continuation_prefix(&text[line_start..at]),
            });
        }
        from = end - range.start;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_plain_fence() {
        let text = "# T\n\n```python,norun\nprint(1)\n```\n\nafter\n";
        let s = scan(text);
        assert_eq!(s.fences.len(), 1);
        let f = &s.fences[0];
        assert_eq!(f.info, "python,norun");
        assert_eq!(&text[f.info_span.clone()], "python,norun");
        assert_eq!(f.body, "print(1)\n");
        assert_eq!(f.line, 3);
        assert_eq!(f.body_line, 4);
        assert_eq!(&text[f.span.clone()], "```python,norun\nprint(1)\n```");
        assert!(f.closed);
        assert_eq!(f.prefix, "");
    }

    #[test]
    fn fences_in_quotes_lists_tildes_and_crlf() {
        let text =
            "> ```python\r\n> x = 1\r\n> ```\r\n\r\n- item\n\n  ~~~~py\n  print(2)\n  ~~~~\n";
        let s = scan(text);
        assert_eq!(s.fences.len(), 2);
        assert_eq!(s.fences[0].prefix, "> ");
        assert_eq!(
            s.fences[0].body, "x = 1\n",
            "pulldown-cmark gives code with LF"
        );
        assert_eq!(
            &text[s.fences[0].span.clone()],
            "> ```python\r\n> x = 1\r\n> ```".trim_start_matches("> ")
        );
        assert_eq!(s.fences[1].prefix, "  ");
        assert_eq!(s.fences[1].lang(), "py");
        assert_eq!(s.fences[1].body, "print(2)\n");
        assert!(s.fences[1].closed);
    }

    #[test]
    fn unclosed_fence_is_reported() {
        let s = scan("text\n\n```python\nprint(1)\n");
        assert!(!s.fences[0].closed);
    }

    #[test]
    fn may_have_python_is_a_superset_of_scan() {
        for (text, yes) in [
            ("```python\nx\n```\n", true),
            ("````py,norun\nx\n````\n", true),
            ("> ~~~ pycon\n> >>> 1\n", true),
            ("```output\n1\n```", true),
            ("{{#quiz q.toml}}", true),
            ("```rust\nfn main() {}\n```\n", false),
            ("```pyramid\n```\n", false),
            ("```quiz\n```\n", true),
            ("no code at all", false),
            ("```", false),
        ] {
            assert_eq!(may_have_python(text), yes, "{text}");
            assert_eq!(may_have_quiz(text), text.contains("quiz"), "{text}");
            if !yes {
                let s = scan(text);
                assert!(s.quizzes.is_empty(), "{text}");
                assert!(
                    !s.fences.iter().any(|f| LANGS.contains(&f.lang())),
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn quiz_directive_outside_code_only() {
        let text = "intro\n\n{{#quiz ../q.toml}}\n\n```text\n{{#quiz no.toml}}\n```\n";
        let s = scan(text);
        assert_eq!(s.quizzes.len(), 1);
        assert_eq!(s.quizzes[0].path, "../q.toml");
        assert_eq!(s.quizzes[0].line, 3);
        assert_eq!(&text[s.quizzes[0].span.clone()], "{{#quiz ../q.toml}}");
    }

    #[test]
    fn lines_end_as_in_commonmark() {
        let text = "a\nb\r\nc\rd\r\re";
        let lines = Lines::new(text);
        let at = |c: &str| lines.line_of(text.find(c).unwrap());
        assert_eq!(
            [at("a"), at("b"), at("c"), at("d"), at("e")],
            [1, 2, 3, 4, 6]
        );
        assert_eq!(lines.position(text, text.find('e').unwrap()), (6, 1));
        assert_eq!(Lines::new("x\n  éz").position("x\n  éz", 6), (2, 4));
        assert_eq!(Lines::count(text), 6);
        assert_eq!(Lines::count("a\r\n"), 1);
        assert_eq!(Lines::count(""), 0);
        assert_eq!(lines.start_of(3), text.find('c'));
        assert_eq!(lines.start_of(9), None);
    }

    #[test]
    fn no_code_means_no_parse() {
        assert_eq!(scan("just prose\n"), Scanned::default());
    }
}
