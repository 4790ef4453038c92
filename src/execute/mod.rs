//! Execute: the only stage that does I/O. It resolves the interpreter once
//! (`interpreter`), looks every job up in the on-disk result cache (`cache`),
//! and runs the rest on a pool of long-lived CPython workers (`pool`, which
//! speaks to `worker.py`), one thread per worker, jobs taken in page order.
//! Out come plain `Outcome`s, one per program, in the order of the jobs.

pub mod books;
pub mod browser;
pub mod cache;
pub mod chapters;
pub mod interpreter;
pub(crate) mod keys;
pub mod pool;
pub(crate) mod relocate;
pub(crate) mod seal;

use crate::plan::Job;
use serde::{Deserialize, Serialize};

pub use interpreter::Interpreter;

/// An exception a program raised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Raised {
    /// `ValueError`.
    pub name: String,
    /// `json.decoder.JSONDecodeError`.
    pub qualname: String,
    /// Names of the class and its bases, most derived first.
    pub mro: Vec<String>,
    pub message: String,
    /// 1-based line inside the program where it was raised, when known.
    pub line: Option<usize>,
    /// Characters of output written before the traceback (what the program
    /// itself printed).
    #[serde(default)]
    pub output_len: Option<usize>,
    /// For `ModuleNotFoundError`: the module that was not found.
    #[serde(default)]
    pub module: Option<String>,
}

/// Something a program showed besides text: a matplotlib figure, or an
/// object passed to `display()` that has a rich representation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rich {
    /// Where it appeared: a byte offset into the program's `output`.
    pub at: usize,
    /// `image/svg+xml`, `image/png`, `text/html` or `text/markdown`.
    pub mime: String,
    /// Images in base64; HTML and Markdown as the program gave them
    /// (unsanitized: `render::html` sanitizes them).
    pub data: String,
    /// A figure's title, when it has one.
    #[serde(default)]
    pub alt: Option<String>,
    /// The object's `repr()`, for renderers that cannot show `data`.
    #[serde(default)]
    pub text: String,
    /// A matplotlib figure (rather than a `display()`ed object).
    #[serde(default)]
    pub figure: bool,
}

/// One `>>>` example of a pycon block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    /// 1-based Markdown line of the `>>>`.
    pub line: usize,
    pub source: String,
    pub want: String,
    /// What doctest compared: the statement's stdout, and the traceback
    /// (as the REPL shows it) when it raised.
    pub got: String,
    /// doctest's verdict (its runner and `OutputChecker`).
    #[serde(default)]
    pub ok: bool,
    /// The session cannot be read as doctest reads it (a prompt without its
    /// space): what is wrong, in doctest's words. Nothing of it ran.
    #[serde(default)]
    pub error: Option<String>,
}

/// Why a program has no normal result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// Ran past its timeout; `line` is where it was stopped, when known.
    Timeout { millis: u64, line: Option<usize> },
    /// The interpreter died (a signal, `os._exit`, a memory limit).
    Crashed { status: String, stderr: String },
    /// An earlier program of the same session failed, so this one did not run.
    NotRun,
    /// The worker could not be started or spoke nonsense.
    Worker(String),
    /// The program ended but left something running that would keep a real
    /// script from exiting (a non-daemon thread).
    LeftRunning(String),
}

/// What running one program produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// stdout and stderr interleaved, tracebacks included.
    pub output: String,
    /// Output went past the limit and was cut.
    pub truncated: bool,
    pub exception: Option<Raised>,
    pub examples: Vec<Example>,
    pub failure: Option<Failure>,
    /// Figures and rich displays, in output order (`Rich::at`).
    #[serde(default)]
    pub rich: Vec<Rich>,
    /// For `inline-output = "pytest-examples"`: what each `print()` to
    /// stdout printed, with the 1-based program line of the call (the
    /// innermost frame in the program).
    #[serde(default)]
    pub prints: Vec<(usize, String)>,
    /// Came from the cache rather than a run.
    #[serde(skip)]
    pub cached: bool,
    /// The Markdown line its program started at when it ran (0: unknown):
    /// a cached outcome's line numbers are moved from there
    /// (`relocate`).
    #[serde(default)]
    pub first_line: usize,
}

impl Outcome {
    pub fn failed(failure: Failure) -> Self {
        Outcome {
            output: String::new(),
            truncated: false,
            exception: None,
            examples: Vec::new(),
            failure: Some(failure),
            rich: Vec::new(),
            prints: Vec::new(),
            cached: false,
            first_line: 0,
        }
    }
}

