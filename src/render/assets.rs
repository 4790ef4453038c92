//! The front-end bundle: one JavaScript and one CSS file per book, assembled
//! from the sources in `front-end/` (embedded in the binary) and a small
//! config prelude. Pure: the execute stage writes the files.

use serde::Serialize;

const RUNNER_JS: &str = include_str!("../../front-end/runner.js");
const WORKER_JS: &str = include_str!("../../front-end/worker.js");
const QUIZ_JS: &str = include_str!("../../front-end/quiz.js");
const RUNNER_CSS: &str = include_str!("../../front-end/runner.css");
const QUIZ_CSS: &str = include_str!("../../front-end/quiz.css");

/// The Python version of the Pyodide release the bundle targets.
pub const BROWSER_PYTHON: &str = "3.14";

/// Words the runner shows, as overrides of its English defaults (which
/// live in `runner.js`): camelCase names to text.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Labels(pub std::collections::BTreeMap<String, String>);

impl Labels {
    fn get(&self, name: &str, default: &str) -> String {
        self.0
            .get(name)
            .cloned()
            .unwrap_or_else(|| default.to_string())
    }

    /// The label over build-time output, naming the build's Python
    /// (`3.11.7` shows as `CPython 3.11`; `{python}` in a translation).
    pub fn output(&self, python: &str) -> String {
        self.get("output", "Output, {python} at build")
            .replace("{python}", &format!("CPython {}", minor_version(python)))
    }

    /// The label over an output the author wrote for a block the build did
    /// not run.
    pub fn author_output(&self) -> String {
        self.get("authorOutput", "Output")
    }

    /// The label over an author's stdin lines.
    pub fn input(&self) -> String {
        self.get("input", "Input")
    }
}

/// `3.11.7` -> `3.11`.
pub fn minor_version(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((at, _)) => &version[..at],
        None => version,
    }
}

/// The names of the runner's labels, read from `runner.js` itself (every
/// `L('name', 'default')` call, and `F('name', 'default {python}', v)` for
/// labels that name a Python), so the config check never drifts from it.
pub fn runner_label_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = RUNNER_JS
        .split("L('")
        .skip(1)
        .chain(RUNNER_JS.split("F('").skip(1))
        .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// `source` made smaller for the bundle (every reader downloads its bytes;
/// `front-end/` keeps the readable text): whole-line `//` comments go, and
/// so does indentation (JavaScript ignores it, and `runner.js` and
/// `quiz.js` hold no multi-line template literal: a test checks). With
/// `python` (the worker, whose Python sits in a template literal), whole-line
/// `#` comments go too and leading spaces shrink to a quarter, rounded up:
/// that Python is indented by fours, so its blocks keep their structure.
/// `tests/browser/lib/book.mjs` applies the same rule.
pub fn strip_comment_lines(source: &str, python: bool) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.split_inclusive('\n') {
        let code = line.trim_start_matches(' ');
        let t = code.trim_start();
        if t.starts_with("//") || python && t.starts_with('#') {
            continue;
        }
        if python {
            let indent = line.len() - code.len();
            out.extend(std::iter::repeat_n(' ', indent.div_ceil(4)));
        }
        out.push_str(code);
    }
    out
}

/// `css` without its `/* ... */` comments (and the line end after each), and
/// without indentation.
pub fn strip_css_comments(css: &str) -> String {
    let css: String = css
        .split_inclusive('\n')
        .map(|l| l.trim_start_matches(' '))
        .collect();
    let mut rest = css.as_str();
    let mut out = String::with_capacity(css.len());
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        rest = match rest[start + 2..].find("*/") {
            Some(end) => &rest[start + 2 + end + 2..],
            None => "",
        };
        rest = rest.strip_prefix('\n').unwrap_or(rest);
    }
    out.push_str(rest);
    out
}

