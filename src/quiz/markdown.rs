//! Quiz Markdown → HTML (the book's options, raw HTML shown as text, code
//! blocks with `language-xxx` classes) and → plain text (the no-JS answers).

use pulldown_cmark::{CodeBlockKind, CowStr, Event, Options, Parser, Tag, TagEnd};

use super::schema::extract_marks;

/// The book's Markdown options, as mdBook 0.5 renders chapters, but no
/// footnotes (their ids would clash with the chapter's).
fn options() -> Options {
    crate::scan::mdbook_options().difference(Options::ENABLE_FOOTNOTES)
}

/// Escape text for HTML text and attribute values: the page's one escaper.
pub(crate) use crate::render::html::attr as escape;

/// `<pre><code class="language-x">…</code></pre>`, with mdbook-quiz's
/// `` `[ `` … `` ]` `` markers as `<mark>`.
pub(crate) fn code_block(code: &str, language: &str, extra_class: &str) -> String {
    let (text, marks) = extract_marks(code);
    code_block_marked(&text, &marks, language, extra_class)
}

pub(crate) fn code_block_marked(
    text: &str,
    marks: &[std::ops::Range<usize>],
    language: &str,
    extra_class: &str,
) -> String {
    let mut classes = Vec::new();
    if !language.is_empty() {
        classes.push(format!("language-{language}"));
    }
    if !extra_class.is_empty() {
        classes.push(extra_class.to_string());
    }
    let mut out = String::from("<pre><code");
    if !classes.is_empty() {
        out.push_str(" class=\"");
        out.push_str(&escape(&classes.join(" ")));
        out.push('"');
    }
    out.push('>');
    let text = text.strip_suffix('\n').unwrap_or(text);
    let mut at = 0;
    for m in marks {
        let (start, end) = (m.start.min(text.len()), m.end.min(text.len()));
        out.push_str(&escape(&text[at..start]));
        out.push_str("<mark>");
        out.push_str(&escape(&text[start..end]));
        out.push_str("</mark>");
        at = end;
    }
    out.push_str(&escape(&text[at.min(text.len())..]));
    out.push_str("</code></pre>");
    out
}

fn language_of(info: &str) -> String {
    info.split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .to_string()
}

/// Markdown → HTML. Raw HTML in the Markdown is shown as text, headings lose
/// author ids, `javascript:` links are dropped. May contain newlines (see
/// [`one_line`]).
pub(crate) fn to_html(md: &str) -> String {
    let mut events: Vec<Event> = Vec::new();
    let mut code: Option<(String, String)> = None; // (language, text)
    for event in Parser::new_ext(md, options()) {
        if let Some((lang, text)) = &mut code {
            match event {
                Event::Text(t) => text.push_str(&t),
                Event::End(TagEnd::CodeBlock) => {
                    events.push(Event::Html(code_block(text, lang, "").into()));
                    code = None;
                }
                _ => {}
            }
            continue;
        }
        let event = match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let lang = match kind {
                    CodeBlockKind::Fenced(info) => language_of(&info),
                    CodeBlockKind::Indented => String::new(),
                };
                code = Some((lang, String::new()));
                continue;
            }
            Event::Start(Tag::HtmlBlock) => Event::Start(Tag::Paragraph),
            Event::End(TagEnd::HtmlBlock) => Event::End(TagEnd::Paragraph),
            // Comments are dropped, as a browser would; any other HTML is text.
            Event::Html(s) | Event::InlineHtml(s) if s.trim_start().starts_with("<!--") => continue,
            Event::Html(s) | Event::InlineHtml(s) => Event::Text(s),
            Event::Start(Tag::Heading { level, .. }) => Event::Start(Tag::Heading {
                level,
                id: None,
                classes: Vec::new(),
                attrs: Vec::new(),
            }),
            Event::Start(Tag::Link {
                link_type,
                dest_url,
                title,
                id,
            }) => {
                let scheme = dest_url.trim_start().to_ascii_lowercase();
                let dest_url = if scheme.starts_with("javascript:")
                    || scheme.starts_with("vbscript:")
                    || scheme.starts_with("data:")
                {
                    CowStr::Borrowed("#")
                } else {
                    dest_url
                };
                Event::Start(Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    id,
                })
            }
            e => e,
        };
        events.push(event);
    }
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, events.into_iter());
    html.trim().to_string()
}

