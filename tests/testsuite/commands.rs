//! The command line: the preprocessor protocol on stdin/stdout, `supports`,
//! `check`, `bless` and `clean`.

use crate::harness::{BookTest, bin};
use std::io::Write;
use std::process::{Command, Stdio};

fn run_with_stdin(args: &[&str], stdin: &str) -> (i32, String, String) {
    run_with_stdin_env(args, stdin, &[])
}

fn run_with_stdin_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn malformed_stdin_is_one_line_and_exit_1() {
    let (code, out, err) = run_with_stdin(&[], "{not json");
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        "mdbook-python: the input on stdin is not the JSON mdBook sends (key must be a string at line 1 column 2); this command is run by `mdbook build`, see `mdbook-python --help`\n"
    );
}

#[test]
fn an_incompatible_mdbook_is_named() {
    let input = r#"[{"root": "/x", "config": {}, "renderer": "html", "mdbook_version": "0.4.40"}, {"sections": [], "__non_exhaustive": null}]"#;
    let (code, _, err) = run_with_stdin(&[], input);
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "mdbook-python: mdbook-python 0.1.0 works with mdBook 0.5 (built against mdbook-preprocessor 0.5.4), but it is being run by mdBook 0.4.40; install mdBook 0.5 with `cargo install mdbook --version 0.5.4 --locked`\n"
    );
}

#[test]
fn supports_every_renderer() {
    for r in ["html", "markdown", "epub"] {
        let status = Command::new(bin()).args(["supports", r]).status().unwrap();
        assert!(status.success());
    }
}

#[test]
fn the_protocol_round_trips_a_book() {
    let t = BookTest::chapter("```python\nprint(2 + 2)\n```\n");
    let md = mdbook_driver::MDBook::load(t.root()).unwrap();
    let ctx = mdbook_preprocessor::PreprocessorContext::new(
        md.root.clone(),
        md.config.clone(),
        "html".into(),
    );
    let input = serde_json::to_string(&(&ctx, &md.book)).unwrap();
    let (code, out, err) = run_with_stdin(&[], &input);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("```text\\n4\\n```"), "{out}");
    assert!(
        err.starts_with("mdbook-python: 1 snippets, 1 run, 0 cached, 0 failed ("),
        "{err}"
    );
}

/// mdBook's input for `t`, as `mdbook build` sends it to the html renderer's preprocessors.
fn protocol_input(t: &BookTest) -> String {
    let md = mdbook_driver::MDBook::load(t.root()).unwrap();
    let ctx = mdbook_preprocessor::PreprocessorContext::new(
        md.root.clone(),
        md.config.clone(),
        "html".into(),
    );
    serde_json::to_string(&(&ctx, &md.book)).unwrap()
}

#[test]
fn an_unchanged_book_gets_the_last_answer_without_being_read_again() {
    let quiz = |answer: &str| {
        format!(
            "[[questions]]\ntype = \"Tracing\"\nprompt.program = \"print({answer})\"\nanswer.doesCompile = true\nanswer.stdout = \"{answer}\"\n"
        )
    };
    let t = BookTest::chapter("```python\nprint(2 + 2)\n```\n\n{{#quiz q.toml}}\n");
    t.write("src/q.toml", &quiz("7"));
    let input = protocol_input(&t);
    let timings = [("MDBOOK_PYTHON_LOG", "info")];
    let (code, first, err) = run_with_stdin_env(&[], &input, &timings);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("timings:") && err.contains("2 snippets, 2 run"),
        "{err}"
    );
    // The same input again: the stored answer, with no stage run at all.
    let (code, again, err) = run_with_stdin_env(&[], &input, &timings);
    assert_eq!(code, 0, "{err}");
    assert_eq!(again, first);
    assert!(!err.contains("timings:"), "the pipeline ran: {err}");
    assert!(
        err.starts_with("mdbook-python: 2 snippets, 0 run, 2 cached, 0 failed"),
        "{err}"
    );
    // A quiz file is outside mdBook's input: changing it changes the answer.
    t.write("src/q.toml", &quiz("8"));
    let (code, changed, err) = run_with_stdin_env(&[], &input, &timings);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("timings:"), "{err}");
    assert_ne!(changed, first);
    // Any change to the book is a different input.
    t.write("src/a.md", "```python\nprint(3 + 3)\n```\n");
    let (code, edited, err) = run_with_stdin_env(&[], &protocol_input(&t), &timings);
    assert_eq!(code, 0, "{err}");
    assert!(edited.contains("```text\\n6\\n```"), "{edited}");
    assert!(err.contains("1 snippets, 1 run"), "{err}");
}

