//! The worker pool: long-lived CPython processes running `worker.py`, one
//! thread each, taking jobs from a shared queue. Each worker is its own
//! process group, started with a scrubbed environment; every wait is bounded.
//! A program that runs past its timeout is stopped inside Python first (a
//! timer signal, so the report can name the line) and, if that does not work,
//! its whole process group is killed. A worker that crashed, timed out or was
//! left dirty by a job (a thread still running, `sys.path` changed, ...) is
//! replaced before the next job; `Drop` never leaves a process behind.

use super::{Example, Failure, Interpreter, Outcome, Raised};
use crate::plan::{Job, Mode, Program};
use serde::Deserialize;
use serde_json::json;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The worker's source, embedded in the binary.
pub const WORKER_SOURCE: &str = include_str!("worker.py");

/// Compiles the worker under a name its tracebacks can be trimmed by.
const BOOTSTRAP: &str = "import sys; exec(compile(sys.argv[1], '<mdbook-python worker>', 'exec'))";

/// Time a worker gets beyond a program's own timeout before it is killed.
const GRACE: Duration = Duration::from_secs(2);
/// Time a worker gets to start or to close a job.
const STARTUP: Duration = Duration::from_secs(20);

/// How workers are started.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Workers at most.
    pub jobs: usize,
    /// Resource limits applied inside each worker (`resource.setrlimit`):
    /// names like `as`, `fsize`, `nofile`, `nproc`, `cpu` to values.
    pub limits: Vec<(String, u64)>,
    /// `loopback`: a private network namespace with only 127.0.0.1 (where
    /// the system allows it); `host`: the machine's network.
    pub network: String,
    /// How matplotlib figures are captured: `svg` or `png`.
    pub figure_format: String,
    /// matplotlib's config and font-cache folder (`MPLCONFIGDIR`), kept
    /// between builds so that the font cache is built once, not per worker.
    pub mpl_config_dir: Option<std::path::PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            jobs: 2,
            limits: Vec::new(),
            network: "loopback".into(),
            figure_format: "svg".into(),
            mpl_config_dir: None,
        }
    }
}

/// Run the jobs at `todo` (indices into `jobs`); outcomes come back in the
/// order of `todo`, with the number of workers started.
pub fn run_all(
    interpreter: &Interpreter,
    jobs: &[Job],
    todo: &[usize],
    settings: &Settings,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<Vec<Outcome>>, usize) {
    let queue: Mutex<VecDeque<(usize, usize)>> =
        Mutex::new(todo.iter().copied().enumerate().collect());
    let results: Mutex<Vec<Option<Vec<Outcome>>>> = Mutex::new(vec![None; todo.len()]);
    let threads = settings.jobs.clamp(1, todo.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut worker: Option<Worker> = None;
                loop {
                    let next = queue.lock().map(|mut q| q.pop_front()).ok().flatten();
                    let Some((pos, job)) = next else { break };
                    let outcomes = run_job(&mut worker, interpreter, &jobs[job], settings);
                    progress(outcomes.len());
                    if let Ok(mut r) = results.lock() {
                        r[pos] = Some(outcomes);
                    }
                }
            });
        }
    });
    let results = results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(Option::unwrap_or_default)
        .collect();
    (results, threads)
}

fn run_job(
    slot: &mut Option<Worker>,
    interpreter: &Interpreter,
    job: &Job,
    settings: &Settings,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(job.programs.len());
    let mut broken = false;
    let mut closed = false;
    let last = job.programs.len().saturating_sub(1);
    for (k, program) in job.programs.iter().enumerate() {
        if broken {
            outcomes.push(Outcome::failed(Failure::NotRun));
            continue;
        }
        if slot.is_none() {
            match Worker::spawn(interpreter, settings) {
                Ok(w) => *slot = Some(w),
                Err(e) => {
                    outcomes.push(Outcome::failed(Failure::Worker(e)));
                    broken = true;
                    continue;
                }
            }
        }
        let Some(worker) = slot.as_mut() else {
            continue;
        };
        let (outcome, dirty) = worker.run(program, k == 0, k == last);
        closed = k == last && dirty.is_some();
        if dirty == Some(true) {
            *slot = None;
        }
        if outcome.failure.is_some() {
            broken = true;
            if !matches!(outcome.failure, Some(Failure::Timeout { .. })) || !worker_alive(slot) {
                *slot = None;
            }
        }
        outcomes.push(outcome);
    }
    if !closed && let Some(worker) = slot.as_mut() {
        match worker.request(&json!({"op": "end"}), STARTUP) {
            Ok(line) if !is_dirty(&line) => {}
            _ => *slot = None,
        }
    }
    outcomes
}

