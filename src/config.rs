//! Config: the `[preprocessor.python]` table of book.toml, typed and strict.
//! Every key is documented here and in the user guide; an unknown key or a
//! value of the wrong type or out of range is an error that names the key
//! (and the closest known one), the value as written and the line of
//! book.toml where it stands. `cache-dir` must also be a folder of its own
//! inside the book (`check_cache_dir`), since `clean` deletes it.

use crate::diagnostics::{Diagnostic, closest};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The shortest `timeout` accepted, in seconds: below it a worker cannot
/// even start a snippet before its timer fires.
pub(crate) const MIN_TIMEOUT: f64 = 0.05;
/// The longest `timeout` accepted, in seconds (a day).
pub(crate) const MAX_TIMEOUT: f64 = 86_400.0;

/// Whether `seconds` is a timeout the plugin accepts (book.toml's `timeout`
/// and a block's `timeout=` alike).
pub(crate) fn valid_timeout(seconds: f64) -> bool {
    seconds.is_finite() && (MIN_TIMEOUT..=MAX_TIMEOUT).contains(&seconds)
}

const MIB: u64 = 1024 * 1024;

/// What the preprocessor puts in place of a value mdBook sent as `null` (a
/// `nan` or `inf` in book.toml becomes `null` in JSON, which mdBook's config
/// cannot read back): the rest of the book is read, and this key is an error
/// that names it.
pub(crate) const NOT_A_VALUE: &str = "\u{0}mdbook-python: not a value";

/// The largest `memory-limit` / `file-size-limit` in MiB whose size in bytes
/// still fits in 64 bits.
pub(crate) const MAX_MIB: u64 = u64::MAX / MIB;

/// The Pyodide release the front end loads by default.
/// The Pyodide release the plugin is built and tested against: the one
/// place that names it (the default URL, `check --browser`'s fallback).
#[macro_export]
macro_rules! pyodide_release {
    () => {
        "314.0.8"
    };
}
pub const PYODIDE_RELEASE: &str = pyodide_release!();
pub const DEFAULT_PYODIDE_URL: &str = concat!(
    "https://cdn.jsdelivr.net/pyodide/v",
    pyodide_release!(),
    "/full/"
);

/// When does a Python block run at build time?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    /// Every Python block runs unless marked `norun`.
    All,
    /// Only blocks marked `run` run (books made mostly of fragments).
    Marked,
}

/// What a wrong author-written output does to the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMismatch {
    Error,
    Warn,
}

