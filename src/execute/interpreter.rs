//! The build interpreter: the configured `python` resolved once to the real
//! executable (`sys.executable`, skipping shims such as pyenv's, which cost
//! ~100 ms per start) and its exact version. The answer is remembered in the
//! cache folder, keyed by what could change it, so a warm build starts no
//! Python at all. An interpreter older than `MIN_PYTHON` (3.8) is one
//! error here, before any snippet runs.
//!
//! The probe also reads what makes results of third-party code differ: the
//! installed distributions and their versions (`importlib.metadata`), kept
//! as one digest, and the standard library's module names (to tell a
//! third-party import from a standard one). They are read again only when a
//! folder on the interpreter's `sys.path` (site-packages) changed.

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
    /// BLAKE3 of the sorted `name==version` list of installed distributions:
    /// part of the cache key of jobs that import third-party modules.
    #[serde(default)]
    pub packages: String,
    /// `sys.stdlib_module_names` (empty before Python 3.10: then every
    /// import counts as third-party).
    #[serde(default)]
    pub stdlib: Vec<String>,
    /// The folders of `sys.path` (site-packages among them), whose mtimes
    /// say when `packages` must be read again.
    #[serde(default)]
    pub site_dirs: Vec<PathBuf>,
}

impl Interpreter {
    pub fn short_version(&self) -> String {
        format!("{}.{}.{}", self.version.0, self.version.1, self.version.2)
    }
}

/// The oldest Python supported: the oldest one the worker is tested on
/// (3.8 lacks `os.pidfd_open`, so its template polls for a job's end every
/// 20 ms). 3.7 and older are past their end of life and not tested.
pub(crate) const MIN_PYTHON: (u32, u32) = (3, 8);

/// One error, before any snippet runs, for an interpreter older than
/// `MIN_PYTHON` (else every snippet would fail with the worker's traceback).
fn check_version(python: &str, i: &Interpreter) -> Result<(), String> {
    if (i.version.0, i.version.1) < MIN_PYTHON {
        return Err(format!(
            "`{python}` is Python {}; mdbook-python needs Python {}.{} or newer",
            i.short_version(),
            MIN_PYTHON.0,
            MIN_PYTHON.1
        ));
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct Remembered {
    fingerprint: String,
    /// `site_mtimes(&interpreter.site_dirs)` when it was probed.
    #[serde(default)]
    site_mtimes: String,
    interpreter: Interpreter,
}

/// Run with `-s`, like the workers, so it sees the packages they see.
const PROBE: &str = "import sys, json, os
print(json.dumps([sys.executable, list(sys.version_info[:3]), sys.version,
    sorted(getattr(sys, 'stdlib_module_names', ())),
    sorted({p for p in sys.path if p and os.path.isdir(p)})]))";

/// The installed distributions, read from the `*.dist-info` / `*.egg-info`
/// names in the interpreter's `sys.path` folders (their names carry the
/// versions), as one digest: no Python needed.
fn packages_digest(site_dirs: &[PathBuf]) -> String {
    let mut names: Vec<String> = site_dirs
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".dist-info") || n.ends_with(".egg-info"))
        .collect();
    names.sort();
    blake3::hash(names.join("\n").as_bytes())
        .to_hex()
        .to_string()
}

/// Where the interpreter facts are remembered across books and `clean`:
/// `$XDG_CACHE_HOME/mdbook-python` or `~/.cache/mdbook-python`, one file per
/// book root and configured command.
pub fn user_memo(python: &str, root: &Path) -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    let id = blake3::hash(format!("{python}\0{}", root.display()).as_bytes()).to_hex();
    Some(
        base.join("mdbook-python")
            .join("interpreters")
            .join(format!("{}.json", &id[..32])),
    )
}

/// The interpreter `python` resolved to last time, if a memo still holds
/// (never starts a process).
pub fn lookup(python: &str, root: &Path, memos: &[PathBuf]) -> Option<Interpreter> {
    remembered(fingerprint(python, root).as_deref(), memos)
}

fn remembered(fingerprint: Option<&str>, memos: &[PathBuf]) -> Option<Interpreter> {
    let fp = fingerprint?;
    memos.iter().find_map(|memo| {
        let text = String::from_utf8(super::seal::read(memo)?).ok()?;
        let r = serde_json::from_str::<Remembered>(&text).ok()?;
        (r.fingerprint == fp
            && r.interpreter.executable.exists()
            && r.site_mtimes == site_mtimes(&r.interpreter.site_dirs))
        .then_some(r.interpreter)
    })
}

