//! Render: plans and verdicts in, the chapter's new Markdown out. Every change
//! is an edit of a byte range of the original text, applied in one pass, so
//! every byte the plugin does not own comes out unchanged. A Python block
//! keeps its fence (with the plugin's attributes removed from the info
//! string, so they never become CSS classes); its stdin and output follow as
//! plain `text` fences, for every renderer. For html, a chapter with Python
//! also starts with one hidden element holding what the runner needs of each
//! block, in page order, and a block with more to show than text (figures,
//! a warning, a note) gets one line of HTML instead (`html`). `assets`
//! builds the front-end bundle.

pub mod assets;
pub mod html;
pub mod page_data;

use crate::execute::Rich;
use crate::plan::{ChapterPlan, Mode, Skip, Snippet};
use crate::scan::Scanned;
use crate::verify::Verdict;
use std::ops::Range;

/// `s` cut into SGR sequences (`ESC[1;31m`: terminal colours and styles,
/// `true`) and the text between them (`false`), in order.
pub(crate) fn sgr_pieces(s: &str) -> Vec<(bool, &str)> {
    let mut out = Vec::new();
    let (mut rest, mut text_start) = (s, 0);
    let mut at = 0;
    while let Some(i) = rest.find("\u{1b}[") {
        let params = &rest[i + 2..];
        let len = params
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .unwrap_or(params.len());
        let start = at + i;
        if params[len..].starts_with('m') {
            let end = start + 2 + len + 1;
            if text_start < start {
                out.push((false, &s[text_start..start]));
            }
            out.push((true, &s[start..end]));
            text_start = end;
            at = end;
        } else {
            at = start + 2;
        }
        rest = &s[at..];
    }
    if text_start < s.len() {
        out.push((false, &s[text_start..]));
    }
    out
}

/// `s` without its SGR sequences (terminal colours), for plain text blocks.
pub(crate) fn without_sgr(s: &str) -> std::borrow::Cow<'_, str> {
    let pieces = sgr_pieces(s);
    if !pieces.iter().any(|(sgr, _)| *sgr) {
        return std::borrow::Cow::Borrowed(s);
    }
    pieces
        .iter()
        .filter(|(sgr, _)| !sgr)
        .map(|(_, t)| *t)
        .collect()
}

/// Text as a reader should see it, for every renderer: the one place output
/// bytes that HTML cannot carry are made visible (at render time only:
/// `output` blocks are compared with the text as printed). A line ending is
/// LF or CRLF; a lone CR returns to the start of the line and what follows
/// overwrites it, as in a terminal (a progress bar `10%\r20%\r100%` shows
/// `100%`); other control characters but tab show as Unicode control
/// pictures (NUL `␀`, ESC `␛`, DEL `␡`), C1 controls and noncharacters as
/// Python escapes (`\x85`, `\ufffe`). In output on a page, terminal colours
/// (SGR sequences) are taken out first: spans in HTML (`html::coloured`),
/// dropped from text blocks (`without_sgr`).
pub(crate) fn visible(s: &str) -> std::borrow::Cow<'_, str> {
    let plain = |c: char| c == '\n' || c == '\t' || !(c.is_control() || is_noncharacter(c));
    if s.chars().all(plain) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for (k, line) in s.split('\n').enumerate() {
        if k > 0 {
            out.push('\n');
        }
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut cells: Vec<char> = Vec::with_capacity(line.len());
        let mut column = 0;
        let mut put = |c: char, column: &mut usize| {
            match cells.get_mut(*column) {
                Some(cell) => *cell = c,
                None => cells.push(c),
            }
            *column += 1;
        };
        for c in line.chars() {
            match c {
                '\r' => column = 0,
                c if plain(c) => put(c, &mut column),
                '\u{0}'..='\u{1f}' => put(
                    char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
                    &mut column,
                ),
                '\u{7f}' => put('\u{2421}', &mut column),
                c => {
                    let escaped = if (c as u32) < 0x100 {
                        format!("\\x{:02x}", c as u32)
                    } else {
                        format!("\\u{:04x}", c as u32)
                    };
                    escaped.chars().for_each(|e| put(e, &mut column));
                }
            }
        }
        out.extend(cells);
    }
    std::borrow::Cow::Owned(out)
}

