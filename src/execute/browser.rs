//! The browser side of `check --browser`: runs snippets in Pyodide under Node
//! with the page's own worker core (`front-end/worker.js`), driven by
//! `front-end/parity.mjs`. One Node process for the whole book, one Pyodide
//! load, snippets back to back (sessions in order, in one namespace each).
//! Results are cached like build results (`<cache-dir>/browser/`), keyed by
//! the Pyodide release, the worker and driver code and each program, so a
//! warm check starts no Node at all.

use super::keys::KeyHasher;
// The page's worker (`worker.js` with `runner.py` in it): the driver evaluates its core.
use crate::render::assets::worker_source;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Node driver, written into the cache folder and run with `node`.
pub const DRIVER: &str = include_str!("../../front-end/parity.mjs");
/// Bump when the meaning of a cached browser result changes.
const FORMAT: &str = "mdbook-python browser cache v1";
/// Where the driver is written, relative to the cache folder.
pub const DRIVER_PATH: &str = "browser/parity.mjs";
/// Node gets this long to load Pyodide (and to start again after a snippet
/// that had to be killed) before the check gives up.
const LOAD_SECONDS: f64 = 180.0;

/// The `pyodide` npm package the check runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pyodide {
    /// The package folder (holding `pyodide.mjs`).
    pub dir: PathBuf,
    /// `version` from its package.json, e.g. `314.0.7`.
    pub version: String,
}

/// Find the npm `pyodide` package: `configured` (relative to the book
/// root), else `node_modules/pyodide` in the book root, else
/// `tests/browser/node_modules/pyodide` (this repository's own).
pub fn find_pyodide(configured: Option<&Path>, root: &Path) -> Result<Pyodide, String> {
    let candidates: Vec<PathBuf> = match configured {
        Some(p) => vec![root.join(p)],
        None => vec![
            root.join("node_modules/pyodide"),
            root.join("tests/browser/node_modules/pyodide"),
        ],
    };
    for dir in &candidates {
        let Ok(text) = std::fs::read_to_string(dir.join("package.json")) else {
            continue;
        };
        if !dir.join("pyodide.mjs").is_file() {
            continue;
        }
        let version = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("version")?.as_str().map(str::to_string));
        if let Some(version) = version {
            return Ok(Pyodide {
                dir: std::path::absolute(dir).unwrap_or_else(|_| dir.clone()),
                version,
            });
        }
    }
    let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
    Err(format!(
        "the npm package `pyodide` is missing (looked in {})",
        looked.join(", ")
    ))
}

/// Something to run in the browser, as the page would.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Program {
    pub code: String,
    /// Shown in tracebacks (the build's file name, so lines agree).
    pub filename: String,
    pub stdin: Option<String>,
    /// `file\nname`, as the page keys sessions; `None`: a fresh namespace.
    pub session: Option<String>,
    pub limit: usize,
    /// Seconds before the driver stops it as the page's Stop would.
    pub timeout: f64,
    /// Marked `raises=`: a later block of its session still runs after it.
    pub raises: bool,
}

/// Programs run in order in one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Job {
    pub programs: Vec<Program>,
}

/// How a program ended in the browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Raised (the runner's `error` names the exception).
    Error,
    Truncated,
    /// Still running after its timeout: stopped.
    Timeout,
    /// Not run: an earlier block of its session failed.
    Skipped,
    /// The Pyodide thread died under it.
    Crashed,
}

/// What running one program in the browser produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub status: Status,
    /// The exception's name when `status` is `Error`.
    pub error: Option<String>,
    /// stdout and stderr as the page shows them, traceback included.
    pub output: String,
    pub truncated: bool,
    /// Packages Pyodide would have loaded for it but could not (offline).
    pub unavailable: Option<String>,
    #[serde(skip)]
    pub cached: bool,
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct Stats {
    pub programs: usize,
    pub run: usize,
    pub cached: usize,
    /// Node was started (once).
    pub node: bool,
    /// Seconds Pyodide took to load (the first time).
    pub load_seconds: f64,
}

