//! `cache-dir` is a folder of the plugin's own: a dangerous value is a config
//! error for builds and `clean` alike, and `clean` deletes only what the
//! plugin wrote. Each case compares the whole book, and the folder around
//! it, before and after.

use std::path::{Path, PathBuf};

/// A book in `parent/book` (with a `.git` folder and a chapter), next to a
/// file and a folder of someone else's.
struct Site {
    parent: tempfile::TempDir,
}

impl Site {
    fn new(cache_dir: Option<&str>) -> Site {
        let parent = tempfile::tempdir().unwrap();
        let p = parent.path();
        for (rel, text) in [
            ("book/src/SUMMARY.md", "# Summary\n\n- [A](a.md)\n"),
            ("book/src/a.md", "# A\n\n```python\nprint(1)\n```\n"),
            ("book/.git/HEAD", "ref: refs/heads/main\n"),
            ("book/notes.txt", "mine\n"),
            ("sibling.txt", "next to the book\n"),
            ("outside/keep.txt", "someone else's folder\n"),
        ] {
            std::fs::create_dir_all(p.join(rel).parent().unwrap()).unwrap();
            std::fs::write(p.join(rel), text).unwrap();
        }
        let key = cache_dir.map_or(String::new(), |c| format!("cache-dir = {c:?}\n"));
        std::fs::write(
            p.join("book/book.toml"),
            format!("[book]\ntitle = \"t\"\n\n[preprocessor.python]\njobs = 1\n{key}"),
        )
        .unwrap();
        Site { parent }
    }

    fn book(&self) -> PathBuf {
        self.parent.path().join("book")
    }

    /// Run `mdbook-python <command> book` with `env`: exit code and stderr.
    fn run(&self, command: &str, env: &[(&str, &str)]) -> (i32, String) {
        crate::harness::cli(command, &self.book(), env)
    }

    /// Every path under the parent folder, with its bytes (or link target).
    fn tree(&self) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut stack = vec![self.parent.path().to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                let meta = p.symlink_metadata().unwrap();
                let what = if meta.is_symlink() {
                    format!("-> {}", std::fs::read_link(&p).unwrap().display())
                } else if meta.is_dir() {
                    stack.push(p.clone());
                    "dir".to_string()
                } else {
                    String::from_utf8_lossy(&std::fs::read(&p).unwrap()).into_owned()
                };
                out.push((p.strip_prefix(self.parent.path()).unwrap().into(), what));
            }
        }
        out.sort();
        out
    }

    /// `check` and `clean` (and, without `env`, an mdBook build) all refuse
    /// with `error` (the first lines of the diagnostic) and change nothing
    /// anywhere.
    fn assert_refused(&self, env: &[(&str, &str)], error: &str) {
        let before = self.tree();
        if env.is_empty() {
            let out = tempfile::tempdir().unwrap();
            let mut md = mdbook_driver::MDBook::load(self.book()).unwrap();
            md.config.build.build_dir = out.path().to_path_buf();
            md.with_preprocessor(mdbook_python::PythonPreprocessor::new(Default::default()));
            let e = md.build().unwrap_err();
            assert!(format!("{e:#}").contains("1 error (see above)"), "{e:#}");
            assert_eq!(self.tree(), before);
        }
        let (code, err) = self.run("check", env);
        assert_eq!(code, 1, "{err}");
        assert!(err.starts_with(error), "check:\n{err}\nwanted:\n{error}");
        let (code, err) = self.run("clean", env);
        assert_eq!(code, 1, "{err}");
        assert!(err.starts_with(error), "clean:\n{err}\nwanted:\n{error}");
        assert!(
            err.ends_with("mdbook-python: nothing was deleted\n"),
            "{err}"
        );
        assert_eq!(self.tree(), before);
    }
}

const HELP: &str = "   = help: set `cache-dir` to a folder of its own inside the book, e.g. `.mdbook-python` (the default): `mdbook-python clean` deletes it\n";

