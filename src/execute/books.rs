//! The book cache: for a rebuild where nothing changed, the whole answer the
//! preprocessor gave mdBook last time, so that a warm `mdbook build` parses,
//! plans and serialises nothing. One file per renderer,
//! `<cache-dir>/book-<renderer>`: a header line (JSON: the key, the counts
//! the summary line needs, and the files outside the book the answer read,
//! such as quiz files, with their hashes) and then the answer's bytes. The
//! key covers mdBook's whole input (context and book), the plugin binary, the
//! interpreter and the browser-parity results; the files are checked one by
//! one. Written atomically after a build with no diagnostic at all; a file
//! that does not parse is a miss.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything mdBook's answer depends on: the book cache's key.
pub(crate) struct BookKey<'a> {
    /// The plugin's binary (`exe_stamp`).
    pub binary: &'a str,
    pub interpreter: &'a crate::execute::Interpreter,
    /// The browser results' generation (`browser::generation`).
    pub browser: &'a str,
    /// mdBook's whole input: the context (config, renderer, root) and the
    /// book.
    pub input: &'a [u8],
}

impl BookKey<'_> {
    pub fn hash(&self) -> String {
        let mut h = super::keys::KeyHasher::new(concat!(
            "mdbook-python book v2 ",
            env!("CARGO_PKG_VERSION")
        ));
        h.field(self.binary.as_bytes());
        h.field(format!("{:?}", self.interpreter).as_bytes());
        h.field(self.browser.as_bytes()).field(self.input);
        h.finish()
    }
}

/// What a replay needs besides the answer itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub key: String,
    /// Programs the answer accounts for (all cached on a replay).
    pub programs: usize,
    /// The browser-parity summary line, when the build printed one.
    pub browser: Option<String>,
    /// Files outside the book that the answer read, with `file_hash`.
    pub inputs: Vec<(PathBuf, String)>,
    /// The build summary's notes.
    #[serde(default)]
    pub notes: crate::plan::Notes,
}

fn path_of(cache_dir: &Path, renderer: &str) -> PathBuf {
    let safe: String = renderer
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    cache_dir.join(format!("book-{safe}"))
}

/// The stored answer for `renderer` when its key is `key` and every input
/// file is unchanged.
pub fn load(cache_dir: &Path, renderer: &str, key: &str) -> Option<(Entry, Vec<u8>)> {
    let mut bytes = super::seal::read(&path_of(cache_dir, renderer))?;
    let newline = bytes.iter().position(|&b| b == b'\n')?;
    let entry: Entry = serde_json::from_slice(&bytes[..newline]).ok()?;
    if entry.key != key
        || entry
            .inputs
            .iter()
            .any(|(path, hash)| file_hash(path) != *hash)
    {
        return None;
    }
    bytes.drain(..=newline);
    Some((entry, bytes))
}

/// Store the answer for `renderer` (best effort: a cache that cannot be
/// written only costs the next build its shortcut).
pub fn store(cache_dir: &Path, renderer: &str, entry: &Entry, answer: &[u8]) {
    let Ok(mut bytes) = serde_json::to_vec(entry) else {
        return;
    };
    bytes.push(b'\n');
    bytes.extend_from_slice(answer);
    let _ = super::seal::write(&path_of(cache_dir, renderer), &bytes);
}

/// A file's BLAKE3, or `-` when it cannot be read (so creating it later
/// changes the hash too).
pub fn file_hash(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(b) => blake3::hash(&b).to_hex().to_string(),
        Err(_) => "-".to_string(),
    }
}

/// The running binary, by path, size and modification time: a rebuilt or
/// reinstalled plugin renders afresh.
pub fn exe_stamp() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let meta = std::fs::metadata(&exe).ok();
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "{}\0{}\0{mtime}",
        exe.display(),
        meta.map_or(0, |m| m.len())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_answer_comes_back_only_under_its_key_with_its_inputs_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let quiz = dir.path().join("q.toml");
        std::fs::write(&quiz, "a").unwrap();
        let entry = Entry {
            key: "k1".into(),
            programs: 3,
            browser: None,
            inputs: vec![(quiz.clone(), file_hash(&quiz))],
            notes: Default::default(),
        };
        store(dir.path(), "html", &entry, b"{\"items\":[]}\n");
        let (got, answer) = load(dir.path(), "html", "k1").unwrap();
        assert_eq!((got, answer.as_slice()), (entry, &b"{\"items\":[]}\n"[..]));
        assert!(load(dir.path(), "html", "k2").is_none(), "another key");
        assert!(
            load(dir.path(), "markdown", "k1").is_none(),
            "another renderer"
        );
        std::fs::write(&quiz, "b").unwrap();
        assert!(load(dir.path(), "html", "k1").is_none(), "an input changed");
        std::fs::write(path_of(dir.path(), "html"), b"not json\n{}").unwrap();
        assert!(load(dir.path(), "html", "k1").is_none(), "damaged");
        assert_eq!(file_hash(&dir.path().join("missing")), "-");
    }
}
