//! The result cache: job outcomes keyed by a BLAKE3 hash of everything that
//! can change what the job prints (the interpreter's exact build, the
//! worker's code, each program's code, stdin, mode, timeout and output limit,
//! in order; the figure format; and, for a job that imports a module outside
//! the standard library, the installed packages and their versions). Prose
//! and display-only attributes are not part of it, and neither is any
//! absolute path (the interpreter is known by its build, `sys.version`;
//! programs by their file relative to the book), so keys made on one machine
//! or checkout hold on another (`check --shard` on several CI runners).
//!
//! Results live in "pack" files under `<cache-dir>/results/`: a build reads
//! every pack once and writes the results it computed as one new pack at the
//! end (creating thousands of small files costs far more than the runs
//! themselves on some file systems). Packs are written to a temporary name and
//! renamed, so two builds at once never see half a file and never overwrite
//! each other's pack; a pack that does not parse is ignored (its jobs run
//! again); when packs pile up, a build merges the ones it read into one.
//!
//! This module also owns the cache folder itself: the `CACHEDIR.TAG` marker
//! and `.gitignore` of a folder the plugin creates (`prepare_dir`), the list
//! of entries the plugin writes there (`OWNED`), and `clean`, which deletes
//! those entries of a marked folder and nothing else.

use super::{Interpreter, Outcome};
use crate::plan::{Job, Mode};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Bump when the meaning of a cached result changes.
const FORMAT: &str = "mdbook-python cache v4";

/// Merge the packs read when more than this many exist.
const MAX_PACKS: usize = 8;

pub struct Cache {
    dir: PathBuf,
    /// Everything read from the packs at start.
    known: HashMap<String, Vec<Outcome>>,
    /// The packs that were read (merged away when there are too many).
    packs: Vec<PathBuf>,
    /// Results of this build, written by `flush`.
    fresh: Mutex<Vec<(String, Vec<Outcome>)>>,
}

impl Cache {
    /// Open the cache in `cache_dir`, reading every pack.
    pub fn new(cache_dir: &Path) -> Self {
        let dir = cache_dir.join("results");
        let mut known = HashMap::new();
        let mut packs = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "pack")
                    && let Some(bytes) = super::seal::read(&path)
                    && let Ok(map) = serde_json::from_slice::<HashMap<String, Vec<Outcome>>>(&bytes)
                {
                    known.extend(map);
                    packs.push(path);
                }
            }
        }
        Cache {
            dir,
            known,
            packs,
            fresh: Mutex::new(Vec::new()),
        }
    }

    /// The cached outcomes of a job, if present and of the right length.
    pub fn get(&self, key: &str, programs: usize) -> Option<Vec<Outcome>> {
        let mut outcomes = self.known.get(key)?.clone();
        if outcomes.len() != programs {
            return None;
        }
        for o in &mut outcomes {
            o.cached = true;
        }
        Some(outcomes)
    }

    /// Remember a job's outcomes, to be written by `flush`.
    pub fn put(&self, key: &str, outcomes: &[Outcome]) {
        if let Ok(mut fresh) = self.fresh.lock() {
            fresh.push((key.to_string(), outcomes.to_vec()));
        }
    }

    /// Write this build's results as one pack (merging all packs into one
    /// when there are too many). Failing to write is not an error: the next
    /// build simply runs those jobs again.
    pub fn flush(&self) {
        let fresh = self
            .fresh
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default();
        if fresh.is_empty() {
            return;
        }
        let merge = self.packs.len() + 1 > MAX_PACKS;
        let mut map: HashMap<&str, &Vec<Outcome>> = HashMap::new();
        if merge {
            map.extend(self.known.iter().map(|(k, v)| (k.as_str(), v)));
        }
        map.extend(fresh.iter().map(|(k, v)| (k.as_str(), v)));
        let Ok(json) = serde_json::to_vec(&map) else {
            return;
        };
        let name = format!("{}.pack", &blake3::hash(&json).to_hex()[..32]);
        if super::seal::write(&self.dir.join(name), &json).is_ok() && merge {
            for old in &self.packs {
                let _ = std::fs::remove_file(old);
            }
        }
    }
}

