//! All HTML the plugin injects is built here, and every piece of text or
//! attribute goes through `text` or `attr`. Injected HTML is always one line
//! (newlines become `&#10;`), so Markdown around it can never end it early or
//! reinterpret its content.
//!
//! What a snippet shows besides text never runs in the reader's page: images
//! (figures, `_repr_png_`, `_repr_svg_`) are `<img>` elements with `data:`
//! URLs (an SVG shown as an image runs no script), and HTML (`_repr_html_`,
//! and `_repr_markdown_` once rendered) goes through an allow-list sanitizer
//! (`ammonia`) that keeps tables and basic formatting and drops scripts,
//! styles, event handlers, ids, classes and `javascript:` URLs.

/// Escape text content, made `visible` first (no control character reaches
/// the page). Newlines become `&#10;` (the HTML stays on one line) and braces
/// become entities so no later `{{...}}` processing sees them.
pub fn text(s: &str) -> String {
    let s = super::visible(s);
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("&#10;"),
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            c => out.push(c),
        }
    }
    out
}

/// Escape an attribute value (to be placed between double quotes).
pub fn attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push_str(&text(&c.to_string())),
        }
    }
    out
}

/// `<div class="mdpy-label">Output</div><pre><code class="nohighlight">…</code></pre>` wrapped in `class`.
pub fn labelled_pre(class: &str, label: &str, body: &str, extra_attrs: &str) -> String {
    format!(
        "<div class=\"{class}\"{extra_attrs}><div class=\"mdpy-label\">{}</div><pre><code class=\"nohighlight\">{}</code></pre></div>",
        text(label),
        coloured(body)
    )
}

/// The outputs of a `versions=differ` block, one per distinct output:
/// radio buttons (keyboard-accessible without script: arrow keys move
/// between them) switch which output shows, the primary's first; printed,
/// every output shows under its caption. `group` makes the radio group's
/// name unique on the page (print.html holds every chapter).
pub fn versions(label: &str, group: &str, variants: &[(String, String)]) -> String {
    let mut tabs = String::new();
    let mut panels = String::new();
    for (k, (versions, output)) in variants.iter().enumerate() {
        let id = format!("{group}-{k}");
        tabs.push_str(&format!(
            "<input type=\"radio\" class=\"mdpy-vpick\" name=\"{}\" id=\"{}\"{}><label for=\"{}\">{}</label>",
            attr(group),
            attr(&id),
            if k == 0 { " checked=\"\"" } else { "" },
            attr(&id),
            text(versions)
        ));
        panels.push_str(&format!(
            "<div class=\"mdpy-v mdpy-v{k}\"><div class=\"mdpy-vcaption\">{}</div><pre><code class=\"nohighlight\">{}</code></pre></div>",
            text(versions),
            text(output)
        ));
    }
    format!(
        "<div class=\"mdpy-output mdpy-versions\" data-origin=\"build\" role=\"group\" aria-label=\"{}\"><div class=\"mdpy-label\">{}</div>{tabs}{panels}</div>",
        attr(label),
        text(label)
    )
}

/// A hint of an exercise, behind a disclosure: `markdown` is the author's.
pub fn hint(n: usize, markdown: &str) -> String {
    one_line(&format!(
        "<details class=\"mdpy-hint\"><summary>Hint {n}</summary>{}</details>",
        markdown_to_html(markdown)
    ))
}

/// An exercise's model solution, behind a disclosure (a `language-py`
/// block: highlighted, but never made runnable).
pub fn solution(summary: &str, code: &str) -> String {
    format!(
        "<details class=\"mdpy-solution\"><summary>{}</summary><pre><code class=\"language-py\">{}</code></pre></details>",
        text(summary),
        text(code).replace('\n', "&#10;")
    )
}

/// HTML on one line (mdBook ends a raw HTML block at a blank line): line
/// breaks become character references, which read the same.
fn one_line(html: &str) -> String {
    html.trim_end().replace('\n', "&#10;")
}

/// Program output with terminal colours: each SGR sequence (`ESC[31m`)
/// becomes a coloured span (`ansi-to-html`), and the text between them is
/// escaped and made visible as by `text` (any other control sequence stays
/// visible as control pictures).
pub fn coloured(s: &str) -> String {
    let pieces = super::sgr_pieces(s);
    if pieces.len() < 2 {
        return text(s);
    }
    let escaped: String = pieces
        .iter()
        .map(|(sgr, t)| if *sgr { t.to_string() } else { text(t) })
        .collect();
    ansi_to_html::Converter::new()
        .skip_escape(true)
        .convert(&escaped)
        .map(|h| h.replace('\n', "&#10;"))
        .unwrap_or_else(|_| text(s))
}