/// The results of a browser run.
#[derive(Debug, Default)]
pub struct Run {
    /// The browser's Python, e.g. `3.14.2` (from the run or the cache).
    pub python: Option<String>,
    /// One entry per job, one per program; `None` where nothing is known.
    pub outcomes: Vec<Vec<Option<Outcome>>>,
    pub stats: Stats,
    /// Node or Pyodide could not be run: what went wrong.
    pub error: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    python: String,
    outcomes: Vec<Outcome>,
}

/// Browser results on disk, one file per job, next to the build's.
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    pub fn new(cache_dir: &Path) -> Self {
        Cache {
            dir: cache_dir.join("browser"),
        }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(&key[..2]).join(format!("{key}.json"))
    }

    fn get(&self, key: &str, programs: usize) -> Option<Entry> {
        let bytes = super::seal::read(&self.path(key))?;
        let mut entry: Entry = serde_json::from_slice(&bytes).ok()?;
        if entry.outcomes.len() != programs {
            return None;
        }
        for o in &mut entry.outcomes {
            o.cached = true;
        }
        Some(entry)
    }

    fn put(&self, key: &str, entry: &Entry) {
        if let Ok(json) = serde_json::to_vec(entry)
            && super::seal::write(&self.path(key), &json).is_ok()
        {
            // Caches built from browser results (chapters, the book's
            // answer) read this to know they are stale.
            let stamp = format!(
                "{}-{:?}",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap_or_default()
            );
            let _ = super::cache::write_atomically(&self.dir.join(GENERATION), stamp.as_bytes());
        }
    }
}

/// The file in `browser/` that changes whenever a browser result is
/// written.
const GENERATION: &str = "generation";

/// The generation of the browser results in `cache_dir` (empty when there
/// are none): part of the keys of everything rendered from them.
pub fn generation(cache_dir: &Path) -> String {
    std::fs::read_to_string(cache_dir.join("browser").join(GENERATION)).unwrap_or_default()
}

/// The cache key of a browser job: the Pyodide release, the worker and
/// driver code, and everything of each program that can change its output.
pub fn key(pyodide_version: &str, job: &Job) -> String {
    // The fixed part (the format, the worker and the driver) is hashed once.
    static BASE: std::sync::OnceLock<KeyHasher> = std::sync::OnceLock::new();
    let mut h = BASE
        .get_or_init(|| {
            let mut h = KeyHasher::new(FORMAT);
            h.field(worker_source().as_bytes()).field(DRIVER.as_bytes());
            h
        })
        .clone();
    h.field(pyodide_version.as_bytes());
    for p in &job.programs {
        h.field(p.code.as_bytes()).field(p.filename.as_bytes());
        h.optional(p.stdin.as_ref().map(|s| s.as_bytes()));
        h.optional(p.session.as_ref().map(|s| s.as_bytes()));
        h.field(&(p.limit as u64).to_le_bytes());
        h.field(&p.timeout.to_le_bytes());
        h.field(&[p.raises as u8]);
    }
    h.finish()
}

/// A result worth keeping: it says something about the snippet, not about
/// this machine (a timeout or a package that could not be fetched).
fn keepable(outcomes: &[Outcome]) -> bool {
    outcomes
        .iter()
        .all(|o| !matches!(o.status, Status::Timeout | Status::Crashed) && o.unavailable.is_none())
}