/// The plugin's configuration, with defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Interpreter to run snippets with (`python`, default `python3`): a
    /// command on PATH or a path (a virtual environment's `bin/python`).
    pub python: String,
    /// Seconds a snippet may run (`timeout`, default 10).
    pub timeout: f64,
    /// Bytes of output kept per snippet (`output-limit`, default 65536).
    pub output_limit: usize,
    /// `on-mismatch`: `error` (default) or `warn`.
    pub on_mismatch: OnMismatch,
    /// `run`: `all` (default) or `marked`.
    pub run: RunMode,
    /// Interpreter workers run in parallel (`jobs`, default: the number of cores).
    pub jobs: usize,
    /// Reuse results of unchanged snippets (`cache`, default true).
    pub cache: bool,
    /// Where results and the front-end assets live (`cache-dir`, default
    /// `.mdbook-python`, relative to the book root). Never the source folder.
    pub cache_dir: PathBuf,
    /// Where the front-end assets are written (`assets-dir`, relative to the
    /// book root; default `<cache-dir>/assets`): a folder whose name has no
    /// leading dot publishes them on hosts that drop dot-folders.
    pub assets_dir: Option<PathBuf>,
    /// Where the browser loads Pyodide from (`pyodide-url`).
    pub pyodide_url: String,
    /// Address-space limit of each worker in MiB (`memory-limit`, default
    /// 4096); 0 lifts it.
    pub memory_limit: u64,
    /// Largest file a snippet may write, in MiB (`file-size-limit`, default 256).
    pub file_size_limit: u64,
    /// Open files per worker (`open-files-limit`, default 1024).
    pub open_files_limit: u64,
    /// Processes of the user (`process-limit`, default 512; Linux does not
    /// apply it to root).
    pub process_limit: u64,
    /// `network`: `loopback` (default: a private network namespace with only
    /// 127.0.0.1, where the system allows one) or `host`.
    pub network: String,
    /// `browser-check`: builds and `check` also run every browser-runnable
    /// snippet in Pyodide under Node and fail on unmarked differences
    /// (default false; `mdbook-python check --browser` does it on demand).
    pub browser_check: bool,
    /// `browser-check-pyodide`: the folder of the npm `pyodide` package the
    /// browser check runs (default: `node_modules/pyodide` in the book root,
    /// else `tests/browser/node_modules/pyodide`).
    pub browser_check_pyodide: Option<PathBuf>,
    /// `[preprocessor.python.labels]`: the runner's words (`run = "Ausführen"`).
    pub labels: crate::render::assets::Labels,
    /// The quiz widget's words, from the same table (`submit = "Prüfen"`).
    pub quiz_labels: crate::quiz::Labels,
    /// The hidden-line prefix for Python, read from
    /// `[output.html.code.hidelines] python` so display and execution agree.
    pub hidelines: Option<String>,
    /// How matplotlib figures are captured (`figure-format`): `svg`
    /// (default) or `png`.
    pub figure_format: String,
    /// What the browser installs before a Run that imports a module it does
    /// not have (`packages`): Pyodide package names (loaded with
    /// `pyodide.loadPackage`) and URLs of pure-Python wheels (installed with
    /// micropip; relative URLs are relative to the book's root).
    pub packages: Vec<String>,
    /// `matrix`: further runtimes every block also runs on, compared with
    /// `python`'s output: versions (`"3.12"`), commands or paths as `python`
    /// takes, and `"pyodide"` (the browser's Python: the same as
    /// `browser-check = true`).
    pub matrix: Vec<String>,
    /// `quiz-language`: the language of quiz `Tracing` programs that name
    /// none (default `python`); programs in another language are not run.
    pub quiz_language: String,
    /// `inline-output = "pytest-examples"`: `#>` comments under a `print()`
    /// are checked against what it printed.
    pub inline_output: bool,
}

/// The interpreter command when book.toml names none.
pub const DEFAULT_PYTHON: &str = "python3";

/// The default `jobs`: the cores this process may use. Asked once per
/// process (on Linux it reads the cgroup's CPU quota: several files), as
/// every read of the config starts from the defaults.
fn default_jobs() -> usize {
    static JOBS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *JOBS.get_or_init(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            python: DEFAULT_PYTHON.into(),
            timeout: 10.0,
            output_limit: 64 * 1024,
            on_mismatch: OnMismatch::Error,
            run: RunMode::All,
            jobs: default_jobs(),
            cache: true,
            cache_dir: PathBuf::from(".mdbook-python"),
            assets_dir: None,
            pyodide_url: DEFAULT_PYODIDE_URL.into(),
            memory_limit: 4096,
            file_size_limit: 256,
            open_files_limit: 1024,
            process_limit: 512,
            network: "loopback".into(),
            browser_check: false,
            browser_check_pyodide: None,
            labels: Default::default(),
            quiz_labels: Default::default(),
            hidelines: None,
            figure_format: "svg".into(),
            packages: Vec::new(),
            matrix: Vec::new(),
            quiz_language: "python".into(),
            inline_output: false,
        }
    }
}

/// Keys of our own, then the keys mdBook itself reads from every
/// preprocessor table.
pub const KEYS: &[&str] = &[
    "python",
    "timeout",
    "output-limit",
    "on-mismatch",
    "run",
    "jobs",
    "cache",
    "cache-dir",
    "assets-dir",
    "pyodide-url",
    "figure-format",
    "packages",
    "matrix",
    "memory-limit",
    "file-size-limit",
    "open-files-limit",
    "process-limit",
    "network",
    "browser-check",
    "browser-check-pyodide",
    "quiz-language",
    "inline-output",
    "labels",
    "command",
    "renderers",
    "before",
    "after",
    "optional",
];