/// Unicode noncharacters (U+FDD0..U+FDEF, U+xFFFE, U+xFFFF): HTML parsers
/// report them as errors.
fn is_noncharacter(c: char) -> bool {
    let c = c as u32;
    (0xfdd0..=0xfdef).contains(&c) || c & 0xfffe == 0xfffe
}

/// Who reads the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Html,
    /// markdown, epub, custom renderers: plain Markdown.
    Text,
}

/// Facts the rendered notes mention.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    pub target: Target,
    /// The build interpreter, e.g. `3.11.7`.
    pub python: &'a str,
    /// The browser's Python, e.g. `3.14`.
    pub browser_python: &'a str,
    pub labels: &'a assets::Labels,
    /// The build interpreter's standard-library module names: a snippet
    /// importing anything else needs the book's `packages` in the browser.
    pub stdlib: &'a [String],
}

/// One replacement of a byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub text: String,
}

/// Apply edits (sorted, non-overlapping) to `text` in one pass.
pub fn splice(text: &str, edits: &mut [Edit]) -> String {
    edits.sort_by_key(|e| e.range.start);
    let extra: usize = edits.iter().map(|e| e.text.len()).sum();
    let mut out = String::with_capacity(text.len() + extra);
    let mut at = 0;
    for e in edits.iter() {
        if e.range.start < at {
            continue; // overlapping edits are a bug upstream; keep the first
        }
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.text);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// The edits for one chapter's snippets. `verdicts[i]` belongs to
/// `plan.snippets[i]` (`None` when it did not run).
pub fn snippet_edits(
    text: &str,
    scanned: &Scanned,
    plan: &ChapterPlan,
    verdicts: &[Option<Verdict>],
    cx: &Context,
) -> Vec<Edit> {
    let nl = crate::scan::newline(text);
    let mut edits = Vec::new();
    let mut entries = Vec::new();
    for (s, verdict) in plan.snippets.iter().zip(verdicts) {
        let fence = &scanned.fences[s.fence];
        let clean = clean_info(s);
        if text[fence.info_span.clone()] != clean {
            edits.push(Edit {
                range: fence.info_span.clone(),
                text: clean,
            });
        }
        // Other renderers cannot hide lines: drop hidden lines from the code.
        if cx.target == Target::Text
            && !s.hidden.is_empty()
            && let Some(edit) = visible_body(text, fence, s, nl)
        {
            edits.push(edit);
        }
        // The region after the fence that we own: any stdin/output blocks.
        let end = [&s.stdin, &s.expected]
            .into_iter()
            .flatten()
            .chain(&s.version_outputs)
            .map(|a| scanned.fences[a.fence].span.end)
            .max()
            .unwrap_or(fence.span.end);
        let p = &fence.prefix;
        let blank = p.trim_end();
        let insert = match cx.target {
            Target::Html => {
                let exercise = plan.exercises.iter().find(|e| e.snippet == s.index);
                let place = (plan.source.as_str(), entries.len(), exercise);
                let (data, shown) = html_snippet(place, s, verdict.as_ref(), cx, p, nl, &plan.file);
                entries.extend(data);
                match shown {
                    // A blank line after the HTML ends its HTML block.
                    Shown::Html(h) => format!("{nl}{blank}{nl}{p}{h}{nl}{blank}"),
                    Shown::Markdown(m) => format!("{nl}{blank}{nl}{m}"),
                    Shown::Nothing => String::new(),
                }
            }
            Target::Text => match text_block(s, verdict.as_ref(), cx, p, nl) {
                Some(b) => format!("{nl}{blank}{nl}{b}"),
                None => String::new(),
            },
        };
        if end != fence.span.end || !insert.is_empty() {
            edits.push(Edit {
                range: fence.span.end..end,
                text: insert,
            });
        }
    }
    edits.extend(exercise_edits(text, scanned, plan, cx, nl));
    // One element per chapter carries what the runner needs of every
    // snippet, in page order: mdBook parses each raw HTML block with an HTML
    // tokenizer, and one element per snippet made a warm build of a
    // 2,000-snippet book 25% slower than the same book without the plugin.
    if !entries.is_empty() {
        let data = page_data::Chapter {
            src: &plan.source,
            file: plan.file.to_string_lossy().into_owned(),
            py: assets::minor_version(cx.python),
            s: entries,
        };
        let at = if text.starts_with('\u{feff}') { 3 } else { 0 };
        edits.insert(
            0,
            Edit {
                range: at..at,
                text: format!("{}{nl}{nl}", html::chapter(&page_data::to_json(&data))),
            },
        );
    }
    edits
}

/// Replace a fence's body (between its opening and closing lines) with the
/// snippet's visible lines, each behind the container prefix.
fn visible_body(text: &str, fence: &crate::scan::Fence, s: &Snippet, nl: &str) -> Option<Edit> {
    let open_end = fence.span.start + text[fence.span.start..].find('\n')? + 1;
    let close_start = text[..fence.span.end].rfind('\n')? + 1;
    if close_start < open_end {
        return None;
    }
    let mut body = String::new();
    for (i, line) in s.code.lines().enumerate() {
        if !s.hidden.contains(&i) {
            body.push_str(&fence.prefix);
            body.push_str(line);
            body.push_str(nl);
        }
    }
    Some(Edit {
        range: open_end..close_start,
        text: body,
    })
}

/// The info string mdBook gets: the language, and mdBook's own `hidelines=`.
fn clean_info(s: &Snippet) -> String {
    let mut info = match s.mode {
        Mode::Exec => "python".to_string(),
        Mode::Pycon => "pycon".to_string(),
    };
    if let Some(h) = &s.attrs.hidelines {
        info.push_str(",hidelines=");
        info.push_str(h);
    }
    info
}

/// How a snippet shows in an html page.
enum Shown {
    /// Its stdin and output as plain fenced blocks (`text`), which mdBook
    /// renders as cheaply as any code block; the front end labels them.
    Markdown(String),
    /// One line of HTML: rich output, a mismatch warning or a note.
    Html(String),
    Nothing,
}

/// A snippet in an html page: what follows its code block, and its entry in
/// the chapter's data (`None` for pycon, which has no runner). `position`:
/// entries before it in the chapter.
fn html_snippet(
    (source, position, exercise): (&str, usize, Option<&crate::exercise::Exercise>),
    s: &Snippet,
    verdict: Option<&Verdict>,
    cx: &Context,
    prefix: &str,
    nl: &str,
    chapter: &std::path::Path,
) -> (Option<page_data::Snippet>, Shown) {
    if s.mode == Mode::Pycon {
        // A wrong transcript published under `on-mismatch = "warn"`: its diff.
        return match verdict.and_then(|v| v.warning.as_deref()) {
            Some(w) => (
                None,
                Shown::Html(html::warning(
                    "mdbook-python: this console session does not match what Python prints",
                    w,
                )),
            ),
            None => (None, Shown::Nothing),
        };
    }
    let (output, author) = match (&s.skip, verdict) {
        (Some(_), _) => (s.expected.as_ref().map(|e| e.text.as_str()), true),
        (None, Some(v)) => (v.shown.as_deref(), false),
        (None, None) => (None, false),
    };
    let needs_html = matches!(s.skip, Some(Skip::MinPython(..) | Skip::BrowserOnly))
        || verdict.is_some_and(|v| v.variants.len() > 1)
        || s.no_browser.is_some()
        || browser_differs(s, verdict)
        || (s.skip.is_none()
            && verdict.is_some_and(|v| {
                !v.rich.is_empty()
                    || v.warning.is_some()
                    || v.shown.as_deref().is_some_and(|o| o.contains("\u{1b}["))
            }));
    // Only what the front end needs, and only when it differs from the
    // default (`page_data::Snippet`). The code itself is not repeated: the
    // runner reads it from the page's own code block (hidden lines are
    // mdBook's `.boring` spans).
    // The chapter line of the code's first line: the browser's tracebacks
    // name it as the build's do (`f`, `l`: the included file and its line,
    // for code an include brought).
    let (file, line) = s
        .written
        .as_ref()
        .map_or((chapter, s.line), |(f, l)| (f, *l));
    let mut data = page_data::Snippet {
        // The block's key is `src#i`; `i` is its position unless pycon
        // blocks (which are not in the list) came before it.
        i: (s.index != position).then_some(s.index),
        f: (file != chapter).then(|| file.to_string_lossy().into_owned()),
        l: line,
        session: s.attrs.session.clone(),
        stdin: s.stdin.as_ref().map(|i| i.text.replace("\r\n", "\n")),
        raises: s.attrs.raises.clone(),
        ex: exercise.map(|ex| page_data::Exercise {
            name: ex.name.clone(),
            check: ex.check_code(),
            hints: ex.hints.len(),
        }),
        no_browser: s.no_browser.is_some() || matches!(s.skip, Some(Skip::NoRun | Skip::NotMarked)),
        differs: browser_differs(s, verdict),
        packages: crate::plan::imports_third_party(&s.code, cx.stdlib),
        ..Default::default()
    };
    if needs_html {
        data.h = true;
        return (Some(data), Shown::Html(html_inner(source, s, verdict, cx)));
    }
    match output {
        None => data.no_output = true,
        // A fenced block always ends in a line break; this one had none.
        Some(t) if !t.is_empty() && !t.ends_with('\n') => data.nonl = true,
        Some(_) => {}
    }
    data.author = author && output.is_some();
    let blocks: Vec<String> = s
        .stdin
        .as_ref()
        .map(|i| i.text.as_str())
        .into_iter()
        .chain(output)
        .map(|body| fenced(body, prefix, nl))
        .collect();
    let blank = prefix.trim_end();
    let shown = if blocks.is_empty() {
        Shown::Nothing
    } else {
        Shown::Markdown(blocks.join(&format!("{nl}{blank}{nl}")))
    };
    (Some(data), shown)
}

/// The HTML shown under a snippet that needs more than text blocks.
/// The block prints something else in the browser: its author says so
/// (`browser=differs`), or browser parity found it.
fn browser_differs(s: &Snippet, verdict: Option<&Verdict>) -> bool {
    s.attrs.browser_differs || verdict.is_some_and(|v| v.browser_differs)
}

fn html_inner(source: &str, s: &Snippet, verdict: Option<&Verdict>, cx: &Context) -> String {
    let labels = cx.labels;
    let mut inner = String::new();
    if let Some(stdin) = &s.stdin {
        inner.push_str(&html::labelled_pre(
            "mdpy-stdin",
            &labels.input(),
            &stdin.text,
            "",
        ));
    }
    match (&s.skip, verdict) {
        (Some(Skip::MinPython(major, minor)), _) => {
            inner.push_str(&html::note(&format!(
                "Needs Python {major}.{minor}+; not run when this book was built (Python {}).",
                cx.python
            )));
        }
        (Some(Skip::BrowserOnly), _) => {
            inner.push_str(&html::note(&format!(
                "Runs in your browser only (Python {}): press Run to see its output; the book's build did not run it.",
                cx.browser_python
            )));
        }
        (Some(_), _) => {
            // Shown only: an author-written output is displayed as written.
            if let Some(e) = &s.expected {
                inner.push_str(&html::labelled_pre(
                    "mdpy-output",
                    &labels.author_output(),
                    &e.text,
                    " data-origin=\"author\"",
                ));
            }
        }
        (None, Some(v)) if !v.rich.is_empty() => {
            let shown = v.shown.as_deref().unwrap_or("");
            let parts = parts(shown, &v.rich);
            let alts = alts(s, &v.rich);
            let pieces: Vec<html::Piece> = parts
                .iter()
                .map(|p| match p {
                    Part::Text(t) => html::Piece::Text(t),
                    Part::Rich(i) => {
                        let r = &v.rich[*i];
                        match r.mime.as_str() {
                            "text/html" => html::Piece::Html(&r.data),
                            "text/markdown" => html::Piece::Markdown(&r.data),
                            mime => html::Piece::Image(mime, &r.data, &alts[*i], r.figure),
                        }
                    }
                })
                .collect();
            inner.push_str(&html::rich_output(&labels.output(cx.python), &pieces));
            if let Some(w) = &v.warning {
                inner.push_str(&html::warning(
                    "mdbook-python: this output block does not match what the code prints",
                    w,
                ));
            }
        }
        (None, Some(v)) if v.variants.len() > 1 => {
            // Unique on print.html, which holds every chapter.
            let group = format!(
                "mdpy-v{}",
                &blake3::hash(format!("{source}#{}", s.index).as_bytes()).to_hex()[..12]
            );
            inner.push_str(&html::versions(
                &labels.output(cx.python),
                &group,
                &version_labels(&v.variants, cx.python),
            ));
        }
        (None, Some(v)) => {
            if let Some(out) = &v.shown {
                inner.push_str(&html::labelled_pre(
                    "mdpy-output",
                    &labels.output(cx.python),
                    out,
                    " data-origin=\"build\"",
                ));
            }
            if let Some(w) = &v.warning {
                inner.push_str(&html::warning(
                    "mdbook-python: this output block does not match what the code prints",
                    w,
                ));
            }
        }
        (None, None) => {}
    }
    if let Some(reason) = &s.no_browser {
        inner.push_str(&html::note(reason));
    } else if browser_differs(s, verdict) {
        inner.push_str(&html::note(&format!(
            "Runs on Python {} in your browser; the output there will differ from the output above (Python {}).",
            cx.browser_python, cx.python
        )));
    }
    html::snippet(&inner)
}

/// `Python 3.13.0 (build)`, `Python 3.11.7, 3.12.1`: who prints each output.
fn version_labels(variants: &crate::matrix::Variants, build: &str) -> Vec<(String, String)> {
    variants
        .iter()
        .map(|(versions, output)| {
            let names: Vec<String> = versions
                .iter()
                .map(|v| {
                    if v == build {
                        format!("{v} (build)")
                    } else {
                        v.clone()
                    }
                })
                .collect();
            (format!("Python {}", names.join(", ")), output.clone())
        })
        .collect()
}

/// The fences of exercise parts: checks and wrong answers leave the page
/// (the runner has the checks in its data), hints and the solution go
/// behind disclosures where the author put them (other renderers: a
/// quotation and a labelled code block).
fn exercise_edits(
    text: &str,
    scanned: &Scanned,
    plan: &ChapterPlan,
    cx: &Context,
    nl: &str,
) -> Vec<Edit> {
    use crate::exercise::Part;
    let mut hints: std::collections::HashMap<&str, usize> = Default::default();
    let mut edits = Vec::new();
    for b in &plan.exercise_blocks {
        let fence = &scanned.fences[b.fence];
        let p = &fence.prefix;
        let body = match (b.part, cx.target) {
            (Part::Check | Part::Wrong | Part::Starter, _) => String::new(),
            (Part::Hint, target) => {
                let n = hints.entry(b.name.as_str()).or_insert(0);
                *n += 1;
                match target {
                    Target::Html => format!("{p}{}", html::hint(*n, &b.text)),
                    Target::Text => {
                        let quoted: Vec<String> =
                            b.text.lines().map(|l| format!("{p}> {l}")).collect();
                        format!("{p}> **Hint {n}.**{nl}{p}>{nl}{}", quoted.join(nl))
                    }
                }
            }
            (Part::Solution, Target::Html) => format!("{p}{}", html::solution("Solution", &b.text)),
            (Part::Solution, Target::Text) => {
                format!(
                    "{p}**Solution:**{nl}{}{nl}{}",
                    p.trim_end(),
                    fenced_code(&b.text, "python", p, nl)
                )
            }
        };
        let start = fence.span.start + text[fence.span.start..].find("```").unwrap_or(0);
        edits.push(Edit {
            range: start..fence.span.end,
            text: body.trim_start_matches(p.as_str()).to_string(),
        });
    }
    edits
}

/// A fenced code block of `lang` behind the container prefix.
fn fenced_code(body: &str, lang: &str, prefix: &str, nl: &str) -> String {
    let fence = fence_for(body);
    let mut out = format!("{prefix}{fence}{lang}{nl}");
    for line in body.lines() {
        out.push_str(&format!("{prefix}{line}{nl}"));
    }
    out.push_str(&format!("{prefix}{fence}"));
    out
}

/// A rich output cut into its pieces: text between the items, and items (by
/// index into the verdict's `rich`), in output order.
enum Part<'a> {
    Text(&'a str),
    Rich(usize),
}

fn parts<'a>(shown: &'a str, rich: &[Rich]) -> Vec<Part<'a>> {
    let mut order: Vec<usize> = (0..rich.len()).collect();
    order.sort_by_key(|&i| rich[i].at);
    let mut out = Vec::new();
    let mut from = 0;
    for i in order {
        let mut at = rich[i].at.clamp(from, shown.len());
        while !shown.is_char_boundary(at) {
            at -= 1;
        }
        let at = at.max(from);
        if at > from {
            out.push(Part::Text(&shown[from..at]));
        }
        out.push(Part::Rich(i));
        from = at;
    }
    if from < shown.len() {
        out.push(Part::Text(&shown[from..]));
    }
    out
}