/// BLAKE3 of the worker's source, computed once per process.
fn worker_digest() -> &'static [u8] {
    static DIGEST: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    DIGEST.get_or_init(|| *blake3::hash(super::pool::WORKER_SOURCE.as_bytes()).as_bytes())
}

/// The cache key of a job; `figure_format` is `svg` or `png`.
pub fn key(interpreter: &Interpreter, job: &Job, figure_format: &str) -> String {
    let third_party = job
        .programs
        .iter()
        .any(|p| crate::plan::imports_third_party(&p.code, &interpreter.stdlib));
    let mut h = super::keys::KeyHasher::new(FORMAT);
    h.field(worker_digest());
    // The build (`sys.version`: version, build date, compiler), not the
    // install path: a key made on another machine or checkout is the same.
    h.field(interpreter.full_version.as_bytes());
    h.field(figure_format.as_bytes());
    if third_party {
        h.field(interpreter.packages.as_bytes());
    }
    for p in &job.programs {
        h.field(match p.mode {
            Mode::Exec => b"exec",
            Mode::Pycon => b"pycon",
        });
        h.field(p.code.as_bytes()).field(&[p.inline as u8]);
        // The file name appears in tracebacks; the line does not count
        // (`relocate` moves a cached outcome's line numbers).
        h.field(p.file.as_os_str().as_encoded_bytes());
        h.optional(p.stdin.as_ref().map(|s| s.as_bytes()));
        h.field(&p.timeout.to_le_bytes());
        h.field(&(p.limit as u64).to_le_bytes());
    }
    h.finish()
}

/// Write `bytes` to `path` through a temporary file in the same folder and a
/// rename: readers see the old file or the new one, never a part. Creates the
/// folder (and a `.gitignore` at the top of an mdbook-python cache folder).
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// The cache folder's marker (the Cache Directory Tagging spec,
/// <https://bford.info/cachedir/>): backup tools skip the folder, and
/// `clean` deletes only a folder that carries it.
pub(crate) const MARKER: &str = "CACHEDIR.TAG";
const MARKER_TEXT: &str = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by mdbook-python.\n# For information about cache directory tags, see https://bford.info/cachedir/\n";
const GITIGNORE: &[u8] = b"# Created by mdbook-python: this folder is a cache.\n*\n";

/// Every entry the plugin writes at the top of its cache folder (a name, or
/// a prefix ending in `*`): `clean` deletes these and nothing else.
pub(crate) const OWNED: &[&str] = &[
    MARKER,
    ".gitignore",
    "results",          // result packs (`Cache`)
    "chapters.json",    // the chapter cache (`chapters`)
    "book-*",           // the book cache, one per renderer (`books`)
    "interpreter.json", // interpreter facts (`interpreter`)
    "interpreter-*",    // those of other commands (`matrix` runtimes)
    "assets",           // the front-end bundle (`render::assets`), unless `assets-dir`
    "assets.stamp",     // what the bundle was made from (`publish_assets`)
    "browser",          // browser parity: the Node driver, results and their generation (`browser`)
    "matplotlib",       // matplotlib's config folder for workers (`pool`)
    ".tmp*",            // a temporary file an interrupted write left
];

/// Whether the plugin writes `name` at the top of its cache folder.
pub(crate) fn owned(name: &str) -> bool {
    OWNED.iter().any(|o| match o.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *o,
    })
}

/// Whether `cache_dir` carries the plugin's marker.
pub(crate) fn is_marked(cache_dir: &Path) -> bool {
    std::fs::read_to_string(cache_dir.join(MARKER)).is_ok_and(|t| {
        t.starts_with("Signature: 8a477f597d28d172789f06886806bc55") && t.contains("mdbook-python")
    })
}

/// Make sure the cache folder exists. A folder the plugin creates (or an
/// older mdbook-python's, known by its `.gitignore`) gets the marker and a
/// `.gitignore` telling git to ignore it; an existing folder of someone
/// else's gets neither (so `clean` will not touch it).
pub fn prepare_dir(cache_dir: &Path) -> std::io::Result<()> {
    let created = !cache_dir.exists();
    std::fs::create_dir_all(cache_dir)?;
    let ignore = cache_dir.join(".gitignore");
    let ours =
        created || is_marked(cache_dir) || std::fs::read(&ignore).is_ok_and(|old| old == GITIGNORE);
    if !ours {
        return Ok(());
    }
    if !is_marked(cache_dir) {
        write_atomically(&cache_dir.join(MARKER), MARKER_TEXT.as_bytes())?;
    }
    if !ignore.exists() {
        write_atomically(&ignore, GITIGNORE)?;
    }
    Ok(())
}

