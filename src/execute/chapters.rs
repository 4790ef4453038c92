//! The chapter cache: for a warm rebuild, the rendered Markdown of every
//! chapter that did not change, keyed by everything its rendering depends on
//! (the chapter's text and path, the renderer, the config, the interpreter,
//! the worker, quiz files it includes, the browser-parity results). One file,
//! `<cache-dir>/chapters.json`, read once and rewritten atomically when new
//! chapters were rendered; two builds at once can only lose each other's
//! entries, which the next build recomputes from the result cache.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A rendered chapter and how many programs it accounts for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rendered {
    pub content: String,
    pub programs: usize,
    /// What the chapter adds to the build summary's notes.
    #[serde(default)]
    pub notes: crate::plan::Notes,
}

pub struct Chapters {
    path: PathBuf,
    known: HashMap<String, Rendered>,
    fresh: HashMap<String, Rendered>,
}

impl Chapters {
    pub fn open(cache_dir: &Path) -> Self {
        let path = cache_dir.join("chapters.json");
        let known = super::seal::read(&path)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Chapters {
            path,
            known,
            fresh: HashMap::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Rendered> {
        self.known.get(key)
    }

    pub fn put(&mut self, key: String, rendered: Rendered) {
        self.fresh.insert(key, rendered);
    }

    /// Write the chapters rendered this build, keeping only entries that were
    /// used or made now (so the file never grows without bound).
    pub fn flush(mut self, used: &[String]) {
        if self.fresh.is_empty() {
            return;
        }
        for k in used {
            if let Some(r) = self.known.remove(k) {
                self.fresh.entry(k.clone()).or_insert(r);
            }
        }
        if let Ok(json) = serde_json::to_vec(&self.fresh) {
            let _ = super::seal::write(&self.path, &json);
        }
    }
}

/// The key of a chapter: a BLAKE3 of the given parts, each length-prefixed.
pub fn key(parts: &[&[u8]]) -> String {
    let mut h = blake3::Hasher::new();
    h.update(b"mdbook-python chapter v2");
    h.update(env!("CARGO_PKG_VERSION").as_bytes());
    for p in parts {
        h.update(&(p.len() as u64).to_le_bytes());
        h.update(p);
    }
    h.finalize().to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_pruning() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Chapters::open(dir.path());
        c.put(
            "a".into(),
            Rendered {
                content: "A".into(),
                programs: 1,
                notes: Default::default(),
            },
        );
        c.put(
            "b".into(),
            Rendered {
                content: "B".into(),
                programs: 2,
                notes: Default::default(),
            },
        );
        c.flush(&[]);
        let mut c = Chapters::open(dir.path());
        assert_eq!(c.get("a").map(|r| r.content.as_str()), Some("A"));
        c.put(
            "c".into(),
            Rendered {
                content: "C".into(),
                programs: 0,
                notes: Default::default(),
            },
        );
        c.flush(&["a".to_string()]);
        let c = Chapters::open(dir.path());
        assert!(c.get("a").is_some() && c.get("c").is_some());
        assert!(c.get("b").is_none(), "unused entries are dropped");
        assert_ne!(key(&[b"x"]), key(&[b"y"]));
        assert_ne!(key(&[b"ab", b"c"]), key(&[b"a", b"bc"]));
    }
}
