//! Files that `bless` and `init` rewrite keep everything but the bytes they
//! change: permissions, symbolic links, CRLF line endings.

use crate::harness::{BOOK_TOML, BookTest, cli_ok};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const WRONG: &str = "# A\n\n```python\nprint('right')\n```\n\n```output\nwrong\n```\n";

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn bless_keeps_a_chapters_mode() {
    let t = BookTest::with(BOOK_TOML, &[("a.md", WRONG), ("b.md", WRONG)]);
    set_mode(&t.root().join("src/a.md"), 0o644);
    set_mode(&t.root().join("src/b.md"), 0o755);
    cli_ok("bless", t.root());
    assert_eq!(t.read("src/a.md"), WRONG.replace("wrong", "right"));
    assert_eq!(t.read("src/b.md"), WRONG.replace("wrong", "right"));
    assert_eq!(mode(&t.root().join("src/a.md")), 0o644);
    assert_eq!(mode(&t.root().join("src/b.md")), 0o755);
}

#[test]
fn bless_keeps_a_symlinked_chapter_a_link() {
    let t = BookTest::chapter(WRONG);
    std::fs::create_dir(t.root().join("shared")).unwrap();
    std::fs::rename(t.root().join("src/a.md"), t.root().join("shared/a.md")).unwrap();
    std::os::unix::fs::symlink("../shared/a.md", t.root().join("src/a.md")).unwrap();
    cli_ok("bless", t.root());
    let link = t.root().join("src/a.md");
    assert!(link.symlink_metadata().unwrap().is_symlink());
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("../shared/a.md")
    );
    assert_eq!(t.read("shared/a.md"), WRONG.replace("wrong", "right"));
}

#[test]
fn init_keeps_the_mode_of_book_toml() {
    for m in [0o644, 0o755] {
        let t = BookTest::chapter("# A\n");
        t.write("book.toml", "[book]\ntitle = \"test\"\n");
        set_mode(&t.root().join("book.toml"), m);
        cli_ok("init", t.root());
        assert!(t.read("book.toml").contains("[preprocessor.python]"));
        assert_eq!(mode(&t.root().join("book.toml")), m);
    }
}

#[test]
fn init_keeps_a_symlinked_book_toml_a_link() {
    let t = BookTest::chapter("# A\n");
    t.write("shared.toml", "[book]\ntitle = \"test\"\n");
    std::fs::remove_file(t.root().join("book.toml")).unwrap();
    std::os::unix::fs::symlink("shared.toml", t.root().join("book.toml")).unwrap();
    cli_ok("init", t.root());
    let link = t.root().join("book.toml");
    assert!(link.symlink_metadata().unwrap().is_symlink());
    assert!(t.read("shared.toml").contains("[preprocessor.python]"));
}

#[test]
fn init_keeps_crlf_line_endings() {
    let t = BookTest::chapter("# A\n");
    t.write(
        "book.toml",
        "# My book\r\n[book]\r\ntitle = \"test\"  # keep me\r\n",
    );
    cli_ok("init", t.root());
    let toml = t.read("book.toml");
    assert!(
        toml.starts_with("# My book\r\n[book]\r\ntitle = \"test\"  # keep me\r\n"),
        "{toml:?}"
    );
    assert!(toml.contains("[preprocessor.python]\r\n"), "{toml:?}");
    assert_eq!(
        toml.matches('\n').count(),
        toml.matches("\r\n").count(),
        "{toml:?}"
    );
    t.build().unwrap();
}
#[test]
fn bless_keeps_crlf_in_the_blocks_it_writes() {
    let chapter = "# A\r\n\r\n```python\r\nprint('one')\r\nprint('two')\r\n```\r\n\r\n```output\r\nwrong\r\n```\r\n\r\n```python\r\nx = 1\r\n```\r\n\r\n```output\r\nstale\r\n```\r\n";
    let t = BookTest::chapter(chapter);
    cli_ok("bless", t.root());
    assert_eq!(
        t.read("src/a.md"),
        chapter
            .replace("wrong\r\n", "one\r\ntwo\r\n")
            .replace("stale\r\n", "")
    );
}

#[test]
fn bless_keeps_a_chapters_owner_where_it_may() {
    use std::os::unix::fs::MetadataExt;
    let t = BookTest::chapter(WRONG);
    let path = t.root().join("src/a.md");
    // Only root may give a file away (the test then checks that bless keeps
    // the new owner); others own their files anyway.
    let _ = std::os::unix::fs::chown(&path, Some(1234), Some(1234));
    let owner = |p: &Path| {
        let m = std::fs::metadata(p).unwrap();
        (m.uid(), m.gid())
    };
    let before = owner(&path);
    cli_ok("bless", t.root());
    assert_eq!(t.read("src/a.md"), WRONG.replace("wrong", "right"));
    assert_eq!(owner(&path), before);
}