impl Config {
    /// Read the config from mdBook's: `table` is `[preprocessor.python]` as
    /// JSON, `hidelines` the `python` entry of `[output.html.code.hidelines]`,
    /// `book_toml` the text of book.toml (for line numbers in errors).
    pub fn from_table(
        table: Option<&Value>,
        hidelines: Option<String>,
        book_toml: Option<&str>,
    ) -> Result<Config, Vec<Diagnostic>> {
        let mut config = Config {
            hidelines,
            ..Config::default()
        };
        let Some(Value::Object(map)) = table else {
            return Ok(config);
        };
        let mut errors = Vec::new();
        let err = |key: &str, msg: String| {
            let line = book_toml.map_or(0, |t| line_of_key(t, "preprocessor.python", key));
            Diagnostic::error("book.toml", line, msg)
        };
        for (key, value) in map {
            let value = match value {
                Value::String(s) if s == NOT_A_VALUE => &Value::Null,
                v => v,
            };
            // The value as the author wrote it (`nan` reaches us as `null`).
            let written = book_toml
                .and_then(|t| written_value(t, "preprocessor.python", key))
                .unwrap_or_else(|| value.to_string());
            let bad = |expected: &str| {
                err(
                    key,
                    format!("`preprocessor.python.{key}` must be {expected}, not `{written}`"),
                )
            };
            match key.as_str() {
                "python" => match value.as_str() {
                    Some(s) if !s.trim().is_empty() => config.python = s.to_string(),
                    _ => errors.push(bad("a non-empty string (a command or a path)")),
                },
                "timeout" => match value.as_f64() {
                    Some(t) if valid_timeout(t) => config.timeout = t,
                    _ => errors.push(bad(&format!(
                        "a number of seconds from {MIN_TIMEOUT} to {MAX_TIMEOUT}"
                    ))),
                },
                "output-limit" => match value.as_u64() {
                    Some(n) if n > 0 => config.output_limit = n as usize,
                    _ => errors.push(bad("a positive number of bytes")),
                },
                "on-mismatch" => match value.as_str() {
                    Some("error") => config.on_mismatch = OnMismatch::Error,
                    Some("warn") => config.on_mismatch = OnMismatch::Warn,
                    _ => errors.push(bad("\"error\" or \"warn\"")),
                },
                "run" => match value.as_str() {
                    Some("all") => config.run = RunMode::All,
                    Some("marked") => config.run = RunMode::Marked,
                    _ => errors.push(bad("\"all\" or \"marked\"")),
                },
                "jobs" => match value.as_u64() {
                    Some(n) if (1..=256).contains(&n) => config.jobs = n as usize,
                    _ => errors.push(bad("a whole number from 1 to 256")),
                },
                "cache" => match value.as_bool() {
                    Some(b) => config.cache = b,
                    None => errors.push(bad("true or false")),
                },
                "cache-dir" => match value.as_str() {
                    Some(s) if !s.trim().is_empty() => config.cache_dir = PathBuf::from(s),
                    _ => errors.push(bad("a path")),
                },
                "assets-dir" => match value.as_str() {
                    Some(s) if !s.trim().is_empty() => config.assets_dir = Some(PathBuf::from(s)),
                    _ => errors.push(bad("a path")),
                },
                "pyodide-url" => match value.as_str() {
                    Some(s) if !s.trim().is_empty() => {
                        let mut s = s.to_string();
                        if !s.ends_with('/') {
                            s.push('/');
                        }
                        config.pyodide_url = s;
                    }
                    _ => errors.push(bad("a URL or a path relative to the book's root")),
                },
                "memory-limit" | "file-size-limit" => match value.as_u64() {
                    // In bytes it must fit in 64 bits (`rlimits`).
                    Some(n) if n.checked_mul(MIB).is_some() => {
                        if key == "memory-limit" {
                            config.memory_limit = n;
                        } else {
                            config.file_size_limit = n;
                        }
                    }
                    _ => errors.push(bad(&format!(
                        "a whole number of MiB from 0 (no limit) to {MAX_MIB}"
                    ))),
                },
                "open-files-limit" | "process-limit" => {
                    match value.as_u64() {
                        Some(n) => {
                            let slot = match key.as_str() {
                                "open-files-limit" => &mut config.open_files_limit,
                                _ => &mut config.process_limit,
                            };
                            *slot = n;
                        }
                        None => errors.push(bad("a whole number (0: no limit)")),
                    }
                }
                "figure-format" => match value.as_str() {
                    Some(v @ ("svg" | "png")) => config.figure_format = v.to_string(),
                    _ => errors.push(bad("\"svg\" or \"png\"")),
                },
                "packages" => match string_list(value) {
                    Some(list) => config.packages = list,
                    None => errors.push(bad(
                        "a list of Pyodide package names and wheel URLs, e.g. `[\"numpy\", \"wheels/mylib-1.0-py3-none-any.whl\"]`",
                    )),
                },
                "matrix" => match string_list(value) {
                    Some(list) => {
                        config.browser_check |= list.iter().any(|r| r == "pyodide");
                        config.matrix = list.into_iter().filter(|r| r != "pyodide").collect();
                    }
                    None => errors.push(bad(
                        "a list of runtimes, e.g. `[\"3.11\", \"3.12\", \"pyodide\"]`",
                    )),
                },
                "quiz-language" => match value.as_str() {
                    Some(v)
                        if !v.is_empty()
                            && v.chars().all(|c| c.is_alphanumeric() || "+-_#".contains(c)) =>
                    {
                        config.quiz_language = v.to_lowercase()
                    }
                    _ => errors.push(bad("a language name, e.g. \"python\" or \"rust\"")),
                },
                "inline-output" => match value.as_str() {
                    Some("pytest-examples") => config.inline_output = true,
                    Some("none") => config.inline_output = false,
                    _ => errors.push(bad("\"pytest-examples\" or \"none\"")),
                },
                "network" => match value.as_str() {
                    Some(v @ ("loopback" | "host")) => config.network = v.to_string(),
                    _ => errors.push(bad("\"loopback\" or \"host\"")),
                },
                "browser-check" => match value.as_bool() {
                    Some(b) => config.browser_check = b,
                    None => errors.push(bad("true or false")),
                },
                "browser-check-pyodide" => match value.as_str() {
                    Some(s) if !s.trim().is_empty() => {
                        config.browser_check_pyodide = Some(PathBuf::from(s))
                    }
                    _ => errors.push(bad("the path of the npm `pyodide` package's folder")),
                },
                "labels" => match value.as_object() {
                    Some(table) => {
                        if let Err(mut e) =
                            read_labels(table, &mut config, book_toml, |k| {
                                let line = book_toml.map_or(0, |t| line_of_key(t, "preprocessor.python.labels", k));
                                Diagnostic::error("book.toml", line, String::new())
                            })
                        {
                            errors.append(&mut e);
                        }
                    }
                    None => {
                        errors.push(bad("a table of texts, e.g. `[preprocessor.python.labels]`"))
                    }
                },
                "command" | "renderers" | "before" | "after" | "optional" => {}
                other => {
                    let mut d = err(
                        other,
                        format!("unknown key `{other}` in [preprocessor.python]"),
                    );
                    d = match closest(other, KEYS) {
                        Some(c) => d.with_help(format!("did you mean `{c}`?")),
                        None => d.with_help(format!("known keys: {}", KEYS[..KEYS.len() - 5].join(", "))),
                    };
                    errors.push(d);
                }
            }
        }
        if errors.is_empty() {
            Ok(config)
        } else {
            // In book.toml's order (the table is read in key order).
            errors.sort_by_key(|d| d.line);
            Err(errors)
        }
    }

