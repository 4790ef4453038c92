//! The chapter cache: for a warm rebuild, the rendered Markdown of every
//! chapter that did not change, keyed by everything its rendering depends on
//! (the chapter's text and path, the renderer, the config, the interpreter,
//! the worker, quiz files it includes, the browser-parity results). One file,
//! `<cache-dir>/chapters.json`, read once and rewritten atomically when new
//! chapters were rendered; two builds at once can only lose each other's
//! entries, which the next build recomputes from the result cache.

use super::keys::KeyHasher;
use crate::config::Config;
use crate::execute::Interpreter;
use crate::render::Target;
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

/// Part of every chapter's key: changed whenever rendering changes within
/// one package version, so no chapter rendered the old way is reused
/// (issue 19: visible control characters, escaped Markdown, written lines;
/// issue 23: labels naming the build Python, block lines in the page data).
const RENDERING: &str = "issue-23";

/// Everything rendering a chapter reads besides the chapter itself: the
/// part of the chapter cache's key that every chapter of a build shares.
#[derive(Clone, Copy)]
pub(crate) struct ChapterKey<'a> {
    /// The plugin's binary (its code, the worker, the front end; see
    /// `books::exe_stamp`): a rebuilt plugin renders afresh.
    pub binary: &'a str,
    pub config: &'a Config,
    pub target: Target,
    /// The source folder as messages name it.
    pub src: &'a Path,
    pub interpreter: &'a Interpreter,
    /// The browser results' generation (`browser::generation`): their
    /// findings become notes on the page.
    pub browser: &'a str,
}

impl ChapterKey<'_> {
    /// The shared inputs, hashed once per build (the config's and the
    /// interpreter's text, its stdlib list among them, cost a warm
    /// 2,000-snippet build 1.4 ms when hashed for every chapter).
    pub fn shared(&self) -> ChapterKeys {
        let mut h = KeyHasher::new(concat!(
            "mdbook-python chapter v3 ",
            env!("CARGO_PKG_VERSION")
        ));
        h.field(RENDERING.as_bytes()).field(self.binary.as_bytes());
        h.field(format!("{:?}\0{:?}", self.config, self.target).as_bytes());
        h.field(self.src.as_os_str().as_encoded_bytes());
        h.field(format!("{:?}", self.interpreter).as_bytes());
        h.field(self.browser.as_bytes());
        ChapterKeys(h)
    }
}

/// `ChapterKey::shared`, ready for each chapter's own inputs.
pub(crate) struct ChapterKeys(KeyHasher);

impl ChapterKeys {
    /// The key of the chapter `source` with `text`, including `quiz_files`
    /// (the text of each quiz file it includes).
    pub fn key(&self, source: &str, text: &str, quiz_files: &[String]) -> String {
        let mut h = self.0.clone();
        h.field(source.as_bytes()).field(text.as_bytes());
        for q in quiz_files {
            h.field(q.as_bytes());
        }
        h.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_input_of_a_chapter_changes_its_key() {
        let config = Config::default();
        let interpreter = crate::execute::cache::tests::interp();
        let quiz = vec!["[[questions]]".to_string()];
        let base = ChapterKey {
            binary: "exe 1",
            config: &config,
            target: Target::Html,
            src: Path::new("src"),
            interpreter: &interpreter,
            browser: "",
        };
        let of = |k: ChapterKey| k.shared().key("a.md", "# A", &quiz);
        let key = of(base);
        assert_eq!(key, of(ChapterKey { ..base }));
        let other_config = Config {
            timeout: 3.0,
            ..Config::default()
        };
        let other_interpreter = Interpreter {
            full_version: "3.12.1".into(),
            ..interpreter.clone()
        };
        let other_quiz = vec!["[[questions]]\n".to_string()];
        let changed = [
            of(ChapterKey {
                binary: "exe 2",
                ..base
            }),
            of(ChapterKey {
                config: &other_config,
                ..base
            }),
            of(ChapterKey {
                target: Target::Text,
                ..base
            }),
            of(ChapterKey {
                src: Path::new("book/src"),
                ..base
            }),
            of(ChapterKey {
                interpreter: &other_interpreter,
                ..base
            }),
            // New browser results (another generation): their notes change the page.
            of(ChapterKey {
                browser: "1733300000.1",
                ..base
            }),
            base.shared().key("b.md", "# A", &quiz),
            base.shared().key("a.md", "# B", &quiz),
            base.shared().key("a.md", "# A", &other_quiz),
            base.shared().key("a.md", "# A", &[]),
        ];
        for (i, k) in changed.iter().enumerate() {
            assert_ne!(*k, key, "input {i} is not in the key");
        }
        // One shared part serves every chapter: a key never depends on
        // the chapters keyed before it.
        let shared = base.shared();
        assert_ne!(shared.key("b.md", "# B", &[]), key);
        assert_eq!(shared.key("a.md", "# A", &quiz), key);
    }

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
    }
}
