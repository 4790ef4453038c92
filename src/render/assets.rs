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

    /// The label over build-time output.
    pub fn output(&self) -> String {
        self.get("output", "Output")
    }

    /// The label over an author's stdin lines.
    pub fn input(&self) -> String {
        self.get("input", "Input")
    }
}

/// The names of the runner's labels, read from `runner.js` itself (every
/// `L('name', 'default')` call), so the config check never drifts from it.
pub fn runner_label_names() -> Vec<&'static str> {
    let mut names: Vec<&str> = RUNNER_JS
        .split("L('")
        .skip(1)
        .filter_map(|rest| rest.split_once('\'').map(|(name, _)| name))
        .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

/// The file names, relative to the cache folder, that book.toml lists.
pub const JS_PATH: &str = "assets/mdbook-python.js";
pub const CSS_PATH: &str = "assets/mdbook-python.css";

/// Build (js, css).
pub fn bundle(
    pyodide_url: &str,
    output_limit: usize,
    labels: &Labels,
    quiz_labels: &crate::quiz::Labels,
) -> (String, String) {
    let config = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pyodideUrl": pyodide_url,
        "outputLimit": output_limit,
        "labels": labels,
        "quizLabels": quiz_labels.to_js(),
    });
    // `</` cannot appear in a JSON string we emit raw into a script file, but
    // escape it anyway so the prelude is also safe inline.
    let worker = serde_json::to_string(WORKER_JS)
        .unwrap_or_default()
        .replace("</", "<\\/");
    let js = format!(
        "/* mdbook-python {} */\nwindow.MDPY_CONFIG = {};\nconst MDPY_WORKER_SOURCE = {};\n{}\n{}\n",
        env!("CARGO_PKG_VERSION"),
        config.to_string().replace("</", "<\\/"),
        worker,
        RUNNER_JS,
        QUIZ_JS
    );
    let css = format!(
        "/* mdbook-python {} */\n{}\n{}\n",
        env!("CARGO_PKG_VERSION"),
        RUNNER_CSS,
        QUIZ_CSS
    );
    (js, css)
}
