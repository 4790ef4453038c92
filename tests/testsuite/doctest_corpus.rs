//! The plugin's verdicts on console sessions are doctest's: every transcript
//! of `tests/fixtures/pycon-corpus/` runs through Python's own doctest (its
//! stock parser and runner, as `python3 -m doctest` runs a text file) and
//! through the plugin, and both must fail exactly the same statements.

use crate::harness::BookTest;
use std::collections::BTreeSet;
use std::path::Path;

/// doctest's failing statements (1-based lines of the transcript) and how
/// many statements it ran, from its own failure reports.
const ORACLE: &str = r#"
import doctest, json, re, sys
text = open(sys.argv[1]).read()
parser = doctest.DocTestParser()
test = parser.get_doctest(text, {}, "t", "t.txt", 0)
out = []
runner = doctest.DocTestRunner(verbose=False)
runner.run(test, out=out.append)
failed = sorted({int(m) for m in re.findall(r'File "t.txt", line (\d+)', "".join(out))})
ran = sum(1 for e in test.examples if not e.options.get(doctest.SKIP))
print(json.dumps({"failed": failed, "ran": ran}))
"#;

#[test]
fn the_plugin_fails_exactly_the_statements_doctest_fails() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/pycon-corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    let (mut agree, mut failing) = (0, 0);
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let out = std::process::Command::new("python3")
            .arg("-c")
            .arg(ORACLE)
            .arg(file)
            .output()
            .unwrap();
        let oracle: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        let doctest_failed: BTreeSet<usize> = oracle["failed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        // The chapter: a heading, a blank line, the fence: the transcript's
        // line n is the chapter's line n + 3.
        let t = BookTest::chapter(&format!("# A\n\n```pycon\n{text}```\n"));
        let (report, _) = t.run("html", mdbook_python::Mode::Check);
        let ours: BTreeSet<usize> = report
            .diagnostics
            .iter()
            .filter(|d| d.message == "the output of this `>>>` statement does not match")
            .map(|d| d.line - 3)
            .collect();
        let others: Vec<String> = report
            .diagnostics
            .iter()
            .filter(|d| d.message != "the output of this `>>>` statement does not match")
            .map(|d| d.to_string())
            .collect();
        assert!(others.is_empty(), "{}: {others:?}", file.display());
        assert_eq!(ours, doctest_failed, "{}", file.display());
        agree += oracle["ran"].as_u64().unwrap() as usize;
        failing += ours.len();
    }
    eprintln!("{agree} statements agree with doctest ({failing} failing in both)");
    assert!(agree >= 30 && failing >= 10, "{agree} {failing}");
}