#[test]
fn cache_dir_src_is_refused() {
    Site::new(Some("src")).assert_refused(
        &[],
        &format!("error: `preprocessor.python.cache-dir` = \"src\" is the book's source folder\n  --> book.toml:6\n{HELP}"),
    );
}

#[test]
fn cache_dir_dot_is_refused() {
    Site::new(Some(".")).assert_refused(
        &[],
        &format!("error: `preprocessor.python.cache-dir` = \".\" is the book's folder itself\n  --> book.toml:6\n{HELP}"),
    );
}

#[test]
fn cache_dir_dot_dot_is_refused() {
    Site::new(Some("..")).assert_refused(
        &[],
        &format!("error: `preprocessor.python.cache-dir` = \"..\" leads out of the book's folder\n  --> book.toml:6\n{HELP}"),
    );
}

#[test]
fn an_absolute_cache_dir_is_refused() {
    let site = Site::new(None);
    let outside = site.parent.path().join("outside");
    let toml = format!(
        "[book]\ntitle = \"t\"\n\n[preprocessor.python]\njobs = 1\ncache-dir = {:?}\n",
        outside.display().to_string()
    );
    std::fs::write(site.book().join("book.toml"), toml).unwrap();
    site.assert_refused(
        &[],
        &format!("error: `preprocessor.python.cache-dir` = \"{}\" is an absolute path, not a folder inside the book\n  --> book.toml:6\n{HELP}", outside.display()),
    );
}

#[test]
fn a_cache_dir_inside_src_is_refused() {
    Site::new(Some("src/cache")).assert_refused(
        &[],
        &format!("error: `preprocessor.python.cache-dir` = \"src/cache\" is inside the book's source folder `src`\n  --> book.toml:6\n{HELP}"),
    );
}

#[test]
fn a_cache_dir_from_the_environment_is_checked_too() {
    Site::new(None).assert_refused(
        &[("MDBOOK_PREPROCESSOR__PYTHON__CACHE_DIR", "src")],
        "error: `MDBOOK_PREPROCESSOR__PYTHON__CACHE_DIR` = \"src\" (which overrides `preprocessor.python.cache-dir`) is the book's source folder\n  --> book.toml\n   = help: set `MDBOOK_PREPROCESSOR__PYTHON__CACHE_DIR` to a folder of its own inside the book, e.g. `.mdbook-python` (the default): `mdbook-python clean` deletes it\n",
    );
}

#[test]
fn a_cache_dir_linked_out_of_the_book_is_refused() {
    let site = Site::new(Some("link"));
    std::os::unix::fs::symlink(site.parent.path().join("outside"), site.book().join("link"))
        .unwrap();
    let real = std::fs::canonicalize(site.parent.path().join("outside")).unwrap();
    site.assert_refused(
        &[],
        &format!("error: `preprocessor.python.cache-dir` = \"link\" is a symbolic link that leads out of the book (to `{}`)\n  --> book.toml:6\n{HELP}", real.display()),
    );
}

fn marked(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("CACHEDIR.TAG"))
        .is_ok_and(|t| t.starts_with("Signature: 8a477f597d28d172789f06886806bc55\n"))
}

#[test]
fn clean_deletes_only_what_the_plugin_wrote() {
    let site = Site::new(None);
    let before = site.tree();
    let (code, err) = site.run("check", &[]);
    assert_eq!(code, 0, "{err}");
    let cache = site.book().join(".mdbook-python");
    assert!(marked(&cache));
    assert_eq!(
        std::fs::read_to_string(cache.join(".gitignore")).unwrap(),
        "# Created by mdbook-python: this folder is a cache.\n*\n"
    );
    std::fs::write(cache.join("mine.txt"), "not a cache file\n").unwrap();
    let (code, err) = site.run("clean", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        err,
        format!(
            "mdbook-python: left {}: not written by mdbook-python\nmdbook-python: removed the cache in {} (the folder stays for what is left)\n",
            cache.join("mine.txt").display(),
            cache.display()
        )
    );
    let mut left: Vec<String> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".gitignore", "CACHEDIR.TAG", "mine.txt"]);
    std::fs::remove_file(cache.join("mine.txt")).unwrap();
    let (code, err) = site.run("clean", &[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, format!("mdbook-python: removed {}\n", cache.display()));
    assert_eq!(site.tree(), before);
}

