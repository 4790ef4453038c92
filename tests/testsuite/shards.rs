//! `check --shard K/N` on several "runners" (separate copies of a book,
//! separate user caches, so separate per-user seal keys) and the merge of
//! their `results/` folders: with a shared `MDBOOK_PYTHON_SEAL_KEY` the
//! merged cache answers every job; without it, nothing from elsewhere
//! verifies.

use crate::harness::{BOOK_TOML, BookTest, bin};
use std::path::Path;
use std::process::Command;

const SECRET: &str = "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90";
const JOBS: usize = 16;

/// A book of `JOBS` independent blocks, each with its `output`, and a
/// quiz-free second chapter; the same text in every copy.
fn book() -> BookTest {
    let mut chapter = String::from("# Sharded\n\n");
    for i in 0..JOBS {
        chapter.push_str(&format!(
            "```python\nprint({i} * 3)\n```\n\n```output\n{}\n```\n\n",
            i * 3
        ));
    }
    BookTest::with(BOOK_TOML, &[("a.md", &chapter)])
}

/// `mdbook-python check [extra] BOOK` as a runner with its own home: the
/// exit code and stderr.
fn check(book: &Path, home: &Path, extra: &[&str], key: Option<&str>) -> (i32, String) {
    let mut cmd = Command::new(bin());
    cmd.arg("check")
        .args(extra)
        .arg(book)
        .env("XDG_CACHE_HOME", home)
        .env_remove("MDBOOK_PYTHON_SEAL_KEY");
    if let Some(k) = key {
        cmd.env("MDBOOK_PYTHON_SEAL_KEY", k);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The `N run` of a summary line.
fn ran(stderr: &str) -> usize {
    let line = stderr
        .lines()
        .find(|l| l.contains(" snippets, "))
        .unwrap_or_else(|| panic!("no summary line in:\n{stderr}"));
    let after = line.split(" snippets, ").nth(1).unwrap();
    after.split(" run").next().unwrap().parse().unwrap()
}

/// Copy every pack of `from`'s results into `into`'s results (a plain union).
fn merge(from: &Path, into: &Path) {
    let dst = into.join(".mdbook-python/results");
    std::fs::create_dir_all(&dst).unwrap();
    for e in std::fs::read_dir(from.join(".mdbook-python/results")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dst.join(e.file_name())).unwrap();
    }
}

#[test]
fn two_shards_merged_leave_nothing_to_run() {
    let runners = [book(), book()];
    let homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut total = 0;
    for (i, (runner, home)) in runners.iter().zip(&homes).enumerate() {
        let shard = format!("{}/2", i + 1);
        let (code, err) = check(
            runner.root(),
            home.path(),
            &["--shard", &shard],
            Some(SECRET),
        );
        assert_eq!(code, 0, "{err}");
        assert!(err.contains(&format!("shard {shard}: ")), "{err}");
        let n = ran(&err);
        assert!(n > 0 && n < JOBS, "each shard runs a part: {n}\n{err}");
        total += n;
    }
    assert_eq!(total, JOBS, "the shards are disjoint and cover every job");

    // A third runner: the union of the two results folders, then a check.
    let merged = book();
    let home = tempfile::tempdir().unwrap();
    for runner in &runners {
        merge(runner.root(), merged.root());
    }
    let (code, err) = check(merged.root(), home.path(), &[], Some(SECRET));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!("{JOBS} snippets, 0 run, {JOBS} cached, 0 failed")),
        "{err}"
    );

    // The last CI step, a build of the merged cache, runs nothing either.
    let out = Command::new(bin())
        .arg("build")
        .arg(merged.root())
        .env("XDG_CACHE_HOME", home.path())
        .env("MDBOOK_PYTHON_SEAL_KEY", SECRET)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains(&format!("{JOBS} snippets, 0 run, {JOBS} cached, 0 failed")),
        "{err}"
    );

    // Without the shared key, packs sealed elsewhere do not verify.
    let stranger = book();
    for runner in &runners {
        merge(runner.root(), stranger.root());
    }
    let (code, err) = check(
        stranger.root(),
        tempfile::tempdir().unwrap().path(),
        &[],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(ran(&err), JOBS, "foreign packs are misses:\n{err}");
}

#[test]
fn a_shard_is_k_of_n() {
    let b = book();
    let home = tempfile::tempdir().unwrap();
    for bad in ["0/2", "3/2", "2", "a/b"] {
        let (code, err) = check(b.root(), home.path(), &["--shard", bad], None);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("write K/N with 1 <= K <= N"), "{err}");
    }
    let (code, err) = check(b.root(), home.path(), &["--shard", "1/1"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(ran(&err), JOBS, "1/1 is everything");
}

#[test]
fn a_short_shared_key_is_refused_aloud() {
    let b = book();
    let home = tempfile::tempdir().unwrap();
    let (code, err) = check(b.root(), home.path(), &[], Some("hunter2"));
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("MDBOOK_PYTHON_SEAL_KEY is ignored: it holds 7 characters"),
        "{err}"
    );
}