/// Markdown → readable plain text (for the no-JS answers, which live in an
/// attribute so the search index never sees them).
pub(crate) fn to_plain(md: &str) -> String {
    let mut out = String::new();
    let mut lists: Vec<Option<u64>> = Vec::new();
    for event in Parser::new_ext(md, options()) {
        match event {
            Event::Text(t) | Event::Code(t) | Event::Html(t) | Event::InlineHtml(t) => {
                out.push_str(&extract_marks(&t).0)
            }
            Event::InlineMath(t) | Event::DisplayMath(t) => out.push_str(&t),
            Event::SoftBreak => out.push(' '),
            Event::HardBreak => out.push('\n'),
            Event::Rule => out.push_str("\n———\n"),
            Event::TaskListMarker(done) => out.push_str(if done { "[x] " } else { "[ ] " }),
            Event::Start(Tag::List(start)) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                lists.push(start);
            }
            Event::End(TagEnd::List(_)) => {
                lists.pop();
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::Start(Tag::Item) => {
                if !out.is_empty() && !out.ends_with('\n') {
                    out.push('\n');
                }
                out.push_str(&"  ".repeat(lists.len().saturating_sub(1)));
                match lists.last_mut() {
                    Some(Some(n)) => {
                        out.push_str(&format!("{n}. "));
                        *n += 1;
                    }
                    _ => out.push_str("• "),
                }
            }
            Event::Start(Tag::CodeBlock(_)) if !out.is_empty() && !out.ends_with('\n') => {
                out.push('\n');
            }
            Event::End(
                TagEnd::Paragraph
                | TagEnd::Heading(_)
                | TagEnd::CodeBlock
                | TagEnd::BlockQuote(_)
                | TagEnd::TableRow
                | TagEnd::TableHead,
            ) => {
                if !out.ends_with('\n') {
                    out.push('\n');
                }
                if lists.is_empty() {
                    out.push('\n');
                }
            }
            Event::End(TagEnd::TableCell) => out.push_str("  "),
            _ => {}
        }
    }
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out.trim().to_string()
}

/// Make HTML one line: newlines inside `<pre>` become `&#10;`, others spaces;
/// `{{#` is encoded so mdBook's `{{#include}}` never sees one.
pub(crate) fn one_line(html: &str) -> String {
    let mut out = String::with_capacity(html.len() + 64);
    let mut in_pre = 0usize;
    let mut rest = html;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("<pre") && matches!(rest.as_bytes().get(4), Some(b'>' | b' ')) {
            in_pre += 1;
        } else if rest.starts_with("</pre>") {
            in_pre = in_pre.saturating_sub(1);
        } else if rest.starts_with("{{#") {
            out.push_str("&#123;&#123;#");
            rest = &rest[3..];
            continue;
        }
        match c {
            '\n' if in_pre > 0 => out.push_str("&#10;"),
            '\n' => out.push(' '),
            '\r' => {}
            c => out.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_html_is_text_and_code_gets_a_language_class() {
        let html = to_html("Hi <script>alert(1)</script>\n\n```python,norun\nprint('<b>')\n```\n");
        assert!(
            html.contains("Hi &lt;script&gt;alert(1)&lt;/script&gt;"),
            "{html}"
        );
        assert!(
            html.contains(
                "<pre><code class=\"language-python\">print(&#39;&lt;b&gt;&#39;)</code></pre>"
            ),
            "{html}"
        );
        let block = to_html("<div>\n<b>x</b>\n</div>\n");
        assert!(
            !block.contains("<div>") && !block.contains("<b>"),
            "{block}"
        );
    }

    #[test]
    fn html_comments_are_dropped() {
        assert_eq!(to_html("a <!-- note --> b"), "<p>a  b</p>");
    }

    #[test]
    fn javascript_links_are_dropped() {
        assert!(to_html("[x](javascript:alert(1))").contains("href=\"#\""));
    }

    #[test]
    fn one_line_keeps_pre_newlines() {
        assert_eq!(
            one_line("<p>a\nb</p>\n<pre><code>1\n2</code></pre>\n{{#include x}}"),
            "<p>a b</p> <pre><code>1&#10;2</code></pre> &#123;&#123;#include x}}"
        );
    }

    #[test]
    fn plain_text_keeps_structure() {
        assert_eq!(
            to_plain("A *b* `c`\n\n- one\n- two\n\n```\nx\ny\n```"),
            "A b c\n\n• one\n• two\n\nx\ny"
        );
    }
}