    /// The worker resource limits, as `resource.setrlimit` names and values.
    pub fn rlimits(&self) -> Vec<(String, u64)> {
        [
            ("as", self.memory_limit.saturating_mul(MIB)),
            ("fsize", self.file_size_limit.saturating_mul(MIB)),
            ("nofile", self.open_files_limit),
            ("nproc", self.process_limit),
        ]
        .into_iter()
        .filter(|(_, v)| *v > 0)
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// The cache folder, absolute.
    pub fn cache_dir_in(&self, root: &Path) -> PathBuf {
        root.join(&self.cache_dir)
    }

    /// The folder of the front-end assets (`assets-dir`, else
    /// `<cache-dir>/assets`).
    pub fn assets_dir_in(&self, root: &Path) -> PathBuf {
        match &self.assets_dir {
            Some(dir) => root.join(dir),
            None => self.cache_dir_in(root).join(crate::render::assets::DIR),
        }
    }
}

/// The environment variable through which mdBook lets `cache-dir` be set.
pub(crate) const CACHE_DIR_ENV: &str = "MDBOOK_PREPROCESSOR__PYTHON__CACHE_DIR";

/// Read the plugin's config from mdBook's (`book_toml`: the text of
/// book.toml, for line numbers), and check that `cache-dir` is a folder of
/// its own inside the book (`check_cache_dir`).
pub(crate) fn read(
    mdbook: &mdbook_preprocessor::config::Config,
    root: &Path,
    book_toml: Option<&str>,
) -> Result<Config, Vec<Diagnostic>> {
    let table: Option<Value> = mdbook.get("preprocessor.python").ok().flatten();
    let hidelines: Option<String> = mdbook
        .get::<String>("output.html.code.hidelines.python")
        .ok()
        .flatten();
    let config = Config::from_table(table.as_ref(), hidelines, book_toml)?;
    let assets = (config.assets_dir.as_deref())
        .and_then(|dir| check_assets_dir(dir, root, &mdbook.book.src, book_toml));
    match check_cache_dir(&config.cache_dir, root, &mdbook.book.src, book_toml) {
        Some(d) => Err(vec![d]),
        None => match assets {
            Some(d) => Err(vec![d]),
            None => Ok(config),
        },
    }
}

/// `assets-dir` must be a folder inside the book, other than the book's own
/// folder, outside the source folder (nothing is written there).
fn check_assets_dir(
    dir: &Path,
    root: &Path,
    src: &Path,
    book_toml: Option<&str>,
) -> Option<Diagnostic> {
    let problem = problem_with_folder(dir, root, src)?;
    Some(
        Diagnostic::error(
            "book.toml",
            book_toml.map_or(0, |t| line_of_key(t, "preprocessor.python", "assets-dir")),
            format!("`preprocessor.python.assets-dir` = \"{}\" {problem}", dir.display()),
        )
        .with_help("set `assets-dir` to a folder inside the book and outside `src`, e.g. `mdbook-python-assets`, and point `additional-js`/`additional-css` at the files in it"),
    )
}

/// What is wrong with `dir` as a folder the plugin writes into: out of the
/// book, the book itself, or the source folder (holding it or inside it).
fn problem_with_folder(dir: &Path, root: &Path, src: &Path) -> Option<String> {
    let src = src.strip_prefix(root).unwrap_or(src);
    let src_rel = inside(src).ok().flatten().unwrap_or_default();
    match inside(dir) {
        Err(p) => Some(p),
        Ok(None) => Some("leads out of the book's folder".to_string()),
        Ok(Some(rel)) => placement(&rel, &src_rel).or_else(|| resolved(root, &rel, &src_rel)),
    }
}

/// `cache-dir` must be a folder of its own inside the book, because `clean`
/// deletes it and builds write a `.gitignore` of `*` into it: relative, not
/// the book's folder, not leading out of it (by `..` or a symbolic link),
/// neither holding nor inside the source folder `src`. Anything else is an
/// error naming the key and its line (or the environment variable that set it).
pub(crate) fn check_cache_dir(
    cache_dir: &Path,
    root: &Path,
    src: &Path,
    book_toml: Option<&str>,
) -> Option<Diagnostic> {
    let problem = problem_with_folder(cache_dir, root, src)?;
    let shown = cache_dir.display();
    let from_env = std::env::var_os(CACHE_DIR_ENV).is_some();
    let (message, line) = if from_env {
        (
            format!(
                "`{CACHE_DIR_ENV}` = \"{shown}\" (which overrides `preprocessor.python.cache-dir`) {problem}"
            ),
            0,
        )
    } else {
        (
            format!("`preprocessor.python.cache-dir` = \"{shown}\" {problem}"),
            book_toml.map_or(0, |t| line_of_key(t, "preprocessor.python", "cache-dir")),
        )
    };
    Some(
        Diagnostic::error("book.toml", line, message).with_help(format!(
            "set {} to a folder of its own inside the book, e.g. `.mdbook-python` (the default): `mdbook-python clean` deletes it",
            if from_env { format!("`{CACHE_DIR_ENV}`") } else { "`cache-dir`".to_string() }
        )),
    )
}

/// `path` relative to the book's folder, without `.` and `..`: `Ok(None)`
/// when it leads out of the book, `Err` when it is absolute.
fn inside(path: &Path) -> Result<Option<PathBuf>, String> {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Prefix(_) | Component::RootDir => {
                return Err("is an absolute path, not a folder inside the book".into());
            }
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Ok(None);
                }
            }
            Component::Normal(n) => out.push(n),
        }
    }
    Ok(Some(out))
}

