//! The build interpreter: the configured `python` resolved once to the real
//! executable (`sys.executable`, skipping shims such as pyenv's, which cost
//! ~100 ms per start) and its exact version. The answer is remembered in the
//! cache folder, keyed by what could change it, so a warm build starts no
//! Python at all.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interpreter {
    /// The real executable.
    pub executable: PathBuf,
    /// (major, minor, micro).
    pub version: (u32, u32, u32),
    /// `sys.version`, the whole string (build, compiler): part of cache keys.
    pub full_version: String,
}

impl Interpreter {
    pub fn short_version(&self) -> String {
        format!("{}.{}.{}", self.version.0, self.version.1, self.version.2)
    }
}

#[derive(Serialize, Deserialize)]
struct Remembered {
    fingerprint: String,
    interpreter: Interpreter,
}

const PROBE: &str = "import sys, json; print(json.dumps([sys.executable, list(sys.version_info[:3]), sys.version]))";

/// Resolve `python` (a command or a path), using `memo` (a file in the cache
/// folder) when what it depends on has not changed.
pub fn resolve(python: &str, root: &Path, memo: Option<&Path>) -> Result<Interpreter, String> {
    let fingerprint = fingerprint(python, root);
    if let (Some(memo), Some(fp)) = (memo, &fingerprint)
        && let Ok(text) = std::fs::read_to_string(memo)
        && let Ok(r) = serde_json::from_str::<Remembered>(&text)
        && &r.fingerprint == fp
        && r.interpreter.executable.exists()
    {
        return Ok(r.interpreter);
    }
    let output = Command::new(python)
        .args(["-c", PROBE])
        .current_dir(root)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run the Python interpreter `{python}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the Python interpreter `{python}` failed to start ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let (exe, v, full): (PathBuf, Vec<u32>, String) = serde_json::from_str(text.trim())
        .map_err(|_| format!("`{python}` did not answer like CPython: {}", text.trim()))?;
    if v.len() != 3 || v[0] != 3 {
        return Err(format!(
            "`{python}` is Python {v:?}; mdbook-python needs Python 3"
        ));
    }
    let interpreter = Interpreter {
        executable: if exe.as_os_str().is_empty() {
            PathBuf::from(python)
        } else {
            exe
        },
        version: (v[0], v[1], v[2]),
        full_version: full,
    };
    if let (Some(memo), Some(fp)) = (memo, fingerprint) {
        let r = Remembered {
            fingerprint: fp,
            interpreter: interpreter.clone(),
        };
        if let Ok(json) = serde_json::to_string(&r) {
            let _ = super::cache::write_atomically(memo, json.as_bytes());
        }
    }
    Ok(interpreter)
}

/// What the resolution depends on: the command found on PATH (path, size,
/// mtime), pyenv's selection, and the config value. `None` when the command
/// cannot be found (then we always ask Python, which reports the error).
fn fingerprint(python: &str, root: &Path) -> Option<String> {
    let found = find_on_path(python, root)?;
    let meta = std::fs::metadata(&found).ok()?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let mut fp = format!("{python}\0{}\0{}\0{mtime}", found.display(), meta.len());
    // A pyenv shim picks the version from these.
    fp.push_str(&std::env::var("PYENV_VERSION").unwrap_or_default());
    for dir in root.ancestors() {
        if let Ok(v) = std::fs::read_to_string(dir.join(".python-version")) {
            fp.push_str(&v);
            break;
        }
    }
    if let Some(home) = std::env::var_os("PYENV_ROOT").or_else(|| std::env::var_os("HOME")) {
        let mut p = PathBuf::from(home);
        if std::env::var_os("PYENV_ROOT").is_none() {
            p.push(".pyenv");
        }
        if let Ok(v) = std::fs::read_to_string(p.join("version")) {
            fp.push_str(&v);
        }
    }
    Some(fp)
}

fn find_on_path(python: &str, root: &Path) -> Option<PathBuf> {
    let p = Path::new(python);
    if p.components().count() > 1 {
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            root.join(p)
        };
        return p.exists().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(python))
        .find(|c| c.is_file())
}
