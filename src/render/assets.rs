//! The front-end bundle: one JavaScript and one CSS file per book, assembled
//! from the sources in `front-end/` (embedded in the binary) and a small
//! config prelude. Pure: the execute stage writes the files.

use serde::Serialize;

const RUNNER_JS: &str = include_str!("../../front-end/runner.js");
const WORKER_JS: &str = include_str!("../../front-end/worker.js");
const QUIZ_JS: &str = include_str!("../../front-end/quiz.js");
const RUNNER_PY: &str = include_str!("../../front-end/runner.py");
const RUNNER_CSS: &str = include_str!("../../front-end/runner.css");
const QUIZ_CSS: &str = include_str!("../../front-end/quiz.css");

/// The Python version of the Pyodide release the bundle targets.
pub const BROWSER_PYTHON: &str = "3.14";

/// Every word the runner shows (`runner.js`: `L('name')`, and
/// `F('name', python)` for labels that name a Python), with its English
/// text: the one list of them. The bundle carries the whole table with the
/// book's translations in place (`Labels::table`); the config check reads
/// the names from here; a test checks runner.js uses exactly these.
pub(crate) const RUNNER_LABELS: &[(&str, &str)] = &[
    ("ask", "A line for input(); Enter sends it"),
    ("asking", "Waiting for your input…"),
    ("authorOutput", "Output"),
    ("browserOutput", "Your run, {python} in the browser"),
    ("check", "Check"),
    ("checkFailed", "a check failed"),
    ("checkTitle", "Run your code and the exercise's checks"),
    ("controls", "Python block"),
    ("done", "Done"),
    ("edited", "edited"),
    (
        "editedTitle",
        "Your edit, kept in this browser; Reset restores the original",
    ),
    (
        "editor",
        "Python code, editable; Ctrl+Enter runs it, Escape leaves the editor",
    ),
    ("exercisesSolved", "Exercises solved on this page: "),
    ("hint", "Show a hint"),
    ("input", "Input"),
    ("inputHelp", "Lines for input(), one per line"),
    ("linkCopied", "Link copied"),
    ("linkShown", "The link is in the address bar"),
    ("loadFailed", "Could not load Python: "),
    ("loading", "Loading Python…"),
    (
        "noInput",
        "input() needs more lines: type them in the Input box, one per line, and Run again",
    ),
    ("notYet", "✗ Not yet: "),
    (
        "originalOutput",
        "Output of the original code, {python} at build",
    ),
    ("output", "Output, {python} at build"),
    ("raised", "✗ Your code raised "),
    ("replaying", "Running the earlier blocks of this session…"),
    ("reset", "Reset"),
    ("resetTitle", "Restore the original code and output"),
    ("restart", "Restart"),
    (
        "restartTitle",
        "A fresh interpreter for this session: its earlier blocks run again first",
    ),
    ("restarted", "Fresh session"),
    ("run", "Run"),
    ("running", "Running…"),
    ("sessionFailed", "An earlier block of this session failed"),
    ("share", "Copy link"),
    (
        "shareTitle",
        "A link to this page with your code in this block",
    ),
    ("solved", "✓ Solved: every check passes."),
    ("starting", "Starting Python…"),
    ("stop", "Stop"),
    ("stopped", "Stopped"),
    ("stopping", "Stopping…"),
    ("truncated", "Output limit reached"),
    ("waiting", "Waiting…"),
    ("warm", "Python is ready"),
    ("warming", "Starting Python in the background…"),
];

/// The book's translations of the runner's labels (`[preprocessor.python.labels]`):
/// camelCase names to text.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Labels(pub std::collections::BTreeMap<String, String>);

impl Labels {
    fn get(&self, name: &str) -> String {
        match self.0.get(name) {
            Some(text) => text.clone(),
            None => (RUNNER_LABELS.iter())
                .find(|(n, _)| *n == name)
                .map_or_else(String::new, |(_, text)| text.to_string()),
        }
    }