/// What is wrong with a cache folder at `rel` (inside the book) when the
/// source folder is at `src`.
fn placement(rel: &Path, src: &Path) -> Option<String> {
    let src_name = src.display();
    if rel.as_os_str().is_empty() {
        Some("is the book's folder itself".into())
    } else if rel == src {
        Some("is the book's source folder".into())
    } else if src.starts_with(rel) {
        Some(format!("holds the book's source folder `{src_name}`"))
    } else if rel.starts_with(src) && !src.as_os_str().is_empty() {
        Some(format!("is inside the book's source folder `{src_name}`"))
    } else {
        None
    }
}

/// The same check after following symbolic links: `root/rel`, resolved as
/// far as it exists, must stay inside the resolved root.
fn resolved(root: &Path, rel: &Path, src: &Path) -> Option<String> {
    let (real_root, real) = crate::execute::fs::resolve_inside(root, rel)?;
    match real.strip_prefix(&real_root) {
        Ok(real_rel) => placement(real_rel, src)
            .map(|p| format!("is a symbolic link to `{}`, which {p}", real.display())),
        Err(_) => Some(format!(
            "is a symbolic link that leads out of the book (to `{}`)",
            real.display()
        )),
    }
}

/// A list of non-empty strings (trimmed), or `None`.
fn string_list(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| {
            v.as_str()
                .filter(|s| !s.trim().is_empty() && *s != NOT_A_VALUE)
        })
        .map(|s| s.map(|s| s.trim().to_string()))
        .collect()
}