/// Look every job up in the cache and, unless `cache_only`, run the rest in
/// one Node process (the driver is written to `cache_dir`).
pub fn run(
    jobs: &[Job],
    pyodide: &Pyodide,
    cache: Option<&Cache>,
    cache_dir: &Path,
    cache_only: bool,
) -> Run {
    let mut result = Run {
        outcomes: jobs.iter().map(|j| vec![None; j.programs.len()]).collect(),
        ..Run::default()
    };
    let mut keys = Vec::with_capacity(jobs.len());
    let mut todo = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        result.stats.programs += job.programs.len();
        let key = key(&pyodide.version, job);
        match cache.and_then(|c| c.get(&key, job.programs.len())) {
            Some(entry) => {
                result.stats.cached += job.programs.len();
                result.python.get_or_insert(entry.python);
                result.outcomes[i] = entry.outcomes.into_iter().map(Some).collect();
            }
            None => todo.push(i),
        }
        keys.push(key);
    }
    if todo.is_empty() || cache_only {
        return result;
    }
    let driver = cache_dir.join(DRIVER_PATH);
    if let Err(e) = super::fs::write_if_changed(&driver, DRIVER.as_bytes()) {
        result.error = Some(format!("cannot write {}: {e}", driver.display()));
        return result;
    }
    let input = serde_json::json!({
        "pyodide": pyodide.dir,
        "worker": worker_source(),
        "jobs": todo.iter().map(|&i| &jobs[i]).collect::<Vec<_>>(),
    });
    let longest = todo
        .iter()
        .flat_map(|&i| jobs[i].programs.iter().map(|p| p.timeout))
        .fold(0.0, f64::max);
    result.stats.node = true;
    let ran = drive(&driver, &input.to_string(), longest);
    result.stats.load_seconds = ran.load_seconds;
    if ran.python.is_some() {
        result.python = ran.python.clone();
    }
    result.error = ran.error;
    let mut got: Vec<Vec<Option<Outcome>>> = todo
        .iter()
        .map(|&i| vec![None; jobs[i].programs.len()])
        .collect();
    for (j, k, o) in ran.results {
        if let Some(slot) = got.get_mut(j).and_then(|v| v.get_mut(k)) {
            *slot = Some(o);
        }
    }
    for (t, &i) in todo.iter().enumerate() {
        let outcomes = std::mem::take(&mut got[t]);
        result.stats.run += outcomes.iter().flatten().count();
        if let (Some(c), Some(python)) = (cache, &result.python)
            && outcomes.iter().all(Option::is_some)
        {
            let all: Vec<Outcome> = outcomes.iter().flatten().cloned().collect();
            if keepable(&all) {
                c.put(
                    &keys[i],
                    &Entry {
                        python: python.clone(),
                        outcomes: all,
                    },
                );
            }
        }
        result.outcomes[i] = outcomes;
    }
    result
}

/// What one Node process reported.
struct Driven {
    python: Option<String>,
    results: Vec<(usize, usize, Outcome)>,
    load_seconds: f64,
    error: Option<String>,
}

#[derive(Deserialize)]
struct Line {
    mdpy: String,
    #[serde(default)]
    job: usize,
    #[serde(default)]
    program: usize,
    #[serde(default)]
    python: Option<String>,
    #[serde(default)]
    millis: u64,
    #[serde(default)]
    message: Option<String>,
}