/// Counts for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stats {
    pub programs: usize,
    pub run: usize,
    pub cached: usize,
    pub workers: usize,
    /// What the workers' sandbox could set up, when any worker started.
    pub sandbox: Option<pool::Sandbox>,
}

/// Run every job, using and filling the cache. Returns one `Vec<Outcome>`
/// per job (one outcome per program) and the counts.
pub fn run(
    interpreter: &Interpreter,
    jobs: &[Job],
    cache: Option<&cache::Cache>,
    settings: &pool::Settings,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<Vec<Outcome>>, Stats) {
    let mut results: Vec<Option<Vec<Outcome>>> = vec![None; jobs.len()];
    let mut keys = Vec::with_capacity(jobs.len());
    let mut todo = Vec::new();
    let mut stats = Stats::default();
    for (i, job) in jobs.iter().enumerate() {
        stats.programs += job.programs.len();
        let key = cache::key(interpreter, job, &settings.figure_format);
        if let Some(mut hit) = cache.and_then(|c| c.get(&key, job.programs.len())) {
            tracing::debug!(key = &key[..16], "result cache hit");
            relocate::relocate(&mut hit, &job.programs);
            stats.cached += job.programs.len();
            progress(job.programs.len());
            results[i] = Some(hit);
        } else {
            let at = (job.programs.first()).map(|p| format!("{}:{}", p.file.display(), p.line));
            tracing::debug!(key = &key[..16], at, "result cache miss");
            todo.push(i);
        }
        keys.push(key);
    }
    if !todo.is_empty() {
        let (ran, workers, sandbox) = pool::run_all(interpreter, jobs, &todo, settings, progress);
        stats.workers = workers;
        stats.sandbox = sandbox;
        for (i, outcomes) in todo.into_iter().zip(ran) {
            stats.run += jobs[i].programs.len();
            if let Some(c) = cache
                && outcomes.iter().all(|o| o.failure.is_none())
            {
                c.put(&keys[i], &outcomes);
            }
            results[i] = Some(outcomes);
        }
        if let Some(c) = cache {
            c.flush();
        }
    }
    let results = results.into_iter().map(|r| r.unwrap_or_default()).collect();
    (results, stats)
}

/// Small file operations the pipeline needs, kept here so that every byte
/// the plugin reads or writes outside the book it was handed goes through
/// this stage.
pub mod fs {
    use std::path::{Path, PathBuf};

    pub fn read_text(path: &Path) -> Option<String> {
        std::fs::read_to_string(path).ok()
    }

    pub fn read_text_or_error(path: &Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }

    /// `root` and `root/rel` with symbolic links resolved, `rel` as far as
    /// it exists (the rest appended as written), for `config`'s check that
    /// `cache-dir` stays inside the book.
    pub(crate) fn resolve_inside(root: &Path, rel: &Path) -> Option<(PathBuf, PathBuf)> {
        let real_root = std::fs::canonicalize(root).ok()?;
        let mut existing = root.to_path_buf();
        let mut rest = PathBuf::new();
        for part in rel.components() {
            if rest.as_os_str().is_empty() && existing.join(part).symlink_metadata().is_ok() {
                existing.push(part);
            } else {
                rest.push(part);
            }
        }
        let mut real = std::fs::canonicalize(&existing).ok()?;
        if !rest.as_os_str().is_empty() {
            real.push(rest);
        }
        Some((real_root, real))
    }

    /// Why `rewrite` left a file alone.
    #[derive(Debug)]
    pub(crate) enum RewriteError {
        /// `edit` refused the file as it was read.
        Edit(String),
        /// The file changed between the read and the rename.
        Changed,
        Io(std::io::Error),
    }

    impl From<std::io::Error> for RewriteError {
        fn from(e: std::io::Error) -> Self {
            RewriteError::Io(e)
        }
    }