/// Alt text of each item: the block's `alt=`, else a figure's title (or,
/// for a displayed image, its class name), else `Figure N`.
fn alts(s: &Snippet, rich: &[Rich]) -> Vec<String> {
    let mut figures = 0;
    rich.iter()
        .map(|r| {
            if r.figure {
                figures += 1;
            }
            if let Some(a) = &s.attrs.alt {
                return a.clone();
            }
            match &r.alt {
                Some(a) if !a.trim().is_empty() => a.trim().to_string(),
                _ if r.figure => format!("Figure {figures}"),
                _ => "Image".to_string(),
            }
        })
        .collect()
}

/// A fenced text block, each line behind the container prefix.
fn fenced(body: &str, prefix: &str, nl: &str) -> String {
    let body = without_sgr(body);
    let body = visible(&body);
    let body = body.as_ref();
    let fence = fence_for(body);
    let mut out = format!("{prefix}{fence}text{nl}");
    for line in body.lines() {
        out.push_str(prefix);
        out.push_str(line);
        out.push_str(nl);
    }
    out.push_str(prefix);
    out.push_str(&fence);
    out
}

/// For renderers other than html: printed text in fenced blocks, figures
/// and images as a `[figure: alt]` note, HTML tables as Markdown tables
/// (other HTML and Markdown as the object's repr or source, as text).
fn rich_text_block(s: &Snippet, v: &Verdict, prefix: &str, nl: &str) -> String {
    let shown = v.shown.as_deref().unwrap_or("");
    let alts = alts(s, &v.rich);
    let blank = prefix.trim_end();
    let sep = format!("{nl}{blank}{nl}");
    let mut blocks = Vec::new();
    for part in parts(shown, &v.rich) {
        match part {
            Part::Text(t) if t.trim().is_empty() => {}
            Part::Text(t) => blocks.push(fenced(t, prefix, nl)),
            Part::Rich(i) => {
                let r = &v.rich[i];
                let fallback = if r.text.is_empty() { &r.data } else { &r.text };
                blocks.push(match r.mime.as_str() {
                    "text/html" => match html::table_to_markdown(&r.data) {
                        Some(table) => table
                            .lines()
                            .map(|l| format!("{prefix}{l}"))
                            .collect::<Vec<_>>()
                            .join(nl),
                        None => fenced(fallback, prefix, nl),
                    },
                    "text/markdown" => fenced(&r.data, prefix, nl),
                    _ => format!(
                        "{prefix}\\[{}: {}\\]",
                        if r.figure { "figure" } else { "image" },
                        escape_markdown(&alts[i])
                    ),
                });
            }
        }
    }
    blocks.join(&sep)
}

