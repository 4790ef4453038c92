//! The worker pool: one warm CPython *template* per worker thread, running
//! `worker.py`, which forks a fresh child for every job, so that each job
//! starts from the same pristine interpreter whatever ran before. The
//! template is started with a scrubbed environment in its own process group
//! and a private temporary folder; as root it is also put in a `pids` cgroup
//! of its own, so the process limit holds for root too. It sandboxes itself
//! before the first job (see worker.py) and answers each job with one typed
//! reply (`JobReply`). Every wait is bounded: a template that stops
//! answering is killed with its process group and replaced; `Drop` never
//! leaves a process, a folder or a cgroup behind.

use super::{Example, Failure, Interpreter, Outcome, Raised, Rich};
use crate::plan::{Job, Mode, Program};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The worker's source, embedded in the binary.
pub const WORKER_SOURCE: &str = include_str!("worker.py");

/// Compiles the worker under a name its tracebacks can be trimmed by.
const BOOTSTRAP: &str = "import sys; exec(compile(sys.argv[1], '<mdbook-python worker>', 'exec'))";

/// Time a template gets beyond a job's own timeouts before it is killed
/// (it enforces each program's timeout itself, 2 s after the soft one).
const GRACE: Duration = Duration::from_secs(5);
/// Time a template gets to start.
const STARTUP: Duration = Duration::from_secs(20);
/// The prefix of every private temporary folder and cgroup of a build.
const PREFIX: &str = "mdbook-python-";

/// How workers are started.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Workers at most.
    pub jobs: usize,
    /// Resource limits, hard and soft, applied in each template: names like
    /// `as`, `fsize`, `nofile`, `nproc` to values (bytes or counts).
    pub limits: Vec<(String, u64)>,
    /// `loopback`: a private network namespace with only 127.0.0.1 (where
    /// the system allows it); `host`: the machine's network.
    pub network: String,
    /// How matplotlib figures are captured: `svg` or `png`.
    pub figure_format: String,
    /// matplotlib's config and font-cache folder (`MPLCONFIGDIR`), kept
    /// between builds so that the font cache is built once, not per worker.
    pub mpl_config_dir: Option<PathBuf>,
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

/// What the template's sandbox could set up on this system (its first
/// words, `Ready`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sandbox {
    /// `isolated`, `unavailable` or `host`.
    pub network: String,
    /// Orphaned processes of a job come back to the template to be ended.
    pub subreaper: bool,
    /// Every capability dropped (bounding set included).
    pub capabilities: bool,
    /// UNIX sockets refused by a seccomp filter.
    pub seccomp: bool,
    /// The Landlock ABI used to make everything but the job's folder
    /// read-only (0: none).
    pub landlock: u32,
    /// The process limit is a `pids` cgroup (set by the pool, as root).
    #[serde(default)]
    pub pids_cgroup: bool,
}

impl Sandbox {
    /// What does not hold here, one sentence each, for the build's report.
    pub fn gaps(&self, network_wanted: bool) -> Vec<String> {
        let mut gaps = Vec::new();
        if network_wanted && self.network != "isolated" {
            gaps.push(
                "snippets can reach the network: this system allows no private network namespace"
                    .to_string(),
            );
        }
        if self.landlock == 0 {
            gaps.push("snippets can write outside their private folder (the book and the cache included): this kernel has no Landlock".to_string());
        } else if self.landlock < 6 {
            gaps.push(format!("snippets can signal the build's processes: Landlock ABI {} has no signal scoping (6 or later has)", self.landlock));
        }
        if !self.subreaper {
            gaps.push(
                "a process a snippet leaves behind may outlive its job: no child subreaper"
                    .to_string(),
            );
        }
        if !self.seccomp {
            gaps.push("snippets can open UNIX sockets: no seccomp filter".to_string());
        }
        gaps
    }
}

/// The template's first line.
#[derive(Deserialize)]
struct Ready {
    ready: bool,
    #[serde(default)]
    sandbox: Sandbox,
}

/// A job, as the template reads it.
#[derive(Serialize)]
struct JobRequest<'a> {
    op: &'static str,
    programs: Vec<ProgramRequest<'a>>,
}