    /// Every label, translated where the book translates it: what the page
    /// data gives runner.js.
    pub fn table(&self) -> std::collections::BTreeMap<&'static str, String> {
        (RUNNER_LABELS.iter())
            .map(|(name, _)| (*name, self.get(name)))
            .collect()
    }

    /// The label over build-time output, naming the build's Python
    /// (`3.11.7` shows as `CPython 3.11`; `{python}` in a translation).
    pub fn output(&self, python: &str) -> String {
        self.get("output")
            .replace("{python}", &format!("CPython {}", minor_version(python)))
    }

    /// The label over an output the author wrote for a block the build did
    /// not run.
    pub fn author_output(&self) -> String {
        self.get("authorOutput")
    }

    /// The label over an author's stdin lines.
    pub fn input(&self) -> String {
        self.get("input")
    }
}

/// `3.11.7` -> `3.11`.
pub fn minor_version(version: &str) -> &str {
    match version.match_indices('.').nth(1) {
        Some((at, _)) => &version[..at],
        None => version,
    }
}

/// The names of the runner's labels.
pub fn runner_label_names() -> Vec<&'static str> {
    RUNNER_LABELS.iter().map(|(name, _)| *name).collect()
}

/// `source` (JavaScript) made smaller for the bundle (every reader downloads
/// its bytes; `front-end/` keeps the readable text): comments that start a
/// line go (`//` to the line's end; `/* ... */` and JSDoc `/** ... */`,
/// however many lines they span), and so do indentation and blank lines
/// (JavaScript ignores them). Comments after code stay. Safe
/// because no string of the front end spans lines (no multi-line template
/// literal, no line continuation: a test checks), so a line's start is never
/// inside a string, and a regular expression cannot start with `/` or `*`.
/// `tests/browser/lib/book.mjs` applies the same rule.
pub fn strip_js(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut in_comment = false;
    for line in source.split_inclusive('\n') {
        let mut code = line.trim_start_matches(' ');
        if in_comment {
            match code.find("*/") {
                Some(end) => {
                    in_comment = false;
                    code = code[end + 2..].trim_start_matches(' ');
                }
                None => continue,
            }
        }
        loop {
            if code.starts_with("//") {
                code = "";
            } else if let Some(rest) = code.strip_prefix("/*") {
                match rest.find("*/") {
                    Some(end) => {
                        code = rest[end + 2..].trim_start_matches(' ');
                        continue;
                    }
                    None => {
                        in_comment = true;
                        code = "";
                    }
                }
            }
            break;
        }
        if code.trim().is_empty() {
            continue;
        }
        out.push_str(code);
    }
    out
}

/// `source` (the worker's Python, `runner.py`) made smaller for the bundle:
/// whole-line `#` comments and blank lines go, and leading spaces shrink to a quarter,
/// rounded up: the file is indented by fours, so its blocks keep their
/// structure (and it has no multi-line string: a test checks).
/// `tests/browser/lib/book.mjs` applies the same rule.
pub fn strip_python(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    for line in source.split_inclusive('\n') {
        let code = line.trim_start_matches(' ');
        if code.starts_with('#') || code.trim().is_empty() {
            continue;
        }
        out.extend(std::iter::repeat_n(
            ' ',
            (line.len() - code.len()).div_ceil(4),
        ));
        out.push_str(code);
    }
    out
}

/// Where `worker.js` takes `runner.py`'s text: this expression, replaced by
/// the text as a JavaScript string.
const RUNNER_PY_SLOT: &str = "/* runner.py */ ''";