/// What a snippet shows besides text blocks (its data is in the chapter's
/// element).
pub fn snippet(inner: &str) -> String {
    format!("<div class=\"mdpy-snippet\">{inner}</div>")
}

/// The chapter's element: what the front end needs of each snippet.
pub fn chapter(data_json: &str) -> String {
    format!(
        "<div class=\"mdpy-chapter\" hidden=\"\" data-mdpy=\"{}\"></div>",
        attr(data_json)
    )
}

/// One piece of a rich output, in output order.
pub enum Piece<'a> {
    /// Printed text.
    Text(&'a str),
    /// An image: mime type, base64 data, alt text, and whether it is a
    /// matplotlib figure (drawn on a transparent background: dark themes
    /// show it inverted).
    Image(&'a str, &'a str, &'a str, bool),
    /// HTML from the snippet (sanitized here).
    Html(&'a str),
    /// Markdown from the snippet (rendered, then sanitized).
    Markdown(&'a str),
}

/// The output area of a snippet that showed figures or rich displays.
pub fn rich_output(label: &str, pieces: &[Piece]) -> String {
    let mut out = format!(
        "<div class=\"mdpy-output mdpy-rich\" data-origin=\"build\"><div class=\"mdpy-label\">{}</div>",
        text(label)
    );
    for piece in pieces {
        match piece {
            Piece::Text(t) if !t.is_empty() => out.push_str(&format!(
                "<pre><code class=\"nohighlight\">{}</code></pre>",
                coloured(t)
            )),
            Piece::Text(_) => {}
            Piece::Image(mime, data, alt, figure) => out.push_str(&image(mime, data, alt, *figure)),
            Piece::Html(h) => {
                out.push_str(&format!("<div class=\"mdpy-html\">{}</div>", sanitize(h)))
            }
            Piece::Markdown(m) => out.push_str(&format!(
                "<div class=\"mdpy-html\">{}</div>",
                sanitize(&markdown_to_html(m))
            )),
        }
    }
    out.push_str("</div>");
    out
}

/// `<img>` with a `data:` URL; only PNG and SVG, only base64 data. A
/// matplotlib figure is `mdpy-figure` too.
pub fn image(mime: &str, base64: &str, alt: &str, figure: bool) -> String {
    let ok_mime = matches!(mime, "image/png" | "image/svg+xml");
    let ok_data = base64
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if !ok_mime || !ok_data {
        return note(&format!("[an image of type {mime} was left out]"));
    }
    format!(
        "<img class=\"mdpy-image{}\" alt=\"{}\" src=\"data:{mime};base64,{base64}\">",
        if figure { " mdpy-figure" } else { "" },
        attr(alt)
    )
}

/// Snippet-produced HTML, reduced to an allow-list of tags and attributes,
/// on one line and with no braces (see `text`).
pub fn sanitize(html: &str) -> String {
    use std::collections::{HashMap, HashSet};
    let tags: HashSet<&str> = [
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "caption",
        "code",
        "col",
        "colgroup",
        "dd",
        "del",
        "div",
        "dl",
        "dt",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "ins",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "q",
        "s",
        "samp",
        "small",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
        "var",
    ]
    .into_iter()
    .collect();
    let attrs: HashMap<&str, HashSet<&str>> = [
        ("a", ["href"].as_slice()),
        ("td", &["colspan", "rowspan"]),
        ("th", &["colspan", "rowspan", "scope"]),
        ("col", &["span"]),
        ("colgroup", &["span"]),
        ("ol", &["start"]),
    ]
    .into_iter()
    .map(|(t, a)| (t, a.iter().copied().collect()))
    .collect();
    let clean = ammonia::Builder::default()
        .tags(tags)
        .tag_attributes(attrs)
        .generic_attributes(["title"].into_iter().collect())
        .url_schemes(["http", "https", "mailto"].into_iter().collect())
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(html)
        .to_string();
    let mut out = String::with_capacity(clean.len());
    for c in clean.chars() {
        match c {
            '\n' => out.push_str("&#10;"),
            '\r' => {}
            '{' => out.push_str("&#123;"),
            '}' => out.push_str("&#125;"),
            c => out.push(c),
        }
    }
    out
}

/// CommonMark to HTML (not yet sanitized).
pub fn markdown_to_html(md: &str) -> String {
    let mut out = String::new();
    let parser = pulldown_cmark::Parser::new_ext(md, pulldown_cmark::Options::ENABLE_TABLES);
    pulldown_cmark::html::push_html(&mut out, parser);
    out
}

/// A Markdown table with the cells of the one table in sanitized `html`,
/// first row as the header; `None` when there is no such plain table (no
/// table, several, spans, rows of different lengths).
pub fn table_to_markdown(html: &str) -> Option<String> {
    let html = sanitize(html);
    if html.matches("<table").count() != 1 || html.contains("colspan") || html.contains("rowspan") {
        return None;
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for row in html.split("<tr").skip(1) {
        let row = row.split("</tr>").next().unwrap_or("");
        let mut cells = Vec::new();
        let mut rest = row;
        while let Some(at) = rest.find("<t") {
            let tag = &rest[at..];
            let is_cell =
                tag.starts_with("<td") || tag.starts_with("<th>") || tag.starts_with("<th ");
            let Some(open_end) = tag.find('>') else { break };
            if !is_cell {
                rest = &tag[open_end + 1..];
                continue;
            }
            let body = &tag[open_end + 1..];
            let close = body
                .find("</td>")
                .into_iter()
                .chain(body.find("</th>"))
                .min()?;
            cells.push(cell_text(&body[..close]));
            rest = &body[close + 5..];
        }
        rows.push(cells);
    }
    let width = rows.first()?.len();
    if width == 0 || rows.iter().any(|r| r.len() != width) {
        return None;
    }
    let line = |r: &[String]| format!("| {} |", r.join(" | "));
    let mut out = vec![line(&rows[0]), line(&vec!["---".to_string(); width])];
    out.extend(rows[1..].iter().map(|r| line(r)));
    Some(out.join("\n"))
}

/// The text of a table cell: tags out, entities decoded, on one line, then
/// escaped for Markdown (`escape_markdown`: no HTML or link survives).
fn cell_text(html: &str) -> String {
    let mut plain = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let decoded = plain
        .replace("&#10;", " ")
        .replace("&#123;", "{")
        .replace("&#125;", "}")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace("&amp;", "&");
    super::escape_markdown(&decoded.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub fn note(s: &str) -> String {
    format!("<p class=\"mdpy-note\">{}</p>", text(s))
}

pub fn warning(title: &str, diff: &str) -> String {
    format!(
        "<div class=\"mdpy-warning\" role=\"note\"><strong>{}</strong><pre><code class=\"nohighlight\">{}</code></pre></div>",
        text(title),
        text(diff)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_stays_on_one_line() {
        assert_eq!(
            text("<script>\n&{x}"),
            "&lt;script&gt;&#10;&amp;&#123;x&#125;"
        );
        assert_eq!(attr("\"a' onerror=x"), "&quot;a&#39; onerror=x");
        assert!(!chapter("{\"a\":\"</div>\\n\"}").contains('\n'));
    }

    #[test]
    fn sanitize_keeps_tables_and_drops_scripts_handlers_and_javascript_urls() {
        let dirty = "<table class=\"dataframe\" border=\"1\"><tr><th>a</th><td onclick=\"alert(1)\">1</td></tr></table>\n<script>alert(2)</script><img src=x onerror=alert(3)><a href=\"javascript:alert(4)\">x</a><style>p{}</style><p id=\"main\">{ok}</p><svg onload=alert(5)></svg>";
        let clean = sanitize(dirty);
        assert_eq!(
            clean,
            "<table><tbody><tr><th>a</th><td>1</td></tr></tbody></table>&#10;<a rel=\"noopener noreferrer nofollow\">x</a><p>&#123;ok&#125;</p>"
        );
    }

    #[test]
    fn images_only_png_and_svg_in_base64() {
        assert_eq!(
            image("image/png", "iVBO+/=", "a \"plot\"", false),
            "<img class=\"mdpy-image\" alt=\"a &quot;plot&quot;\" src=\"data:image/png;base64,iVBO+/=\">"
        );
        assert!(
            image("image/png", "iVBO", "f", true)
                .starts_with("<img class=\"mdpy-image mdpy-figure\"")
        );
        assert!(!image("text/html", "PHA+", "x", false).contains("<img"));
        assert!(!image("image/png", "\" onerror=\"x", "x", false).contains("<img"));
    }

    #[test]
    fn plain_tables_become_markdown() {
        let html = "<table border=\"1\" class=\"dataframe\">\n  <thead>\n    <tr style=\"text-align: right;\">\n      <th></th>\n      <th>city</th>\n      <th>n</th>\n    </tr>\n  </thead>\n  <tbody>\n    <tr>\n      <th>0</th>\n      <td>Lyon | FR</td>\n      <td>3</td>\n    </tr>\n  </tbody>\n</table>";
        assert_eq!(
            table_to_markdown(html).as_deref(),
            Some("|  | city | n |\n| --- | --- | --- |\n| 0 | Lyon \\| FR | 3 |")
        );
        assert_eq!(table_to_markdown("<p>no table</p>"), None);
        assert_eq!(
            table_to_markdown("<table><tr><td colspan=2>x</td></tr></table>"),
            None
        );
    }
}