/// Run `node driver` with `input` on stdin and read its report. Every wait is
/// bounded: a silent Node is killed after the longest snippet timeout plus
/// the time a Pyodide load may take.
fn drive(driver: &Path, input: &str, longest_timeout: f64) -> Driven {
    let mut out = Driven {
        python: None,
        results: Vec::new(),
        load_seconds: 0.0,
        error: None,
    };
    let driver = std::path::absolute(driver).unwrap_or_else(|_| driver.to_path_buf());
    let dir = driver.parent().unwrap_or(Path::new(".")).to_path_buf();
    let child = Command::new("node")
        .arg(&driver)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            out.error = Some(format!("cannot run `node` (Node.js): {e}"));
            return out;
        }
    };
    let (Some(mut stdin), Some(stdout), Some(mut stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        let _ = child.kill();
        let _ = child.wait();
        out.error = Some("cannot talk to `node`".into());
        return out;
    };
    let input = input.to_string();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let errors = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let patience = Duration::from_secs_f64(longest_timeout + 5.0 + LOAD_SECONDS);
    let mut ended = false;
    let mut last = Instant::now();
    loop {
        match rx.recv_timeout(patience.saturating_sub(last.elapsed())) {
            Ok(line) => {
                last = Instant::now();
                let Ok(msg) = serde_json::from_str::<Line>(&line) else {
                    continue; // not ours
                };
                match msg.mdpy.as_str() {
                    "ready" => {
                        if out.python.is_none() {
                            out.load_seconds = msg.millis as f64 / 1000.0;
                        }
                        out.python = msg.python;
                    }
                    "result" => {
                        // The rest of the line is the outcome (unknown fields ignored).
                        if let Ok(o) = serde_json::from_str::<Outcome>(&line) {
                            out.results.push((msg.job, msg.program, o));
                        }
                    }
                    "fatal" => {
                        out.error = Some(format!(
                            "Pyodide failed under Node: {}",
                            msg.message.unwrap_or_default().trim()
                        ));
                    }
                    "end" => ended = true,
                    _ => {}
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                out.error = Some(format!(
                    "`node` stopped answering for {} s and was stopped",
                    patience.as_secs()
                ));
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let status = child.wait();
    let _ = writer.join();
    let text = errors.join().unwrap_or_default();
    if out.error.is_none() && !ended {
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        out.error = Some(format!("`node` ended early ({status})"));
    }
    if let Some(e) = &mut out.error {
        let tail: Vec<&str> = text.trim_end().lines().rev().take(12).collect();
        if !tail.is_empty() {
            e.push('\n');
            e.push_str(&tail.into_iter().rev().collect::<Vec<_>>().join("\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_written_changes_the_generation() {
        // Results land in sub-folders, which leave `browser/`'s own mtime as
        // it was: the generation file is what later keys read.
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        assert_eq!(generation(dir.path()), "");
        let entry = Entry {
            python: "3.14.2".into(),
            outcomes: Vec::new(),
        };
        cache.put(&"ab".repeat(32), &entry);
        let first = generation(dir.path());
        assert!(!first.is_empty());
        std::thread::sleep(std::time::Duration::from_millis(2));
        cache.put(&"ab".repeat(32), &entry);
        assert_ne!(
            generation(dir.path()),
            first,
            "a result in an existing sub-folder"
        );
    }

    fn job(code: &str) -> Job {
        Job {
            programs: vec![Program {
                code: code.into(),
                filename: "src/a.md".into(),
                stdin: None,
                session: None,
                limit: 100,
                timeout: 30.0,
                raises: false,
            }],
        }
    }

    #[test]
    fn key_changes_with_code_and_pyodide() {
        let a = key("314.0.7", &job("print(1)\n"));
        assert_eq!(a, key("314.0.7", &job("print(1)\n")));
        assert_ne!(a, key("314.0.7", &job("print(2)\n")));
        assert_ne!(a, key("314.0.8", &job("print(1)\n")));
    }

    #[test]
    fn round_trip_keeps_only_results_about_the_snippet() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let ok = Outcome {
            status: Status::Ok,
            error: None,
            output: "hi\n".into(),
            truncated: false,
            unavailable: None,
            cached: false,
        };
        let k = key("1", &job("x"));
        cache.put(
            &k,
            &Entry {
                python: "3.14.2".into(),
                outcomes: vec![ok.clone()],
            },
        );
        let got = cache.get(&k, 1).unwrap();
        assert_eq!(got.python, "3.14.2");
        assert!(got.outcomes[0].cached);
        assert!(cache.get(&k, 2).is_none());
        let timeout = Outcome {
            status: Status::Timeout,
            ..ok.clone()
        };
        assert!(keepable(std::slice::from_ref(&ok)));
        assert!(!keepable(&[ok, timeout]));
    }

    #[test]
    fn a_missing_package_names_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        let e = find_pyodide(None, dir.path()).unwrap_err();
        assert!(e.contains("node_modules/pyodide"), "{e}");
        std::fs::create_dir_all(dir.path().join("node_modules/pyodide")).unwrap();
        std::fs::write(
            dir.path().join("node_modules/pyodide/package.json"),
            r#"{"name": "pyodide", "version": "314.0.7"}"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("node_modules/pyodide/pyodide.mjs"), "").unwrap();
        let p = find_pyodide(None, dir.path()).unwrap();
        assert_eq!(p.version, "314.0.7");
    }
}