/// Resolve `python` (a command or a path), using the first of `memos`
/// (files in the cache folder and the user's cache) that is still valid, and
/// writing the answer to all of them.
pub fn resolve(python: &str, root: &Path, memos: &[PathBuf]) -> Result<Interpreter, String> {
    let fingerprint = fingerprint(python, root);
    if let Some(found) = remembered(fingerprint.as_deref(), memos) {
        check_version(python, &found)?;
        return Ok(found);
    }
    let output = Command::new(python)
        .args(["-s", "-c", PROBE])
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
    type Probe = (PathBuf, Vec<u32>, String, Vec<String>, Vec<PathBuf>);
    let (exe, v, full, stdlib, site_dirs): Probe = serde_json::from_str(text.trim())
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
        packages: packages_digest(&site_dirs),
        stdlib,
        site_dirs,
    };
    check_version(python, &interpreter)?;
    if let Some(fp) = fingerprint {
        let r = Remembered {
            fingerprint: fp,
            site_mtimes: site_mtimes(&interpreter.site_dirs),
            interpreter: interpreter.clone(),
        };
        if let Ok(json) = serde_json::to_string(&r) {
            for memo in memos {
                let _ = super::seal::write(memo, json.as_bytes());
            }
        }
    }
    Ok(interpreter)
}

/// The command for a runtime written as a version (`"3.12"`): `python3.12`
/// on PATH (but not a pyenv shim, which fails unless that version is
/// selected), else the newest `3.12.*` of pyenv's and uv's interpreter
/// folders. Anything else is a command or path, returned as is.
pub(crate) fn locate(spec: &str) -> Result<String, String> {
    let Some((major, minor)) = spec
        .split_once('.')
        .and_then(|(a, b)| Some((a.parse::<u32>().ok()?, b.parse::<u32>().ok()?)))
    else {
        return Ok(spec.to_string());
    };
    let name = format!("python{major}.{minor}");
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(&name))
        .find(|c| c.is_file() && !c.parent().is_some_and(|d| d.ends_with("shims")));
    if let Some(found) = on_path {
        return Ok(found.to_string_lossy().into_owned());
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    let pyenv = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".pyenv"))
        .join("versions");
    let uv = std::env::var_os("UV_PYTHON_INSTALL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.join(".local/share/uv/python"));
    let prefix = format!("{major}.{minor}.");
    let uv_prefix = format!("cpython-{major}.{minor}.");
    let mut found: Vec<((u32, u32, u32), PathBuf)> = Vec::new();
    for (dir, prefix) in [(&pyenv, &prefix), (&uv, &uv_prefix)] {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = file.strip_prefix(prefix.as_str()) else {
                continue;
            };
            // `3.12.1`, or uv's `cpython-3.12.1-linux-x86_64-gnu`; not `3.13.0t`.
            let patch = rest.split('-').next().unwrap_or("");
            let Ok(micro) = patch.parse::<u32>() else {
                continue;
            };
            let exe = entry.path().join("bin").join("python3");
            if exe.is_file() {
                found.push(((major, minor, micro), exe));
            }
        }
    }
    found.sort();
    match found.pop() {
        Some((_, exe)) => Ok(exe.to_string_lossy().into_owned()),
        None => Err(format!(
            "no Python {major}.{minor} found: looked for `{name}` on PATH, in {} and in {}",
            pyenv.join(format!("{major}.{minor}.*")).display(),
            uv.join(format!("cpython-{major}.{minor}.*")).display()
        )),
    }
}

/// The modification times of `dirs` (a folder whose contents change, as
/// site-packages does on every install, gets a new one).
fn site_mtimes(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| {
            std::fs::metadata(d)
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos())
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(",")
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
    // A new probe asks more: what an older one remembered does not do.
    fp.push_str(blake3::hash(PROBE.as_bytes()).to_hex().as_str());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_install_into_site_packages_changes_the_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let site = vec![dir.path().to_path_buf()];
        let before = site_mtimes(&site);
        assert_eq!(before, site_mtimes(&site));
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::create_dir(dir.path().join("numpy-2.4.6.dist-info")).unwrap();
        assert_ne!(before, site_mtimes(&site), "pip adds a dist-info folder");
    }

    #[test]
    fn the_probe_reads_packages_stdlib_and_site_folders() {
        let dir = tempfile::tempdir().unwrap();
        let memo = dir.path().join("interpreter.json");
        let Ok(i) = resolve("python3", dir.path(), std::slice::from_ref(&memo)) else {
            return; // no python3 on PATH: nothing to probe
        };
        assert_eq!(i.packages.len(), 64, "a BLAKE3 digest");
        if i.version >= (3, 10, 0) {
            assert!(i.stdlib.iter().any(|m| m == "json"));
        }
        assert!(!i.site_dirs.is_empty());
        assert_eq!(
            i.packages,
            packages_digest(&i.site_dirs),
            "read from dist-info names"
        );
        assert_eq!(
            resolve("python3", dir.path(), std::slice::from_ref(&memo)),
            Ok(i),
            "remembered"
        );
    }
}