#[derive(Serialize)]
struct ProgramRequest<'a> {
    mode: &'static str,
    code: &'a str,
    file: String,
    line: usize,
    stdin: Option<&'a str>,
    timeout: f64,
    limit: usize,
    inline: bool,
}

impl<'a> ProgramRequest<'a> {
    fn new(p: &'a Program) -> Self {
        ProgramRequest {
            mode: match p.mode {
                Mode::Exec => "exec",
                Mode::Pycon => "pycon",
            },
            code: &p.code,
            file: p.file.to_string_lossy().into_owned(),
            line: p.line,
            stdin: p.stdin.as_deref(),
            timeout: p.timeout,
            limit: p.limit,
            inline: p.inline,
        }
    }
}

/// The template's answer to a job: one result per program.
#[derive(Deserialize)]
struct JobReply {
    results: Vec<ProgramReply>,
}

#[derive(Deserialize)]
struct ProgramReply {
    #[serde(default)]
    output: String,
    #[serde(default)]
    truncated: bool,
    #[serde(default)]
    exception: Option<Raised>,
    #[serde(default)]
    timed_out: bool,
    #[serde(default)]
    examples: Vec<Example>,
    #[serde(default)]
    rich: Vec<Rich>,
    #[serde(default)]
    prints: Vec<(usize, String)>,
    /// The program ended, but a non-daemon thread did not by its timeout.
    #[serde(default)]
    left_running: Option<String>,
    /// The job's process died: `{"exit": n}` or `{"signal": n, "name": ..}`.
    #[serde(default)]
    crashed: Option<Crash>,
    /// An earlier program of the job failed.
    #[serde(default)]
    not_run: bool,
}

#[derive(Deserialize)]
struct Crash {
    #[serde(default)]
    exit: Option<i32>,
    #[serde(default)]
    signal: Option<i32>,
}

impl ProgramReply {
    fn into_outcome(self, p: &Program) -> Outcome {
        if self.not_run {
            return Outcome::failed(Failure::NotRun);
        }
        let millis = (p.timeout * 1000.0) as u64;
        let failure = if self.timed_out {
            Some(Failure::Timeout {
                millis,
                line: self.exception.as_ref().and_then(|e| e.line),
            })
        } else if let Some(crash) = &self.crashed {
            Some(Failure::Crashed {
                status: how_it_ended(crash.exit, crash.signal),
                stderr: last_lines(&self.output, 12),
            })
        } else {
            self.left_running.map(Failure::LeftRunning)
        };
        Outcome {
            exception: if self.timed_out { None } else { self.exception },
            output: self.output,
            truncated: self.truncated,
            examples: self.examples,
            failure,
            rich: self.rich,
            prints: self.prints,
            cached: false,
            first_line: p.line,
        }
    }
}

fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Run the jobs at `todo` (indices into `jobs`); outcomes come back in the
/// order of `todo`, with the number of workers started and what their
/// sandbox could set up.
pub fn run_all(
    interpreter: &Interpreter,
    jobs: &[Job],
    todo: &[usize],
    settings: &Settings,
    progress: &(dyn Fn(usize) + Sync),
) -> (Vec<Vec<Outcome>>, usize, Option<Sandbox>) {
    sweep_leftovers();
    let queue: Mutex<VecDeque<(usize, usize)>> =
        Mutex::new(todo.iter().copied().enumerate().collect());
    let results: Mutex<Vec<Option<Vec<Outcome>>>> = Mutex::new(vec![None; todo.len()]);
    let sandbox: Mutex<Option<Sandbox>> = Mutex::new(None);
    let threads = settings.jobs.clamp(1, todo.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                let mut worker: Option<Worker> = None;
                loop {
                    let next = queue.lock().map(|mut q| q.pop_front()).ok().flatten();
                    let Some((pos, job)) = next else { break };
                    let outcomes = run_job(&mut worker, interpreter, &jobs[job], settings);
                    if let (Some(w), Ok(mut sb)) = (&worker, sandbox.lock())
                        && sb.is_none()
                    {
                        *sb = Some(w.sandbox.clone());
                    }
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
    (results, threads, sandbox.into_inner().ok().flatten())
}

fn run_job(
    slot: &mut Option<Worker>,
    interpreter: &Interpreter,
    job: &Job,
    settings: &Settings,
) -> Vec<Outcome> {
    if slot.is_none() {
        match Worker::spawn(interpreter, settings) {
            Ok(w) => *slot = Some(w),
            Err(e) => return failed_job(job, Failure::Worker(e)),
        }
    }
    let Some(worker) = slot.as_mut() else {
        return failed_job(job, Failure::NotRun);
    };
    match worker.run(job) {
        Ok(outcomes) => outcomes,
        Err(failure) => {
            *slot = None;
            failed_job(job, failure)
        }
    }
}

/// The first program of a job failed as a whole; the others did not run.
fn failed_job(job: &Job, failure: Failure) -> Vec<Outcome> {
    (0..job.programs.len())
        .map(|k| {
            Outcome::failed(if k == 0 {
                failure.clone()
            } else {
                Failure::NotRun
            })
        })
        .collect()
}

/// One warm template.
struct Worker {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    alive: bool,
    sandbox: Sandbox,
    /// Its private folder (jobs get folders inside), removed on drop.
    dir: Option<tempfile::TempDir>,
    cgroup: Option<PathBuf>,
}

impl Worker {
    fn spawn(interpreter: &Interpreter, settings: &Settings) -> Result<Worker, String> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{PREFIX}{}-", std::process::id()))
            .tempdir()
            .map_err(|e| format!("cannot make a private temporary folder: {e}"))?;
        let writable: Vec<PathBuf> = settings
            .mpl_config_dir
            .iter()
            .filter(|d| std::fs::create_dir_all(d).is_ok())
            .cloned()
            .collect();
        let worker_settings = serde_json::json!({
            "limits": settings.limits.iter().cloned().collect::<std::collections::BTreeMap<String, u64>>(),
            "network": settings.network,
            "figure_format": settings.figure_format,
            "base_dir": dir.path(),
            "writable": writable,
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
            .env("TMPDIR", dir.path())
            .current_dir(dir.path())
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(mpl) = writable.first() {
            cmd.env("MPLCONFIGDIR", mpl);
        }
        let process_limit = settings
            .limits
            .iter()
            .find(|(k, _)| k == "nproc")
            .map(|(_, v)| *v);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start `{}`: {e}", interpreter.executable.display()))?;
        // Before the template can fork (it has not read its first job yet).
        let cgroup = process_limit.and_then(|max| pids_cgroup(child.id(), max));
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
            sandbox: Sandbox::default(),
            dir: Some(dir),
            cgroup,
        };
        let ready = worker
            .lines
            .recv_timeout(STARTUP)
            .ok()
            .and_then(|line| serde_json::from_str::<Ready>(&line).ok())
            .filter(|r| r.ready);
        match ready {
            Some(r) => {
                worker.sandbox = Sandbox {
                    pids_cgroup: worker.cgroup.is_some(),
                    ..r.sandbox
                };
                Ok(worker)
            }
            None => {
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

    /// Run one job in a fresh child of the template.
    fn run(&mut self, job: &Job) -> Result<Vec<Outcome>, Failure> {
        let request = JobRequest {
            op: "job",
            programs: job.programs.iter().map(ProgramRequest::new).collect(),
        };
        let mut line = serde_json::to_string(&request)
            .map_err(|e| Failure::Worker(format!("cannot encode the job: {e}")))?;
        line.push('\n');
        if self
            .stdin
            .write_all(line.as_bytes())
            .and_then(|_| self.stdin.flush())
            .is_err()
        {
            return Err(self.died());
        }
        // Each program's timeout is enforced by the template (its soft
        // timer, then a kill 2 s later); this bound is for the template.
        let wait = job
            .programs
            .iter()
            .map(|p| Duration::from_secs_f64(p.timeout) + GRACE)
            .sum::<Duration>()
            + GRACE;
        match self.lines.recv_timeout(wait) {
            Ok(line) => {
                let reply: JobReply = serde_json::from_str(&line).map_err(|e| {
                    self.kill();
                    Failure::Worker(format!("the worker sent an unreadable reply ({e})"))
                })?;
                if reply.results.len() != job.programs.len() {
                    self.kill();
                    return Err(Failure::Worker(
                        "the worker answered for another number of programs".into(),
                    ));
                }
                Ok(reply
                    .results
                    .into_iter()
                    .zip(&job.programs)
                    .map(|(r, p)| r.into_outcome(p))
                    .collect())
            }
            Err(RecvTimeoutError::Timeout) => {
                self.kill();
                let millis = job
                    .programs
                    .iter()
                    .map(|p| (p.timeout * 1000.0) as u64)
                    .sum();
                Err(Failure::Timeout { millis, line: None })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.died()),
        }
    }

    /// The template died: say how.
    fn died(&mut self) -> Failure {
        let status = self.reap();
        Failure::Crashed {
            status,
            stderr: self.stderr_tail(),
        }
    }

    /// Wait (briefly) for a dead template and describe how it ended.
    fn reap(&mut self) -> String {
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.kill();
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
        if let Some(cgroup) = self.cgroup.take() {
            end_cgroup(&cgroup);
        }
        // A killed template cannot remove its private folder itself.
        if let Some(dir) = self.dir.take() {
            let _ = dir.close();
        }
    }

    fn stderr_tail(&self) -> String {
        std::thread::sleep(Duration::from_millis(20));
        let bytes = self.stderr.lock().map(|b| b.clone()).unwrap_or_default();
        last_lines(&String::from_utf8_lossy(&bytes), 12)
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.kill();
    }
}

fn kill_group(pid: u32) {
    // SAFETY: kill(2) with a negative pid signals the process group the
    // template leads (it was started with process_group(0)); no memory is
    // shared.
    unsafe {
        libc::kill(-(pid as libc::pid_t), libc::SIGKILL);
    }
}

/// The cgroup v1 `pids` hierarchy, where this process may make groups
/// (as root): Linux does not apply `RLIMIT_NPROC` to root, a cgroup's
/// `pids.max` it does.
const PIDS_ROOT: &str = "/sys/fs/cgroup/pids";

/// Put the template `pid` in a `pids` cgroup of its own holding at most
/// `max` tasks; `None` where that cannot be done.
fn pids_cgroup(pid: u32, max: u64) -> Option<PathBuf> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 || !Path::new(PIDS_ROOT).join("cgroup.procs").exists() {
        return None;
    }
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = Path::new(PIDS_ROOT).join(format!("{PREFIX}{}-{n}", std::process::id()));
    std::fs::create_dir(&dir).ok()?;
    let ok = std::fs::write(dir.join("pids.max"), max.to_string()).is_ok()
        && std::fs::write(dir.join("cgroup.procs"), pid.to_string()).is_ok();
    if ok {
        Some(dir)
    } else {
        let _ = std::fs::remove_dir(&dir);
        None
    }
}

/// Kill whatever is left in a cgroup and remove it.
fn end_cgroup(dir: &Path) {
    for _ in 0..100 {
        let procs = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
        if procs.trim().is_empty() {
            break;
        }
        for pid in procs
            .lines()
            .filter_map(|l| l.trim().parse::<libc::pid_t>().ok())
        {
            // SAFETY: kill(2) on a process id read from our own cgroup.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = std::fs::remove_dir(dir);
}

/// Remove what killed builds left: private folders and cgroups named after
/// a process that no longer exists.
fn sweep_leftovers() {
    let dead = |name: &str| {
        name.strip_prefix(PREFIX)
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<libc::pid_t>().ok())
            // SAFETY: kill(2) with signal 0 only checks that the process exists.
            .is_some_and(|pid| {
                pid > 0
                    && unsafe { libc::kill(pid, 0) } != 0
                    && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
            })
    };
    for base in [std::env::temp_dir(), PathBuf::from(PIDS_ROOT)] {
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !dead(&name) {
                continue;
            }
            let path = entry.path();
            if base == Path::new(PIDS_ROOT) {
                end_cgroup(&path);
            } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
                let _ = std::fs::remove_dir_all(&path);
            }
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    how_it_ended(status.code(), status.signal())
}

/// How an interpreter (a template, or a job's child) ended: its exit
/// status or the signal that killed it.
fn how_it_ended(exit: Option<i32>, signal: Option<i32>) -> String {
    match (exit, signal) {
        (_, Some(sig)) => format!(
            "the interpreter was killed by signal {sig}{}",
            signal_name(sig)
        ),
        (Some(code), _) => format!("the interpreter exited with status {code}"),
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