#[test]
fn a_failed_build_or_a_book_without_cache_leaves_no_answer_to_replay() {
    let t = BookTest::chapter("```python\nprint(2 + 2)\n```\n\n```output\n5\n```\n");
    let input = protocol_input(&t);
    for _ in 0..2 {
        let (code, _, err) = run_with_stdin(&[], &input);
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("does not match"), "{err}");
    }
    assert!(!t.root().join(".mdbook-python/book-html").exists());
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "cache = false");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    let (code, _, err) = run_with_stdin(&[], &protocol_input(&t));
    assert_eq!(code, 0, "{err}");
    assert!(!t.root().join(".mdbook-python/book-html").exists());
}

#[test]
fn check_reports_and_exits_1() {
    let t = BookTest::chapter("```python\nprint('real')\n```\n\n```output\nwritten\n```\n");
    let out = Command::new(bin())
        .args(["check", "--no-cache"])
        .arg(t.root())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("  --> {}/src/a.md:5\n", t.root().display())),
        "{err}"
    );
    assert!(err.contains("   | -written\n   | +real\n"), "{err}");
    let good = BookTest::chapter("```python\nprint('real')\n```\n");
    crate::harness::cli_ok("check", good.root());
}

#[test]
fn bless_rewrites_only_the_mismatching_bodies() {
    let chapter = "# A\r\n\r\n> ```python\r\n> print('new')\r\n> print('two')\r\n> ```\r\n>\r\n> ```output\r\n> old\r\n> ```\r\n\r\n```pycon\r\n>>> 1 + 1\r\n3\r\n```\r\n\r\n```python,nondeterministic\r\nprint(1)\r\n```\r\n\r\n```output\r\nsample\r\n```\r\n";
    let t = BookTest::chapter(chapter);
    let err = crate::harness::cli_ok("bless", t.root());
    assert!(
        err.ends_with("mdbook-python: blessed 2 blocks in 1 file\n"),
        "{err}"
    );
    assert_eq!(
        t.read("src/a.md"),
        chapter
            .replace("> old\r\n", "> new\r\n> two\r\n")
            .replace(">>> 1 + 1\r\n3\r\n", ">>> 1 + 1\r\n2\r\n")
    );
    assert!(t.errors().is_empty(), "{:?}", t.errors());
}

#[test]
fn clean_removes_the_cache() {
    let t = BookTest::chapter("```python\nprint(1)\n```\n");
    t.build().unwrap();
    assert!(t.root().join(".mdbook-python").exists());
    let out = Command::new(bin())
        .arg("clean")
        .arg(t.root())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!t.root().join(".mdbook-python").exists());
}

#[test]
fn init_adds_the_settings_once_and_keeps_the_rest() {
    let t = BookTest::chapter("# A\n");
    t.write(
        "book.toml",
        "# My book\n[book]\ntitle = \"test\"  # keep me\n",
    );
    crate::harness::cli_ok("init", t.root());
    let toml = t.read("book.toml");
    assert!(
        toml.starts_with("# My book\n[book]\ntitle = \"test\"  # keep me\n"),
        "{toml}"
    );
    assert!(
        toml.contains("[preprocessor.python]")
            && toml.contains(".mdbook-python/assets/mdbook-python.js"),
        "{toml}"
    );
    let again = Command::new(bin())
        .arg("init")
        .arg(t.root())
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stderr),
        "mdbook-python: book.toml already has everything; nothing changed\n"
    );
    assert_eq!(t.read("book.toml"), toml);
    t.build().unwrap();
}

#[test]
fn labels_translate_the_widgets() {
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "[preprocessor.python.labels]\noutput = \"Ausgabe\"\nrun = \"Ausführen\"\nsubmit = \"Prüfen\"");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    t.build().unwrap();
    let js = t.read(".mdbook-python/assets/mdbook-python.js");
    assert!(
        js.contains("\"output\":\"Ausgabe\"")
            && js.contains("\"run\":\"Ausführen\"")
            && js.contains("\"submit\":\"Prüfen\""),
        "{}",
        &js[..400]
    );
}

