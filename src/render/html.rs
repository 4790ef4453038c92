//! All HTML the plugin injects is built here, and every piece of text or
//! attribute goes through `text` or `attr`. Injected HTML is always one line
//! (newlines become `&#10;`), so Markdown around it can never end it early or
//! reinterpret its content.

/// Escape text content. Newlines become `&#10;` (the HTML stays on one line)
/// and braces become entities so no later `{{...}}` processing sees them.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
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
        text(body)
    )
}

/// The snippet element: metadata for the front end plus what the build shows.
pub fn snippet(data_json: &str, inner: &str) -> String {
    format!(
        "<div class=\"mdpy-snippet\" data-mdpy=\"{}\">{inner}</div>",
        attr(data_json)
    )
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
        assert!(!snippet("{\"a\":\"</div>\\n\"}", "").contains('\n'));
    }
}
