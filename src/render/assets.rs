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

/// Words the widgets show; a book in another language can replace them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Labels {
    pub run: String,
    pub stop: String,
    pub reset: String,
    pub output: String,
    pub input: String,
}

impl Default for Labels {
    fn default() -> Self {
        Labels {
            run: "Run".into(),
            stop: "Stop".into(),
            reset: "Reset".into(),
            output: "Output".into(),
            input: "Input".into(),
        }
    }
}

/// The file names, relative to the cache folder, that book.toml lists.
pub const JS_PATH: &str = "assets/mdbook-python.js";
pub const CSS_PATH: &str = "assets/mdbook-python.css";

/// Build (js, css).
pub fn bundle(pyodide_url: &str, output_limit: usize, labels: &Labels) -> (String, String) {
    let config = serde_json::json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pyodideUrl": pyodide_url,
        "outputLimit": output_limit,
        "labels": labels,
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