#[test]
fn clean_refuses_a_folder_without_the_marker() {
    let site = Site::new(Some("outside-of-mine"));
    let folder = site.book().join("outside-of-mine");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(folder.join("results"), "a file of the author's\n").unwrap();
    let (code, err) = site.run("clean", &[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        err,
        format!(
            "mdbook-python: {} is not an mdbook-python cache folder (it has no CACHEDIR.TAG written by mdbook-python), so nothing was deleted\n",
            folder.display()
        )
    );
    // A build writes its files there but does not claim the folder.
    let (code, err) = site.run("check", &[]);
    assert_eq!(code, 0, "{err}");
    assert!(!marked(&folder) && !folder.join(".gitignore").exists());
    assert_eq!(
        std::fs::read_to_string(folder.join("results")).unwrap(),
        "a file of the author's\n"
    );
    let (code, _) = site.run("clean", &[]);
    assert_eq!(code, 1);
}

/// `assets-dir`: the front-end assets in a folder without a leading dot
/// (hosts such as Firebase drop dot-folders from a site); the output holds
/// them there, nothing of the plugin's is published under a dot-folder, and
/// `clean` removes them.
#[test]
fn assets_dir_publishes_the_assets_under_a_name_without_a_dot() {
    let toml = "[book]\ntitle = \"t\"\n\n[preprocessor.python]\njobs = 1\nassets-dir = \"mdbook-python-assets\"\n\n[output.html]\nadditional-js = [\"mdbook-python-assets/mdbook-python.js\"]\nadditional-css = [\"mdbook-python-assets/mdbook-python.css\"]\n";
    let t = crate::harness::BookTest::with(toml, &[("a.md", "# A\n\n```python\nprint(1)\n```\n")]);
    t.build().unwrap();
    let out = t.root().join("out");
    let assets = t.root().join("mdbook-python-assets");
    assert!(assets.join("mdbook-python.js").is_file());
    assert!(assets.join("mdbook-python.css").is_file());
    assert_eq!(
        t.read("mdbook-python-assets/.gitignore"),
        t.read(".mdbook-python/.gitignore")
    );
    assert!(
        !t.root().join(".mdbook-python/assets").exists(),
        "not also in the cache folder"
    );
    // Without a leading dot, mdBook also fingerprints them (`name-hash.js`).
    let published: Vec<String> = std::fs::read_dir(out.join("mdbook-python-assets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let js = published
        .iter()
        .find(|n| n.starts_with("mdbook-python-") && n.ends_with(".js"));
    let css = published
        .iter()
        .find(|n| n.starts_with("mdbook-python-") && n.ends_with(".css"));
    let (Some(js), Some(_)) = (js, css) else {
        panic!("not published: {published:?}");
    };
    assert!(
        !out.join(".mdbook-python").exists(),
        "no dot-folder in the output"
    );
    let page = t.read("out/a.html");
    assert!(
        page.contains(&format!("src=\"mdbook-python-assets/{js}\"")),
        "{page}"
    );

    let (code, err) = crate::harness::cli("clean", t.root(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed the assets in"), "{err}");
    assert!(!t.root().join("mdbook-python-assets").exists(), "{err}");
}

#[test]
fn an_assets_dir_in_src_is_refused() {
    let site = Site::new(None);
    let toml = site.book().join("book.toml");
    let text = std::fs::read_to_string(&toml).unwrap() + "assets-dir = \"src/assets\"\n";
    std::fs::write(&toml, text).unwrap();
    let (code, err) = site.run("check", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("`preprocessor.python.assets-dir` = \"src/assets\" is inside the book's source folder `src`"),
        "{err}"
    );
}