/// Text that Markdown shows as written, for renderers other than html: the
/// one escaper of snippet output put into Markdown outside a fenced block
/// (table cells, alt texts, quiz answers). Made `visible`, on one line, with
/// a backslash before every character that could start markup inline (HTML,
/// entities, links, images, code, emphasis, strikethrough, table cells) and
/// before a block marker at the start (`#`, `-`, `+`, `=`, `:`, `1.`), so
/// no HTML and no link can come out of it.
pub(crate) fn escape_markdown(s: &str) -> String {
    let s = visible(s);
    let mut out = String::with_capacity(s.len() + 8);
    let mut digits = true;
    for (i, c) in s.chars().enumerate() {
        let c = if c == '\n' { ' ' } else { c };
        let inline = matches!(
            c,
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '&' | '!' | '|' | '~' | '#'
        );
        let block = (i == 0 && matches!(c, '-' | '+' | '=' | ':'))
            || (digits && i > 0 && matches!(c, '.' | ')'));
        digits = digits && c.is_ascii_digit();
        if inline || block {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The fence of a fenced block holding `body`: a run of backticks longer
/// than any in it (at least three), so no line of it can close the block.
pub(crate) fn fence_for(body: &str) -> String {
    "`".repeat(longest_run(body, '`').max(2) + 1)
}

fn text_block(
    s: &Snippet,
    verdict: Option<&Verdict>,
    cx: &Context,
    prefix: &str,
    nl: &str,
) -> Option<String> {
    if let (None, Some(v)) = (&s.skip, verdict)
        && !v.rich.is_empty()
        && s.mode == Mode::Exec
    {
        return Some(rich_text_block(s, v, prefix, nl));
    }
    if let (None, Some(v)) = (&s.skip, verdict)
        && v.variants.len() > 1
    {
        let blank = prefix.trim_end();
        let blocks: Vec<String> = version_labels(&v.variants, cx.python)
            .iter()
            .map(|(versions, output)| {
                format!(
                    "{prefix}{}:{nl}{blank}{nl}{}",
                    escape_markdown(versions),
                    fenced(output, prefix, nl)
                )
            })
            .collect();
        return Some(blocks.join(&format!("{nl}{blank}{nl}")));
    }
    let body = match (&s.skip, verdict) {
        (Some(Skip::MinPython(major, minor)), _) => {
            return Some(format!(
                "{prefix}> Needs Python {major}.{minor}+; not run when this book was built (Python {}).",
                cx.python
            ));
        }
        (Some(Skip::BrowserOnly), _) => {
            return Some(format!(
                "{prefix}> Runs in the browser only, in the HTML version of this book; not run when it was built."
            ));
        }
        (Some(_), _) => s.expected.as_ref()?.text.clone(),
        (None, Some(v)) => v.shown.clone()?,
        (None, None) => return None,
    };
    if s.mode == Mode::Pycon {
        return None;
    }
    Some(fenced(&body, prefix, nl))
}

pub(crate) fn longest_run(s: &str, c: char) -> usize {
    let (mut best, mut cur) = (0, 0);
    for ch in s.chars() {
        if ch == c {
            cur += 1;
            best = best.max(cur);
        } else {
            cur = 0;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_colours_are_spans_and_other_controls_stay_visible() {
        let out = "\u{1b}[31mred\u{1b}[0m <b>\u{1b}[2K\n";
        assert_eq!(without_sgr(out), "red <b>\u{1b}[2K\n");
        assert_eq!(
            html::coloured(out),
            "<span style='color:var(--red,#a00)'>red</span> &lt;b&gt;\u{241b}[2K&#10;"
        );
        assert_eq!(html::coloured("plain\n"), "plain&#10;");
    }

    #[test]
    fn splice_keeps_untouched_bytes() {
        let text = "abc def ghi";
        let mut edits = vec![
            Edit {
                range: 8..11,
                text: "GHI".into(),
            },
            Edit {
                range: 0..3,
                text: "A".into(),
            },
        ];
        assert_eq!(splice(text, &mut edits), "A def GHI");
        assert_eq!(splice(text, &mut []), text);
    }

    #[test]
    fn visible_applies_carriage_returns_and_shows_controls() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert!(matches!(visible("ok\n"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(visible("10%\r20%\r100%\n"), "100%\n");
        assert_eq!(visible("abcdef\rXY\r\nz\r"), "XYcdef\nz");
        assert_eq!(visible("a\0b\x1b[0m\x7f"), "a\u{2400}b\u{241b}[0m\u{2421}");
        assert_eq!(visible("\u{85}\u{fffe}"), "\\x85\\ufffe");
    }

    #[test]
    fn escaped_markdown_has_no_markup() {
        assert_eq!(
            escape_markdown("<img src=x> [a](javascript:x) *e* `c` &amp; a|b ~~s~~"),
            "\\<img src=x\\> \\[a\\](javascript:x) \\*e\\* \\`c\\` \\&amp; a\\|b \\~\\~s\\~\\~"
        );
        assert_eq!(escape_markdown("# h"), "\\# h");
        assert_eq!(escape_markdown("- a\nb"), "\\- a b");
        assert_eq!(escape_markdown("12. x 3.5"), "12\\. x 3.5");
        assert_eq!(escape_markdown("A dot, red 1.5"), "A dot, red 1.5");
    }

    #[test]
    fn fence_longer_than_output_backticks() {
        assert_eq!(longest_run("a ```` b", '`'), 4);
        assert_eq!(fence_for("a ```` b"), "`````");
        assert_eq!(fence_for("plain"), "```");
    }
}