    /// Rewrite an author's file (a chapter for `bless`, book.toml for
    /// `init`) keeping everything but its bytes: a symbolic link stays a
    /// link and its final target is rewritten; the new file gets the old
    /// one's permissions (and owner, where allowed). `edit` turns the bytes
    /// read into the new ones (`None`: nothing to change). The new bytes go
    /// to a temporary file beside the target, synced, and replace it by a
    /// rename only if the target still holds what was read. Returns whether
    /// the file was written.
    pub(crate) fn rewrite(
        path: &Path,
        edit: impl FnOnce(&[u8]) -> Result<Option<Vec<u8>>, String>,
    ) -> Result<bool, RewriteError> {
        use std::io::Write;
        use std::os::unix::fs::MetadataExt;
        let target = std::fs::canonicalize(path)?;
        let old = std::fs::read(&target)?;
        let Some(new) = edit(&old).map_err(RewriteError::Edit)? else {
            return Ok(false);
        };
        let meta = std::fs::metadata(&target)?;
        let dir = target.parent().unwrap_or(Path::new("."));
        let mut tmp = tempfile::Builder::new()
            .prefix(".mdbook-python-")
            .tempfile_in(dir)?;
        tmp.write_all(&new)?;
        let file = tmp.as_file();
        file.set_permissions(meta.permissions())?;
        match std::os::unix::fs::fchown(file, Some(meta.uid()), Some(meta.gid())) {
            Err(e) if e.raw_os_error() != Some(libc::EPERM) => return Err(e.into()),
            _ => {}
        }
        file.sync_all()?;
        if std::fs::read(&target)? != old {
            return Err(RewriteError::Changed);
        }
        tmp.persist(&target).map_err(|e| e.error)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(true)
    }

    /// Write `bytes` atomically unless the file already holds exactly them
    /// (so an unchanged build touches nothing).
    /// A stamp's text: `key`, then each file's size and modification time;
    /// `None` when one of them is missing.
    fn stamp_text(key: &str, files: &[PathBuf]) -> Option<String> {
        let mut text = format!("{key}\n");
        for f in files {
            let meta = std::fs::metadata(f).ok()?;
            let mtime = meta
                .modified()
                .ok()?
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            text.push_str(&format!("{} {}\n", meta.len(), mtime.as_nanos()));
        }
        Some(text)
    }

    /// Whether `files`, written from inputs whose hash is `key`, are still
    /// as `write_stamp` left them (same size and modification time): then
    /// they need not be made again. A missing stamp or file is a no.
    pub fn stamp_holds(stamp: &Path, key: &str, files: &[PathBuf]) -> bool {
        std::fs::read_to_string(stamp).is_ok_and(|t| Some(t) == stamp_text(key, files))
    }

    /// Remember that `files` were written from inputs whose hash is `key`
    /// (best effort: without a stamp they are only made again).
    pub fn write_stamp(stamp: &Path, key: &str, files: &[PathBuf]) {
        if let Some(text) = stamp_text(key, files) {
            let _ = super::cache::write_atomically(stamp, text.as_bytes());
        }
    }

    pub fn write_if_changed(path: &Path, bytes: &[u8]) -> std::io::Result<bool> {
        if std::fs::read(path).is_ok_and(|old| old == bytes) {
            return Ok(false);
        }
        super::cache::write_atomically(path, bytes)?;
        Ok(true)
    }

    /// Read all of standard input, the way mdBook's pipe is cheapest to
    /// fill. mdBook serialises the book straight into the pipe, one
    /// `write(2)` per JSON token (about 70,000 for a 400 KB book), and a
    /// reader blocked in `read(2)` is woken for each one: on 2 cores that
    /// cost 25 ms, more than the rest of a warm build. So the pipe is
    /// enlarged to 1 MiB (the unprivileged maximum), and after a short read
    /// the reader naps 100 us, letting writes pile up instead of waking it
    /// (300 us was no faster on big books and wasted more after the last
    /// write on small ones). Measured on the 2,000-snippet book: 168 -> 149
    /// ms for a no-op preprocessor, against 141 ms with none. On anything
    /// but a pipe this is a plain read to the end.
    pub fn read_stdin() -> std::io::Result<Vec<u8>> {
        use std::io::Read;
        let mut stdin = std::io::stdin().lock();
        let mut bytes = Vec::with_capacity(1 << 20);
        #[cfg(target_os = "linux")]
        // SAFETY: fcntl on fd 0 with an integer argument; failure (not a
        // pipe, over the limit) leaves the descriptor as it was.
        let is_pipe = unsafe { libc::fcntl(0, libc::F_SETPIPE_SZ, 1 << 20) } > 0;
        #[cfg(not(target_os = "linux"))]
        let is_pipe = false;
        let mut chunk = vec![0u8; 1 << 16];
        loop {
            let n = match stdin.read(&mut chunk) {
                Ok(0) => return Ok(bytes),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            bytes.extend_from_slice(&chunk[..n]);
            if is_pipe && n < chunk.len() {
                std::thread::sleep(std::time::Duration::from_micros(100));
            }
        }
    }

    /// Let the answer to mdBook fit in the pipe at once, so this process
    /// can exit while mdBook reads (as `read_stdin` does for the input).
    pub fn enlarge_stdout_pipe() {
        #[cfg(target_os = "linux")]
        // SAFETY: as in `read_stdin`, on fd 1.
        unsafe {
            libc::fcntl(1, libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
}