/// The worker's source as the page runs it: `worker.js` and, in its slot,
/// `runner.py`, both stripped for the bundle. `check --browser` evaluates the
/// same text under Node (`execute::browser`).
/// `tests/browser/lib/book.mjs` (`workerSource`) joins them the same way.
pub fn worker_source() -> String {
    let python = serde_json::to_string(&strip_python(RUNNER_PY)).unwrap_or_default();
    strip_js(WORKER_JS).replacen(RUNNER_PY_SLOT, &python, 1)
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
        pyodide_url,
        output_limit,
        labels: labels.table(),
        quiz_labels,
        figure_format,
        packages,
    };
    // `</` cannot appear in a JSON string we emit raw into a script file, but
    // escape it anyway so the prelude is also safe inline.
    let worker = serde_json::to_string(&worker_source())
        .unwrap_or_default()
        .replace("</", "<\\/");
    let js = format!(
        "/* mdbook-python {} */\nwindow.MDPY_CONFIG = {};\nconst MDPY_WORKER_SOURCE = {};\n{}\n{}\n",
        env!("CARGO_PKG_VERSION"),
        super::page_data::to_json(&config).replace("</", "<\\/"),
        worker,
        strip_js(RUNNER_JS),
        strip_js(QUIZ_JS)
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
    fn runner_js_uses_exactly_the_labels_listed() {
        let mut used: Vec<&str> = (RUNNER_JS.split("L('").skip(1))
            .chain(RUNNER_JS.split("F('").skip(1))
            .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name))
            .collect();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used, runner_label_names(), "runner.js and RUNNER_LABELS");
        let mut sorted = runner_label_names();
        sorted.sort_unstable();
        assert_eq!(sorted, runner_label_names(), "RUNNER_LABELS is sorted");
        let table = Labels(
            [("run".to_string(), "Ausführen".to_string())]
                .into_iter()
                .collect(),
        )
        .table();
        assert_eq!(table.len(), RUNNER_LABELS.len());
        assert_eq!(
            (table["run"].as_str(), table["stop"].as_str()),
            ("Ausführen", "Stop")
        );
    }

    #[test]
    fn the_guide_lists_every_runner_label_with_its_english_text() {
        let guide = include_str!("../../guide/src/labels.md");
        let kebab = |name: &str| {
            name.chars().fold(String::new(), |mut out, c| {
                if c.is_ascii_uppercase() {
                    out.push('-');
                }
                out.push(c.to_ascii_lowercase());
                out
            })
        };
        let missing: Vec<String> = (RUNNER_LABELS.iter())
            .map(|(name, text)| format!("| `{}` | {}", kebab(name), text.trim_end()))
            .filter(|row| !guide.contains(row.as_str()))
            .collect();
        assert!(
            missing.is_empty(),
            "rows missing from guide/src/labels.md: {missing:#?}"
        );
    }

    #[test]
    fn the_bundle_drops_comments_and_shrinks_indentation() {
        let js = "// a comment\nif (x) {\n    y(); // kept\n\n    /** A JSDoc block\n     * @type {number} */\n    /* one */ /* two */ z = '/* kept */';\n    /** @type {T} */\n}\n";
        assert_eq!(
            strip_js(js),
            "if (x) {\ny(); // kept\nz = '/* kept */';\n}\n"
        );
        assert_eq!(strip_js("/*\n a\n*/ b\n/* c */\n"), "b\n");
        // Lines can lose comments and indentation only because no string spans lines.
        for (name, src) in [
            ("runner.js", RUNNER_JS),
            ("quiz.js", QUIZ_JS),
            ("worker.js", WORKER_JS),
        ] {
            let code = strip_js(src);
            assert!(!code.contains('`'), "a template literal in {name}");
            assert!(
                !code.lines().any(|l| l.ends_with('\\')),
                "a line continuation in {name}"
            );
        }
        let py = "def f():\n    # gone\n\n    if x:\n        return (1,\n                2)\n";
        assert_eq!(strip_python(py), "def f():\n if x:\n  return (1,\n    2)\n");
        assert!(!RUNNER_PY.contains("\"\"\"") && !RUNNER_PY.contains("'''"));
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
    fn the_worker_gets_runner_py_as_a_string() {
        assert_eq!(WORKER_JS.matches(RUNNER_PY_SLOT).count(), 1);
        let worker = worker_source();
        assert!(!worker.contains(RUNNER_PY_SLOT));
        assert!(worker.contains("const MDPY_RUNNER_PY = \"import ast, asyncio, base64,"));
        assert!(worker.contains("\\nclass Runner:\\n def __init__(self):\\n  self.sessions"));
        let (js, _) = bundle(
            "pyodide/",
            10,
            &Labels::default(),
            &Default::default(),
            "svg",
            &[],
        );
        let quoted = serde_json::to_string(&worker).unwrap_or_default();
        assert!(js.contains(&quoted.replace("</", "<\\/")));
        assert!(!js.contains("@typedef"), "JSDoc is not shipped");
    }
}