/// What `clean` did.
#[derive(Debug, Default)]
pub(crate) struct Cleaned {
    /// The folder was removed (it held nothing else).
    pub(crate) removed: bool,
    /// Entries left because the plugin does not write them.
    pub(crate) left: Vec<std::path::PathBuf>,
}

/// Delete the plugin's entries of a marked cache folder (`OWNED`), the
/// marker last, then the folder if nothing else is in it. `Ok(None)`: no
/// such folder.
pub(crate) fn clean(cache_dir: &Path) -> Result<Option<Cleaned>, String> {
    let meta = match cache_dir.symlink_metadata() {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", cache_dir.display())),
    };
    if !meta.is_dir() || !is_marked(cache_dir) {
        return Err(format!(
            "{} is not an mdbook-python cache folder (it has no {MARKER} written by mdbook-python), so nothing was deleted",
            cache_dir.display()
        ));
    }
    let entries = std::fs::read_dir(cache_dir)
        .map_err(|e| format!("cannot read {}: {e}", cache_dir.display()))?;
    let mut cleaned = Cleaned::default();
    let mut names: Vec<std::ffi::OsString> = entries.flatten().map(|e| e.file_name()).collect();
    names.sort();
    // The marker and `.gitignore` go last, and only when nothing else is
    // left: a folder still holding someone's files stays marked and ignored.
    let keep_for_last = |n: &std::ffi::OsStr| n == MARKER || n == ".gitignore";
    for name in names.iter().filter(|n| !keep_for_last(n)) {
        let path = cache_dir.join(name);
        if name.to_str().is_some_and(owned) {
            remove(&path)?;
        } else {
            cleaned.left.push(path);
        }
    }
    if cleaned.left.is_empty() {
        for name in names.iter().filter(|n| keep_for_last(n)) {
            remove(&cache_dir.join(name))?;
        }
        std::fs::remove_dir(cache_dir)
            .map_err(|e| format!("cannot remove {}: {e}", cache_dir.display()))?;
        cleaned.removed = true;
    }
    Ok(Some(cleaned))
}

/// Create an `assets-dir` that does not exist yet, with a `.gitignore` of
/// `*` (its files are built, not written by hand).
pub(crate) fn prepare_assets_dir(dir: &Path) -> std::io::Result<()> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    write_atomically(&dir.join(".gitignore"), GITIGNORE)
}

/// Delete the two asset files of an `assets-dir` and the `.gitignore` the
/// plugin wrote there (nothing else there is the plugin's), then the folder
/// if that left it empty. `Ok(true)`: some were there.
pub(crate) fn clean_assets(dir: &Path) -> Result<bool, String> {
    use crate::render::assets::{CSS_FILE, JS_FILE};
    let mut found = false;
    let ignore = dir.join(".gitignore");
    if std::fs::read(&ignore).is_ok_and(|t| t == GITIGNORE) {
        remove(&ignore)?;
    }
    for name in [JS_FILE, CSS_FILE] {
        let path = dir.join(name);
        if path.symlink_metadata().is_ok() {
            std::fs::remove_file(&path)
                .map_err(|e| format!("cannot remove {}: {e}", path.display()))?;
            found = true;
        }
    }
    // Only an empty folder is removed (an error otherwise, ignored).
    let _ = std::fs::remove_dir(dir);
    Ok(found)
}