/// Read `[preprocessor.python.labels]`: each key (kebab-case) names a runner
/// label (from `runner.js`) or a quiz label (`quiz::Labels`). A quiz label
/// may always be written `quiz-NAME` (`quiz-output`): the runner's names
/// (`output`) win over the quiz's plain ones.
fn read_labels(
    table: &serde_json::Map<String, Value>,
    config: &mut Config,
    book_toml: Option<&str>,
    at: impl Fn(&str) -> Diagnostic,
) -> Result<(), Vec<Diagnostic>> {
    let runner = crate::render::assets::runner_label_names();
    let quiz_defaults = serde_json::to_value(crate::quiz::Labels::default()).unwrap_or_default();
    let quiz_names: Vec<String> = quiz_defaults
        .as_object()
        .map(|m| m.keys().map(|k| camel_to_kebab(k)).collect())
        .unwrap_or_default();
    let mut quiz_overrides = serde_json::Map::new();
    let mut errors = Vec::new();
    for (key, value) in table {
        let Some(text) = value.as_str().filter(|t| *t != NOT_A_VALUE) else {
            let shown = book_toml
                .and_then(|t| written_value(t, "preprocessor.python.labels", key))
                .unwrap_or_else(|| value.to_string());
            let mut d = at(key);
            d.message = format!("the label `{key}` must be a string, not `{shown}`");
            errors.push(d);
            continue;
        };
        let camel = kebab_to_camel(key);
        let quiz = key
            .strip_prefix("quiz-")
            .filter(|k| quiz_names.iter().any(|n| n == k));
        if let Some(name) = quiz {
            quiz_overrides.insert(name.to_string(), Value::String(text.to_string()));
        } else if runner.contains(&camel.as_str()) {
            config.labels.0.insert(camel, text.to_string());
        } else if quiz_names.iter().any(|n| n == key) {
            quiz_overrides.insert(key.clone(), Value::String(text.to_string()));
        } else {
            let known: Vec<String> = runner
                .iter()
                .map(|n| camel_to_kebab(n))
                .chain(quiz_names.iter().map(|n| format!("quiz-{n}")))
                .collect();
            let refs: Vec<&str> = known.iter().map(String::as_str).collect();
            let mut d = at(key);
            d.message = format!("unknown label `{key}` in [preprocessor.python.labels]");
            d.help = Some(match closest(key, &refs) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("known labels: {}", refs.join(", ")),
            });
            errors.push(d);
        }
    }
    match serde_json::from_value(Value::Object(quiz_overrides)) {
        Ok(l) => config.quiz_labels = l,
        Err(e) => {
            let mut d = at("labels");
            d.message = format!("bad quiz labels: {e}");
            errors.push(d);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

fn kebab_to_camel(s: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in s.chars() {
        if c == '-' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

fn camel_to_kebab(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_uppercase() {
            out.push('-');
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// mdBook's own `renderers` key in `[preprocessor.python]` spares a process
/// start per build (mdBook then does not ask `supports`), but mdBook also
/// skips the plugin for every renderer it leaves out: those pages would show
/// Python blocks without outputs, with the plugin's words in their info
/// strings. An error names the first such renderer among `outputs` (the
/// book's renderers).
pub fn check_renderers(
    table: Option<&Value>,
    outputs: &[String],
    book_toml: Option<&str>,
) -> Option<Diagnostic> {
    let listed = table?.get("renderers")?.as_array()?;
    let missing = outputs
        .iter()
        .find(|o| !listed.iter().any(|l| l.as_str() == Some(o.as_str())))?;
    let line = book_toml.map_or(0, |t| line_of_key(t, "preprocessor.python", "renderers"));
    Some(
        Diagnostic::error(
            "book.toml",
            line,
            format!("`renderers` leaves out `{missing}`, which this book also renders: mdBook would not run mdbook-python for it, and its pages would show Python blocks without their outputs"),
        )
        .with_help(format!("add \"{missing}\" to `renderers` in [preprocessor.python], or remove the key")),
    )
}

/// The 1-based line of `key = ` inside the table `table` of book.toml.
pub(crate) fn line_of_key(book_toml: &str, table: &str, key: &str) -> usize {
    find_key(book_toml, table, key).map_or(0, |(line, _)| line)
}

/// The value of `key` in `table` as written in book.toml (`nan`, `-1`), for
/// messages: it is what the author typed, whatever it became on the way.
fn written_value(book_toml: &str, table: &str, key: &str) -> Option<String> {
    let (_, value) = find_key(book_toml, table, key)?;
    let value = match value.find(" #") {
        Some(i) if !value.starts_with(['"', '\'', '[', '{']) => &value[..i],
        _ => value,
    };
    Some(value.trim().to_string())
}

/// `key = value` inside `table` of book.toml: its 1-based line and the text
/// after `=`.
fn find_key<'t>(book_toml: &'t str, table: &str, key: &str) -> Option<(usize, &'t str)> {
    let mut in_table = false;
    for (i, line) in book_toml.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            in_table = t.trim_matches(|c| c == '[' || c == ']').trim() == table;
            continue;
        }
        if in_table
            && let Some((k, v)) = t.split_once('=')
            && k.trim().trim_matches('"') == key
        {
            return Some((i + 1, v.trim()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renderers_must_cover_every_output_of_the_book() {
        let table = serde_json::json!({"renderers": ["html"]});
        let toml = "[book]\n\n[preprocessor.python]\nrenderers = [\"html\"]\n";
        let outputs = |o: &[&str]| o.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(check_renderers(Some(&table), &outputs(&["html"]), Some(toml)).is_none());
        assert!(check_renderers(None, &outputs(&["html", "markdown"]), Some(toml)).is_none());
        let d = check_renderers(Some(&table), &outputs(&["html", "markdown"]), Some(toml)).unwrap();
        assert_eq!(
            d.to_string().lines().take(2).collect::<Vec<_>>(),
            [
                "error: `renderers` leaves out `markdown`, which this book also renders: mdBook would not run mdbook-python for it, and its pages would show Python blocks without their outputs",
                "  --> book.toml:4",
            ]
        );
    }

    #[test]
    fn defaults_without_a_table() {
        let c = Config::from_table(None, None, None).unwrap();
        assert_eq!(c.python, "python3");
        assert_eq!(c.timeout, 10.0);
        assert_eq!(c.output_limit, 65536);
        assert_eq!(c.run, RunMode::All);
    }

    #[test]
    fn reads_every_key() {
        let t = json!({"python": "py", "timeout": 2, "output-limit": 10, "on-mismatch": "warn",
            "run": "marked", "jobs": 3, "cache": false, "cache-dir": "c", "pyodide-url": "pyodide",
            "command": "x"});
        let c = Config::from_table(Some(&t), Some("~".into()), None).unwrap();
        assert_eq!(c.python, "py");
        assert_eq!(c.timeout, 2.0);
        assert_eq!(c.output_limit, 10);
        assert_eq!(c.on_mismatch, OnMismatch::Warn);
        assert_eq!(c.run, RunMode::Marked);
        assert_eq!(c.jobs, 3);
        assert!(!c.cache);
        assert_eq!(c.pyodide_url, "pyodide/");
        assert_eq!(c.hidelines.as_deref(), Some("~"));
    }

    #[test]
    fn reads_the_browser_check_keys() {
        let t = json!({"browser-check": true, "browser-check-pyodide": "vendor/pyodide"});
        let c = Config::from_table(Some(&t), None, None).unwrap();
        assert!(c.browser_check);
        assert_eq!(
            c.browser_check_pyodide.as_deref(),
            Some(Path::new("vendor/pyodide"))
        );
        let e = Config::from_table(Some(&json!({"browser-check": "yes"})), None, None).unwrap_err();
        assert_eq!(
            e[0].message,
            "`preprocessor.python.browser-check` must be true or false, not `\"yes\"`"
        );
    }

    #[test]
    fn unknown_key_names_the_closest_and_the_line() {
        let toml = "[book]\ntitle = \"x\"\n\n[preprocessor.python]\ntimout = 3\n";
        let t = json!({"timout": 3});
        let e = Config::from_table(Some(&t), None, Some(toml)).unwrap_err();
        assert_eq!(
            e[0].to_string(),
            "error: unknown key `timout` in [preprocessor.python]\n  --> book.toml:5\n   = help: did you mean `timeout`?"
        );
    }

    #[test]
    fn labels_reach_the_runner_and_the_quiz() {
        let t = json!({"labels": {
            "run": "Ausführen", "submit": "Prüfen",
            "output": "Ausgabe, {python} beim Bauen", "quiz-output": "Was es ausgibt",
            "browser-output": "Dein Lauf, {python} im Browser", "restart": "Neu starten"
        }});
        let c = Config::from_table(Some(&t), None, None).unwrap();
        assert_eq!(c.labels.0.get("run").map(String::as_str), Some("Ausführen"));
        assert_eq!(c.quiz_labels.submit, "Prüfen");
        // The runner's `output` and the quiz's, each its own.
        assert_eq!(
            c.labels.output("3.11.7"),
            "Ausgabe, CPython 3.11 beim Bauen"
        );
        assert_eq!(c.quiz_labels.output, "Was es ausgibt");
        let names = crate::render::assets::runner_label_names();
        for n in [
            "browserOutput",
            "originalOutput",
            "edited",
            "restart",
            "authorOutput",
        ] {
            assert!(names.contains(&n), "{n}");
        }
        let bad = json!({"labels": {"rnu": "x"}});
        let e = Config::from_table(Some(&bad), None, None).unwrap_err();
        assert_eq!(
            e[0].message,
            "unknown label `rnu` in [preprocessor.python.labels]"
        );
        assert_eq!(e[0].help.as_deref(), Some("did you mean `run`?"));
    }

    #[test]
    fn wrong_types_are_errors() {
        let t = json!({"timeout": "ten", "run": "some"});
        let e = Config::from_table(Some(&t), None, None).unwrap_err();
        assert_eq!(e.len(), 2);
        assert!(e.iter().any(|d| {
            d.message
                .contains("`preprocessor.python.run` must be \"all\" or \"marked\"")
        }));
    }
}