/// A warm build does not make the front end again (its stamp holds), but a
/// changed setting, or an asset file edited or deleted, does.
#[test]
fn the_front_end_is_made_again_when_a_setting_or_the_file_changed() {
    let t = BookTest::with(
        crate::harness::BOOK_TOML,
        &[("a.md", "```python\nprint(1)\n```\n")],
    );
    let js = ".mdbook-python/assets/mdbook-python.js";
    t.build().unwrap();
    let fresh = t.read(js);
    assert!(t.root().join(".mdbook-python/assets.stamp").is_file());
    t.build().unwrap();
    assert_eq!(t.read(js), fresh);
    // A setting the bundle reads.
    t.write(
        "book.toml",
        &crate::harness::BOOK_TOML.replace(
            "jobs = 2",
            "jobs = 2\n\n[preprocessor.python.labels]\nrun = \"Los\"",
        ),
    );
    t.build().unwrap();
    assert!(t.read(js).contains("\"run\":\"Los\""));
    // The file itself: edited (another size), then deleted.
    t.write(js, "edited");
    t.build().unwrap();
    assert!(t.read(js).contains("\"run\":\"Los\""));
    std::fs::remove_file(t.root().join(js)).unwrap();
    t.build().unwrap();
    assert!(t.read(js).contains("\"run\":\"Los\""));
    // Back to the first settings: the first bundle.
    t.write("book.toml", crate::harness::BOOK_TOML);
    t.build().unwrap();
    assert_eq!(t.read(js), fresh);
}