/// Remove a file, a symbolic link (not what it points to) or a folder.
fn remove(path: &Path) -> Result<(), String> {
    let result = match path.symlink_metadata() {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        _ => std::fs::remove_file(path),
    };
    result.map_err(|e| format!("cannot remove {}: {e}", path.display()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::Program;

    fn job(code: &str) -> Job {
        Job {
            programs: vec![Program::sample("book/a.md", 3, code)],
        }
    }

    pub(crate) fn interp() -> Interpreter {
        Interpreter {
            executable: "/usr/bin/python3".into(),
            version: (3, 11, 7),
            full_version: "3.11.7".into(),
            packages: "numpy==2.4.6".into(),
            stdlib: vec!["json".into(), "os".into(), "sys".into()],
            site_dirs: Vec::new(),
        }
    }

    #[test]
    fn key_changes_with_code_and_interpreter_only() {
        let a = key(&interp(), &job("print(1)\n"), "svg");
        assert_eq!(a, key(&interp(), &job("print(1)\n"), "svg"));
        assert_ne!(a, key(&interp(), &job("print(2)\n"), "svg"));
        assert_ne!(a, key(&interp(), &job("print(1)\n"), "png"));
        let other = Interpreter {
            full_version: "3.12.0".into(),
            ..interp()
        };
        assert_ne!(a, key(&other, &job("print(1)\n"), "svg"));
        let elsewhere = Interpreter {
            executable: "/opt/hostedtoolcache/Python/3.11.7/x64/bin/python3".into(),
            site_dirs: vec!["/opt/hostedtoolcache/site-packages".into()],
            ..interp()
        };
        assert_eq!(
            a,
            key(&elsewhere, &job("print(1)\n"), "svg"),
            "the same build installed elsewhere: the same key"
        );
    }

    #[test]
    fn installed_packages_count_only_for_third_party_imports() {
        let upgraded = Interpreter {
            packages: "numpy==2.5.0".into(),
            ..interp()
        };
        let stdlib = job("import json, os.path\nfrom sys import argv\nprint(1)\n");
        assert_eq!(
            key(&interp(), &stdlib, "svg"),
            key(&upgraded, &stdlib, "svg")
        );
        let numpy = job("import json\nimport numpy as np\nprint(np.pi)\n");
        assert_ne!(key(&interp(), &numpy, "svg"), key(&upgraded, &numpy, "svg"));
        assert_eq!(
            crate::plan::imports(
                "import a.b, c as d\n  from e.f import (g)\nfrom . import h\nx = 1\n"
            ),
            vec!["a", "c", "e"]
        );
    }

    #[test]
    fn packs_pile_up_then_merge() {
        let dir = tempfile::tempdir().unwrap();
        let o = Outcome {
            output: "x".into(),
            ..Outcome::failed(crate::execute::Failure::NotRun)
        };
        for i in 0..(MAX_PACKS + 2) {
            let cache = Cache::new(dir.path());
            cache.put(&format!("{i:064}"), std::slice::from_ref(&o));
            cache.flush();
        }
        let packs = std::fs::read_dir(dir.path().join("results"))
            .unwrap()
            .count();
        assert!(packs <= MAX_PACKS, "{packs} packs");
        let cache = Cache::new(dir.path());
        for i in 0..(MAX_PACKS + 2) {
            assert!(
                cache.get(&format!("{i:064}"), 1).is_some(),
                "result {i} kept through merges"
            );
        }
    }

    #[test]
    fn round_trip_and_damaged_entries() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path());
        let k = key(&interp(), &job("x"), "svg");
        assert!(cache.get(&k, 1).is_none());
        let o = Outcome {
            output: "hi\n".into(),
            truncated: false,
            exception: None,
            examples: vec![],
            failure: None,
            rich: vec![],
            prints: vec![],
            cached: false,
            first_line: 0,
        };
        cache.put(&k, std::slice::from_ref(&o));
        assert!(cache.get(&k, 1).is_none(), "written at flush");
        cache.flush();
        let cache = Cache::new(dir.path());
        let got = cache.get(&k, 1).unwrap();
        assert_eq!(got[0].output, "hi\n");
        assert!(got[0].cached);
        assert!(cache.get(&k, 2).is_none(), "wrong length is a miss");
        for e in std::fs::read_dir(dir.path().join("results")).unwrap() {
            std::fs::write(e.unwrap().path(), b"{not json").unwrap();
        }
        let cache = Cache::new(dir.path());
        assert!(cache.get(&k, 1).is_none(), "a damaged entry is a miss");
    }
}