/// `css` (already without comments) with the white space that means nothing
/// removed: around `{`, `}`, `;`, `,` and `>`, and after `:`, outside quoted
/// strings. Not a general minifier: enough for our own hand-written CSS, and
/// it keeps the bundle under its 18 KB budget. `tests/browser/lib/book.mjs`
/// applies the same rule.
pub fn collapse_css(css: &str) -> String {
    let mut out = String::with_capacity(css.len());
    let mut chars = css.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            out.push(c);
            if c == '\\' {
                out.extend(chars.next());
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => {
                quote = Some(c);
                out.push(c);
            }
            c if c.is_whitespace() => {
                let before = out.ends_with(['{', '}', ';', ',', '>', ':']) || out.is_empty();
                while chars.next_if(|n| n.is_whitespace()).is_some() {}
                let after = chars.peek().is_none_or(|n| "{};,>".contains(*n));
                if !before && !after {
                    out.push(' ');
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The assets' folder inside the cache folder, unless `assets-dir` says
/// otherwise.
pub const DIR: &str = "assets";
/// The file names in it, which book.toml's `additional-js`/`-css` list.
pub const JS_FILE: &str = "mdbook-python.js";
pub const CSS_FILE: &str = "mdbook-python.css";

/// Build (js, css).
pub fn bundle(
    pyodide_url: &str,
    output_limit: usize,
    labels: &Labels,
    quiz_labels: &crate::quiz::Labels,
    figure_format: &str,
    packages: &[String],
) -> (String, String) {
    let config = super::page_data::Config {
        version: env!("CARGO_PKG_VERSION"),
        pyodide_url,
        output_limit,
        labels,
        quiz_labels,
        figure_format,
        packages,
    };
    // `</` cannot appear in a JSON string we emit raw into a script file, but
    // escape it anyway so the prelude is also safe inline.
    let worker = serde_json::to_string(&strip_comment_lines(WORKER_JS, true))
        .unwrap_or_default()
        .replace("</", "<\\/");
    let js = format!(
        "/* mdbook-python {} */\nwindow.MDPY_CONFIG = {};\nconst MDPY_WORKER_SOURCE = {};\n{}\n{}\n",
        env!("CARGO_PKG_VERSION"),
        super::page_data::to_json(&config).replace("</", "<\\/"),
        worker,
        strip_comment_lines(RUNNER_JS, false),
        strip_comment_lines(QUIZ_JS, false)
    );
    let css = format!(
        "/* mdbook-python {} */\n{}\n{}\n",
        env!("CARGO_PKG_VERSION"),
        collapse_css(&strip_css_comments(RUNNER_CSS)),
        collapse_css(&strip_css_comments(QUIZ_CSS))
    );
    (js, css)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundle_drops_comments_and_shrinks_indentation() {
        let js = "// a comment\nif (x) {\n    y(); // kept\n}\n";
        assert_eq!(
            strip_comment_lines(js, false),
            "if (x) {\ny(); // kept\n}\n"
        );
        // Indentation can only go because no template literal spans lines.
        for src in [RUNNER_JS, QUIZ_JS] {
            let code = strip_comment_lines(src, false);
            assert!(!code.contains('`'), "a template literal in the front end");
        }
        let py = "def f():\n    # gone\n    if x:\n        return (1,\n                2)\n";
        assert_eq!(
            strip_comment_lines(py, true),
            "def f():\n if x:\n  return (1,\n    2)\n"
        );
        assert_eq!(
            strip_css_comments("/* a\n b */\na {\n  color: red;\n}\n/* c */b { }"),
            "a {\ncolor: red;\n}\nb { }"
        );
        assert_eq!(
            collapse_css(
                "a > b,\nc:hover {\n  margin: 0 auto;\n  content: \"x ,  { y\";\n}\n@media (pointer: coarse) { d e { f: 1 } }\n"
            ),
            "a>b,c:hover{margin:0 auto;content:\"x ,  { y\";}@media (pointer:coarse){d e{f:1}}"
        );
    }

    #[test]
    fn the_worker_keeps_working_python() {
        let (js, _) = bundle(
            "pyodide/",
            10,
            &Labels::default(),
            &Default::default(),
            "svg",
            &[],
        );
        assert!(js.contains("\\nclass Runner:\\n def __init__(self):\\n  self.sessions"));
    }
}