/// A book whose pages would not load the front end: the build says so once,
/// with the lines to write.
#[test]
fn a_book_without_the_front_end_lines_is_told_what_to_write() {
    let setup = "[output.html]\nadditional-js = [\".mdbook-python/assets/mdbook-python.js\"]\nadditional-css = [\".mdbook-python/assets/mdbook-python.css\"]\n";
    let bare = crate::harness::BOOK_TOML.replace(setup, "");
    assert_ne!(bare, crate::harness::BOOK_TOML);
    let t = BookTest::with(&bare, &[("a.md", "```python\nprint(1)\n```\n")]);
    let warnings = |t: &BookTest| -> Vec<String> {
        let (report, _) = t.run("html", mdbook_python::Mode::Build);
        (report.diagnostics.iter())
            .filter(|d| d.message.contains("Run buttons"))
            .map(|d| d.to_string())
            .collect()
    };
    assert_eq!(
        warnings(&t),
        [
            "warning: the pages get no Run buttons: book.toml does not load mdbook-python's front end
  --> book.toml
   | [output.html]
   | additional-js = [\".mdbook-python/assets/mdbook-python.js\"]
   | additional-css = [\".mdbook-python/assets/mdbook-python.css\"]
   = help: write these lines into book.toml, or run `mdbook-python init`, which adds them"
        ]
    );
    // A warning: the book builds, and its snippets still run.
    let (report, texts) = t.run("html", mdbook_python::Mode::Build);
    assert_eq!((report.errors(), report.snippets), (0, 1));
    assert!(texts[0].contains("data-mdpy="), "{}", texts[0]);
    t.build().unwrap();
    // Files listed from another folder than cache-dir; the author's own entries stay.
    let moved = crate::harness::BOOK_TOML
        .replace("jobs = 2", "jobs = 2\ncache-dir = \"build-cache\"")
        .replace(
            "[\".mdbook-python/assets/mdbook-python.css\"]",
            "[\"theme/own.css\", \".mdbook-python/assets/mdbook-python.css\"]",
        );
    let t = BookTest::with(&moved, &[("a.md", "```python\nprint(1)\n```\n")]);
    assert_eq!(
        warnings(&t),
        [
            "warning: the pages get no Run buttons: book.toml loads `.mdbook-python/assets/mdbook-python.js` and `.mdbook-python/assets/mdbook-python.css` but the build writes its front end into `build-cache/assets`
  --> book.toml
   | [output.html]
   | additional-js = [\"build-cache/assets/mdbook-python.js\"]
   | additional-css = [\"theme/own.css\", \"build-cache/assets/mdbook-python.css\"]
   = help: write these lines into book.toml (`mdbook-python init` adds them for the default folder)"
        ]
    );
    // Set up as `init` writes it (`./` or not): nothing to say.
    let fine = crate::harness::BOOK_TOML.replace(
        "[\".mdbook-python/assets/mdbook-python.js\"]",
        "[\"./.mdbook-python/assets/mdbook-python.js\"]",
    );
    let t = BookTest::with(&fine, &[("a.md", "```python\nprint(1)\n```\n")]);
    assert_eq!(warnings(&t), Vec::<String>::new());
}

#[test]
fn bless_refuses_a_file_that_changed_meanwhile() {
    let t = BookTest::chapter("```python\nprint('new')\n```\n\n```output\nold\n```\n");
    let md = mdbook_driver::MDBook::load(t.root()).unwrap();
    let ctx = mdbook_preprocessor::PreprocessorContext::new(
        md.root.clone(),
        md.config.clone(),
        "html".into(),
    );
    let options = mdbook_python::Options::default();
    let (_, rewrites) = mdbook_python::bless::rewrites(&ctx, &md.book, &options);
    assert_eq!(rewrites.len(), 1);
    t.write("src/a.md", "edited by the author\n");
    let (written, _, problems) = mdbook_python::bless::write(&t.root().join("src"), rewrites);
    assert_eq!(written, 0);
    assert_eq!(
        problems[0].message,
        "this file changed while bless was running; it was not written"
    );
    assert_eq!(t.read("src/a.md"), "edited by the author\n");
}

#[test]
fn bless_killed_midway_leaves_every_file_old_or_new() {
    let chapters: Vec<(String, String)> = (0..80)
        .map(|i| {
            (
                format!("c{i}.md"),
                format!("# C{i}\n\n```python\nprint({i} + 1)\n```\n\n```output\nwrong\n```\n"),
            )
        })
        .collect();
    let refs: Vec<(&str, &str)> = chapters
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let t = BookTest::with(crate::harness::BOOK_TOML, &refs);
    // Fill the cache so that bless spends its time writing.
    let _ = Command::new(bin())
        .arg("check")
        .arg(t.root())
        .output()
        .unwrap();
    for delay_ms in [0u64, 2, 5, 10, 20, 40] {
        for (name, text) in &chapters {
            t.write(&format!("src/{name}"), text);
        }
        let mut child = Command::new(bin())
            .arg("bless")
            .arg(t.root())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        for (i, (name, text)) in chapters.iter().enumerate() {
            let now = t.read(&format!("src/{name}"));
            let blessed = text.replace("wrong", &(i + 1).to_string());
            assert!(
                now == *text || now == blessed,
                "{name} is neither old nor new after a kill at {delay_ms} ms: {now:?}"
            );
        }
    }
}

#[test]
fn a_nan_in_book_toml_names_its_key_through_the_protocol() {
    let toml = crate::harness::BOOK_TOML.replace("jobs = 2", "jobs = 2\ntimeout = nan");
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    // mdBook writes the NaN as `null`, which its config cannot read back.
    let input = protocol_input(&t);
    assert!(input.contains("\"timeout\":null"), "{input}");
    let (code, out, err) = run_with_stdin(&[], &input);
    assert_eq!((code, out.as_str()), (1, ""));
    assert!(
        err.starts_with("error: `preprocessor.python.timeout` must be a number of seconds from 0.05 to 86400, not `nan`\n  --> book.toml:6\n\nmdbook-python: 0 snippets, 0 run,"),
        "{err}"
    );
    assert!(
        err.ends_with("\nmdbook-python: 1 error (see above); the book was not built\n"),
        "{err}"
    );
    // In a sub-table, and in a list, too.
    let toml = crate::harness::BOOK_TOML.replace(
        "jobs = 2",
        "jobs = 2\npackages = [\"numpy\", nan]\n\n[preprocessor.python.labels]\nrun = inf",
    );
    let t = BookTest::with(&toml, &[("a.md", "```python\nprint(1)\n```\n")]);
    let (code, _, err) = run_with_stdin(&[], &protocol_input(&t));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("error: `preprocessor.python.packages` must be a list of Pyodide package names and wheel URLs, e.g. `[\"numpy\", \"wheels/mylib-1.0-py3-none-any.whl\"]`, not `[\"numpy\", nan]`\n  --> book.toml:6\n\nerror: the label `run` must be a string, not `inf`\n  --> book.toml:9\n\n"),
        "{err}"
    );
}

/// A pseudo-terminal: the leader (kept by the test) and the follower (for
/// the child's stdin).
fn pseudo_terminal() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on a descriptor this function owns; each
    // result is checked before use.
    unsafe {
        let leader = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(leader >= 0);
        assert_eq!(libc::grantpt(leader), 0);
        assert_eq!(libc::unlockpt(leader), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(leader, name.as_mut_ptr(), name.len()), 0);
        let follower = libc::open(name.as_ptr(), libc::O_RDWR | libc::O_NOCTTY);
        assert!(follower >= 0);
        (
            std::fs::File::from_raw_fd(leader),
            std::fs::File::from_raw_fd(follower),
        )
    }
}

#[test]
fn no_command_in_a_terminal_prints_the_usage_and_exits_2() {
    let (_leader, follower) = pseudo_terminal();
    let mut child = Command::new(bin())
        .stdin(Stdio::from(follower))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("mdbook-python waited for input on a terminal");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("mdbook-python: no command given, and stdin is a terminal: with no command, mdbook-python reads the book mdBook sends on stdin (`mdbook build` runs it)\n\nAn mdBook preprocessor that runs every Python snippet"),
        "{err}"
    );
    assert!(err.contains("\nUsage: mdbook-python [COMMAND]\n"), "{err}");
    assert_eq!(out.stdout, b"");
}