fn worker_alive(slot: &Option<Worker>) -> bool {
    slot.as_ref().is_some_and(|w| w.alive)
}

/// Does a worker's reply say the job left it dirty?
fn is_dirty(line: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v.get("dirty").cloned())
        .is_some_and(|d| !d.is_null())
}

/// One running interpreter.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    alive: bool,
}

enum RequestError {
    Timeout,
    Died,
}

#[derive(Deserialize)]
struct Reply {
    output: String,
    truncated: bool,
    exception: Option<Raised>,
    timed_out: bool,
    examples: Vec<Example>,
    #[serde(default)]
    rich: Vec<super::Rich>,
    #[serde(default)]
    dirty: Option<String>,
}

impl Worker {
    fn spawn(interpreter: &Interpreter, settings: &Settings) -> Result<Worker, String> {
        let limits: serde_json::Map<String, serde_json::Value> = settings
            .limits
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        let process_limit = settings
            .limits
            .iter()
            .find(|(k, _)| k == "nproc")
            .map(|(_, v)| *v);
        let worker_settings = json!({
            "limits": limits,
            "network": settings.network,
            "process_limit": process_limit,
            "figure_format": settings.figure_format,
        })
        .to_string();
        let mut cmd = Command::new(&interpreter.executable);
        cmd.args(["-s", "-c", BOOTSTRAP, WORKER_SOURCE, &worker_settings])
            .env_clear()
            .env(
                "PATH",
                std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
            )
            .env("LANG", "C.UTF-8")
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONIOENCODING", "utf-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            // matplotlib draws without a display (figures are captured).
            .env("MPLBACKEND", "Agg")
            .env("TMPDIR", std::env::temp_dir())
            .current_dir(std::env::temp_dir())
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(dir) = &settings.mpl_config_dir
            && std::fs::create_dir_all(dir).is_ok()
        {
            cmd.env("MPLCONFIGDIR", dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", interpreter.executable.display()))?;
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err("cannot talk to the interpreter worker".into());
        };
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        if tx.send(String::from_utf8_lossy(&buf).into_owned()).is_err() {
                            break;
                        }
                    }
                }
            }
        });
        let tail = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&tail);
        std::thread::spawn(move || drain(stderr, &sink));
        let mut worker = Worker {
            child,
            stdin,
            lines,
            stderr: tail,
            alive: true,
        };
        match worker.lines.recv_timeout(STARTUP) {
            Ok(line) if line.contains("\"ready\"") => Ok(worker),
            _ => {
                worker.kill();
                let err = worker.stderr_tail();
                Err(format!(
                    "the interpreter worker (`{}`) did not start{}",
                    interpreter.executable.display(),
                    if err.is_empty() {
                        String::new()
                    } else {
                        format!(": {err}")
                    }
                ))
            }
        }
    }

    fn request(
        &mut self,
        req: &serde_json::Value,
        timeout: Duration,
    ) -> Result<String, RequestError> {
        let mut line = req.to_string();
        line.push('\n');
        if self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| self.stdin.flush())
            .is_err()
        {
            self.kill();
            return Err(RequestError::Died);
        }
        match self.lines.recv_timeout(timeout) {
            Ok(line) => Ok(line),
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                Err(RequestError::Timeout)
            }
            Err(RecvTimeoutError::Disconnected) => Err(RequestError::Died),
        }
    }

    /// Run one program; with `end`, also close the job. Returns the outcome
    /// and, when the job was closed, whether the worker is now dirty.
    fn run(&mut self, p: &Program, fresh: bool, end: bool) -> (Outcome, Option<bool>) {
        let req = json!({
            "op": "run",
            "fresh": fresh,
            "end": end,
            "mode": match p.mode { Mode::Exec => "exec", Mode::Pycon => "pycon" },
            "code": p.code,
            "file": p.file.to_string_lossy(),
            "line": p.line,
            "stdin": p.stdin,
            "timeout": p.timeout,
            "limit": p.limit,
        });
        let millis = (p.timeout * 1000.0) as u64;
        let wait = Duration::from_secs_f64(p.timeout) + GRACE;
        let outcome = match self.request(&req, wait) {
            Ok(line) => match serde_json::from_str::<Reply>(&line) {
                Ok(r) => {
                    let failure = r.timed_out.then(|| Failure::Timeout {
                        millis,
                        line: r.exception.as_ref().and_then(|e| e.line),
                    });
                    let left = r.dirty.as_deref().and_then(|d| d.strip_prefix("thread: "));
                    let failure =
                        failure.or_else(|| left.map(|d| Failure::LeftRunning(d.to_string())));
                    let outcome = Outcome {
                        output: r.output,
                        truncated: r.truncated,
                        exception: if r.timed_out { None } else { r.exception },
                        examples: r.examples,
                        failure,
                        rich: r.rich,
                        cached: false,
                    };
                    return (outcome, end.then(|| r.dirty.is_some()));
                }
                Err(e) => {
                    self.kill();
                    Outcome::failed(Failure::Worker(format!(
                        "the worker sent an unreadable reply ({e})"
                    )))
                }
            },
            Err(RequestError::Timeout) => Outcome::failed(Failure::Timeout { millis, line: None }),
            Err(RequestError::Died) => {
                let status = self.reap();
                Outcome::failed(Failure::Crashed {
                    status,
                    stderr: self.stderr_tail(),
                })
            }
        };
        (outcome, None)
    }

    /// Wait (briefly) for a dead worker and describe how it ended.
    fn reap(&mut self) -> String {
        self.alive = false;
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                kill_group(self.child.id());
                return describe(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        "it stopped answering".into()
    }

    fn kill(&mut self) {
        if self.alive {
            kill_group(self.child.id());
            let _ = self.child.kill();
            let _ = self.child.wait();
            self.alive = false;
        }
        // A killed worker cannot remove its private folder itself.
        let dir = std::env::temp_dir().join(format!("mdbook-python-{}", self.child.id()));
        let _ = std::fs::remove_dir_all(dir);
    }

    fn stderr_tail(&self) -> String {
        std::thread::sleep(Duration::from_millis(20));
        let bytes = self.stderr.lock().map(|b| b.clone()).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(12)..].join("\n")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group the
    // worker leads (it was started with process_group(0)); no memory is shared.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("the interpreter exited with status {code}"),
        (None, Some(sig)) => format!(
            "the interpreter was killed by signal {sig}{}",
            signal_name(sig)
        ),
        _ => "the interpreter ended".into(),
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGKILL => " (SIGKILL: often the memory limit)",
        libc::SIGSEGV => " (SIGSEGV)",
        libc::SIGABRT => " (SIGABRT)",
        libc::SIGTERM => " (SIGTERM)",
        libc::SIGXCPU => " (SIGXCPU: the CPU-time limit)",
        _ => "",
    }
}

/// Keep the last 16 KiB a worker wrote to stderr.
fn drain(mut from: impl Read, into: &Mutex<Vec<u8>>) {
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        if let Ok(mut v) = into.lock() {
            v.extend_from_slice(&buf[..n]);
            let excess = v.len().saturating_sub(16 * 1024);
            v.drain(..excess);
        }
    }
}
