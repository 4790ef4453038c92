//! Includes: where each line of a chapter was written. The plugin runs after
//! mdBook's `links` preprocessor, so a chapter arrives with its
//! `{{#include}}`, `{{#rustdoc_include}}` and `{{#playground}}` directives
//! already expanded, and a line number counted in that text is wrong below an
//! include. [`LineMap::build`] expands the chapter's source file again, the
//! way mdBook 0.5 does (its link pattern, line ranges `:2:5`, anchors
//! `:name`, nested includes), remembering for every piece of the result the
//! file and line it came from. It is used only when the result is byte for
//! byte the text mdBook handed over; otherwise there is no map and lines are
//! those of the text as given. Pure: files are read through a closure.

use std::ops::{Bound, RangeBounds};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use crate::scan::Lines;

/// mdBook's own pattern (`links.rs`, `find_links`).
static LINK: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(
        r"(?x)
        \\\{\{\#.*\}\}      # an escaped link
        |
        \{\{\s*\#([a-zA-Z0-9_]+)\s+([^}]+)\}\}",
    )
    .expect("a valid pattern")
});
static ANCHOR_START: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"ANCHOR:\s*(?P<anchor_name>[\w_-]+)").expect("valid"));
static ANCHOR_END: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(r"ANCHOR_END:\s*(?P<anchor_name>[\w_-]+)").expect("valid"));

/// mdBook gives up below this depth of nested includes.
const MAX_DEPTH: usize = 10;

/// A line of an author's file, and through which directives it was included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Place {
    pub file: PathBuf,
    pub line: usize,
    /// `src/ch.md:11` (and further out, `, included by ...`) for a line of
    /// an included file; `None` for a line of the chapter itself.
    pub via: Option<String>,
}

/// One file that contributed text: the chapter (index 0) or an include.
struct Source {
    display: PathBuf,
    lines: Lines,
    /// The directive that included it: (file index, line).
    via: Option<(usize, usize)>,
}

/// Where a piece of the expanded text starts in its file.
#[derive(Clone, Copy)]
enum At {
    /// Copied from the file from this byte offset on.
    Text(usize),
    /// Written by the expansion (`# ` of a rustdoc include, a joining line
    /// break), counted on this line.
    Line(usize),
}

#[derive(Clone, Copy)]
struct Piece {
    /// Byte offset in the expanded text.
    out: usize,
    file: usize,
    at: At,
}

#[derive(Default)]
struct Traced {
    text: String,
    pieces: Vec<Piece>,
}

impl Traced {
    fn push(&mut self, s: &str, file: usize, at: At) {
        self.pieces.push(Piece {
            out: self.text.len(),
            file,
            at,
        });
        self.text.push_str(s);
    }

    /// Append `from.text[range]` with its origins.
    fn copy(&mut self, from: &Traced, range: std::ops::Range<usize>) {
        let first = from.pieces.partition_point(|p| p.out <= range.start).max(1) - 1;
        for p in from.pieces[first..]
            .iter()
            .take_while(|p| p.out < range.end || p.out == range.start)
        {
            let start = p.out.max(range.start);
            let at = match p.at {
                At::Text(o) => At::Text(o + (start - p.out)),
                line => line,
            };
            self.pieces.push(Piece {
                out: self.text.len() + (start - range.start),
                file: p.file,
                at,
            });
        }
        self.text.push_str(&from.text[range]);
    }

    fn append(&mut self, other: Traced) {
        let base = self.text.len();
        self.pieces.extend(other.pieces.into_iter().map(|p| Piece {
            out: p.out + base,
            ..p
        }));
        self.text.push_str(&other.text);
    }
}

/// Expanded-text lines to the lines authors wrote.
pub(crate) struct LineMap {
    files: Vec<Source>,
    pieces: Vec<Piece>,
    out_lines: Lines,
}

struct Expander<'r> {
    files: Vec<Source>,
    read: &'r dyn Fn(&Path) -> Option<String>,
    texts: Vec<String>,
}

impl LineMap {
    /// The map of a chapter whose source file holds `source` and which
    /// mdBook handed over as `expanded`. `display` names the chapter in
    /// messages; `dir_on_disk` / `dir_display` are its folder, where
    /// directive paths start. `None` when there is nothing to map (no
    /// directive) or when the expansion does not give `expanded` exactly.
    pub(crate) fn build(
        source: &str,
        expanded: &str,
        display: &Path,
        dir_on_disk: &Path,
        dir_display: &Path,
        read: &dyn Fn(&Path) -> Option<String>,
    ) -> Option<LineMap> {
        if source == expanded || !source.contains("{{") {
            return None;
        }
        let mut ex = Expander {
            files: Vec::new(),
            read,
            texts: Vec::new(),
        };
        let root = ex.add(display.to_path_buf(), source.to_string(), None);
        let mut input = Traced::default();
        input.push(source, root, At::Text(0));
        let out = ex.expand(&input, dir_on_disk, dir_display, 0);
        (out.text == expanded).then(|| LineMap {
            files: ex.files,
            pieces: out.pieces,
            out_lines: Lines::new(expanded),
        })
    }

    /// Where 1-based `line` of the expanded text was written.
    pub(crate) fn place(&self, line: usize) -> Place {
        let (file, line) = self.locate(line);
        let mut via = None::<String>;
        let mut at = self.files[file].via;
        while let Some((f, l)) = at {
            let here = format!("{}:{l}", self.files[f].display.display());
            via = Some(match via {
                None => here,
                Some(v) => format!("{v}, included by {here}"),
            });
            at = self.files[f].via;
        }
        Place {
            file: self.files[file].display.clone(),
            line,
            via,
        }
    }

    /// Where `count` lines from `line` on were written, when they are
    /// consecutive lines of one file (what a program's tracebacks need).
    pub(crate) fn span(&self, line: usize, count: usize) -> Option<Place> {
        let (file, first) = self.locate(line);
        (1..count)
            .all(|k| self.locate(line + k) == (file, first + k))
            .then(|| self.place(line))
    }

    /// (file index, line in it) of an expanded line.
    fn locate(&self, line: usize) -> (usize, usize) {
        let Some(offset) = self.out_lines.start_of(line) else {
            return (0, line);
        };
        locate_in(&self.pieces, &self.files, offset).unwrap_or((0, line))
    }
}

impl Expander<'_> {
    fn add(&mut self, display: PathBuf, text: String, via: Option<(usize, usize)>) -> usize {
        self.files.push(Source {
            display,
            lines: Lines::new(&text),
            via,
        });
        self.texts.push(text);
        self.files.len() - 1
    }

    /// mdBook's `replace_all`, over traced text.
    fn expand(&mut self, input: &Traced, dir: &Path, display_dir: &Path, depth: usize) -> Traced {
        let s = input.text.as_str();
        let mut out = Traced::default();
        let mut previous = 0;
        for cap in LINK.captures_iter(s) {
            let m = cap.get(0).expect("a match");
            let (kind, rest) = match (cap.get(1), cap.get(2)) {
                (Some(k), Some(r)) => (k.as_str(), r.as_str()),
                _ if m.as_str().starts_with('\\') => {
                    out.copy(input, previous..m.start());
                    out.copy(input, m.start() + 1..m.end());
                    previous = m.end();
                    continue;
                }
                _ => continue,
            };
            if kind == "title" {
                out.copy(input, previous..m.start());
                previous = m.end();
                continue;
            }
            let mut words = rest.split_whitespace();
            let Some(arg) = words.next() else { continue };
            let props: Vec<&str> = words.collect();
            let (path, spec) = match kind {
                "include" | "rustdoc_include" => {
                    let mut parts = arg.splitn(2, ':');
                    (parts.next().unwrap_or(""), parts.next())
                }
                "playground" | "playpen" => (arg, None),
                _ => continue,
            };
            let Some(text) = (self.read)(&dir.join(path)) else {
                // mdBook leaves the directive as written.
                continue;
            };
            out.copy(input, previous..m.start());
            previous = m.end();
            let here = locate_in(&input.pieces, &self.files, m.start()).unwrap_or((0, 1));
            let f = self.add(
                crate::quizzes::normalize(&display_dir.join(path)),
                text,
                Some(here),
            );
            let text = self.texts[f].clone();
            let content = match kind {
                "include" => take(&text, f, spec, false),
                "rustdoc_include" => take(&text, f, spec, true),
                _ => playground(&text, f, &props),
            };
            if depth < MAX_DEPTH {
                let target = dir.join(path);
                let shown = display_dir.join(path);
                let sub = target.parent().unwrap_or(dir).to_path_buf();
                let sub_display = shown.parent().unwrap_or(display_dir).to_path_buf();
                let nested = self.expand(&content, &sub, &sub_display, depth + 1);
                out.append(nested);
            }
        }
        out.copy(input, previous..s.len());
        out
    }
}

/// Every file the chapter text `source` (in the folder `dir`) includes
/// through mdBook's directives, directly or through included files, for
/// `serve`'s watcher.
pub(crate) fn files_included(source: &str, dir: &Path) -> Vec<PathBuf> {
    if !source.contains("{{") {
        return Vec::new();
    }
    let seen = std::cell::RefCell::new(Vec::new());
    let read = |p: &Path| {
        let text = crate::execute::fs::read_text(p);
        if text.is_some() {
            seen.borrow_mut().push(p.to_path_buf());
        }
        text
    };
    let mut ex = Expander {
        files: Vec::new(),
        read: &read,
        texts: Vec::new(),
    };
    let root = ex.add(PathBuf::new(), source.to_string(), None);
    let mut input = Traced::default();
    input.push(source, root, At::Text(0));
    ex.expand(&input, dir, dir, 0);
    seen.into_inner()
}

/// (file index, line) of a byte of traced text, from its pieces.
fn locate_in(pieces: &[Piece], files: &[Source], offset: usize) -> Option<(usize, usize)> {
    let p = pieces[..pieces.partition_point(|p| p.out <= offset)].last()?;
    let line = match p.at {
        At::Text(o) => files[p.file].lines.line_of(o + (offset - p.out)),
        At::Line(l) => l,
    };
    Some((p.file, line))
}

/// A line range `:start:end` or an anchor `:name`, as mdBook parses them
/// (`parse_range_or_anchor`): `(start, end)` 0-based, end exclusive.
enum Spec {
    Range(usize, Option<usize>),
    Anchor(String),
}

fn parse_spec(spec: Option<&str>) -> Spec {
    let mut parts = spec.unwrap_or("").splitn(3, ':').fuse();
    let first = parts.next();
    let start = match first {
        Some("") | None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) => Some(n.saturating_sub(1)),
            Err(_) => return Spec::Anchor(v.to_string()),
        },
    };
    let end = parts.next().map(|s| s.parse::<usize>());
    match (start, end) {
        (Some(s), Some(Ok(e))) => Spec::Range(s, Some(e)),
        (Some(s), Some(Err(_))) => Spec::Range(s, None),
        (Some(s), None) => Spec::Range(s, Some(s + 1)),
        (None, Some(Ok(e))) => Spec::Range(0, Some(e)),
        (None, _) => Spec::Range(0, None),
    }
}

/// The lines an include takes (`take_lines`, `take_anchored_lines`, and
/// their rustdoc forms, which keep the other lines behind `# `).
fn take(text: &str, f: usize, spec: Option<&str>, rustdoc: bool) -> Traced {
    let lines = Lines::new(text);
    let all: Vec<(usize, &str)> = text
        .lines()
        .map(|l| (l.as_ptr() as usize - text.as_ptr() as usize, l))
        .collect();
    // (offset, line, hidden behind `# `)
    let mut kept: Vec<(usize, &str, bool)> = Vec::new();
    match parse_spec(spec) {
        Spec::Range(start, end) => {
            let range = (
                Bound::Included(start),
                end.map_or(Bound::Unbounded, Bound::Excluded),
            );
            for (i, &(o, l)) in all.iter().enumerate() {
                if range.contains(&i) {
                    kept.push((o, l, false));
                } else if rustdoc {
                    kept.push((o, l, true));
                }
            }
        }
        Spec::Anchor(name) => {
            let is = |re: &regex::Regex, l: &str| {
                re.captures(l).is_some_and(|c| c["anchor_name"] == *name)
            };
            let mut inside = false;
            for &(o, l) in &all {
                if inside {
                    if is(&ANCHOR_END, l) {
                        if !rustdoc {
                            break;
                        }
                        inside = false;
                    } else if !ANCHOR_END.is_match(l) && !ANCHOR_START.is_match(l) {
                        kept.push((o, l, false));
                    }
                } else if is(&ANCHOR_START, l) {
                    inside = true;
                } else if rustdoc && !ANCHOR_START.is_match(l) && !ANCHOR_END.is_match(l) {
                    kept.push((o, l, true));
                }
            }
        }
    }
    let mut out = Traced::default();
    for (k, &(o, l, hidden)) in kept.iter().enumerate() {
        let n = lines.line_of(o);
        if k > 0 {
            out.push("\n", f, At::Line(lines.line_of(kept[k - 1].0)));
        }
        if hidden {
            out.push("# ", f, At::Line(n));
        }
        out.push(l, f, At::Text(o));
    }
    out
}

/// `{{#playground file attrs}}`: the file in a `rust` fence.
fn playground(text: &str, f: usize, props: &[&str]) -> Traced {
    let mut out = Traced::default();
    let kind = if props.is_empty() { "rust" } else { "rust," };
    out.push(&format!("```{kind}{}\n", props.join(",")), f, At::Line(1));
    out.push(text, f, At::Text(0));
    let last = Lines::count(text).max(1);
    if !text.ends_with('\n') {
        out.push("\n", f, At::Line(last));
    }
    out.push("```\n", f, At::Line(last));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn files_included_follows_nested_includes_out_of_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("ch")).unwrap();
        std::fs::create_dir_all(dir.path().join("code")).unwrap();
        std::fs::write(dir.path().join("code/a.md"), "{{#include b.py:2}}\n").unwrap();
        std::fs::write(dir.path().join("code/b.py"), "x = 1\nprint(x)\n").unwrap();
        let chapter = "# Ch\n\n{{#include ../../code/a.md}}\n{{#include missing.py}}\n";
        let found = files_included(chapter, &src.join("ch"));
        let names: Vec<String> = found
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.md", "b.py"], "{found:?}");
        assert!(files_included("# no directive\n", &src).is_empty());
    }

    fn map(source: &str, expanded: &str, files: &[(&str, &str)]) -> Option<LineMap> {
        let files: HashMap<PathBuf, String> = files
            .iter()
            .map(|(p, t)| (Path::new("/book/src").join(p), t.to_string()))
            .collect();
        LineMap::build(
            source,
            expanded,
            Path::new("src/ch.md"),
            Path::new("/book/src"),
            Path::new("src"),
            &|p| files.get(p).cloned(),
        )
    }

    fn at(file: &str, line: usize, via: Option<&str>) -> Place {
        Place {
            file: file.into(),
            line,
            via: via.map(str::to_string),
        }
    }

    #[test]
    fn lines_after_and_inside_an_include() {
        let demo = "a = 1\nb = 2\nc = 3\nd = 4\n";
        let source = "# T\n\n```python\n{{#include code/demo.py:2:3}}\n```\n\nafter\n";
        let expanded = "# T\n\n```python\nb = 2\nc = 3\n```\n\nafter\n";
        let m = map(source, expanded, &[("code/demo.py", demo)]).unwrap();
        assert_eq!(m.place(3), at("src/ch.md", 3, None));
        assert_eq!(m.place(4), at("src/code/demo.py", 2, Some("src/ch.md:4")));
        assert_eq!(m.place(5), at("src/code/demo.py", 3, Some("src/ch.md:4")));
        assert_eq!(m.place(6), at("src/ch.md", 5, None));
        assert_eq!(m.place(8), at("src/ch.md", 7, None));
        assert_eq!(
            m.span(4, 2),
            Some(at("src/code/demo.py", 2, Some("src/ch.md:4")))
        );
        assert_eq!(m.span(3, 2), None, "two files");
    }

    #[test]
    fn anchors_nested_includes_and_escapes() {
        let lib = "x\n# ANCHOR: part\ny = 1\n# ANCHOR: other\nz = 2\n# ANCHOR_END: part\nw\n";
        let inner = "one\n{{#include lib.py:part}}\n";
        let source = "\\{{#include no.md}}\n{{#include sub/inner.md}}\nend\n";
        // An include drops the file's last line break.
        let expanded = "{{#include no.md}}\none\ny = 1\nz = 2\nend\n";
        let m = map(
            source,
            expanded,
            &[("sub/inner.md", inner), ("sub/lib.py", lib)],
        )
        .unwrap();
        assert_eq!(m.place(1), at("src/ch.md", 1, None));
        assert_eq!(m.place(2), at("src/sub/inner.md", 1, Some("src/ch.md:2")));
        assert_eq!(
            m.place(4),
            at(
                "src/sub/lib.py",
                5,
                Some("src/sub/inner.md:2, included by src/ch.md:2")
            )
        );
        assert_eq!(m.place(5), at("src/ch.md", 3, None));
    }

    #[test]
    fn rustdoc_include_and_playground() {
        let r = "fn a() {}\nfn b() {}\nfn c() {}";
        let source = "{{#rustdoc_include r.rs:2}}\n{{#playground r.rs editable}}\nz\n";
        let expanded = "# fn a() {}\nfn b() {}\n# fn c() {}\n```rust,editable\nfn a() {}\nfn b() {}\nfn c() {}\n```\n\nz\n";
        let m = map(source, expanded, &[("r.rs", r)]).unwrap();
        assert_eq!(m.place(2).line, 2);
        assert_eq!(m.place(3).line, 3);
        assert_eq!(m.place(5), at("src/r.rs", 1, Some("src/ch.md:2")));
        assert_eq!(m.place(10), at("src/ch.md", 3, None));
    }

    #[test]
    fn no_map_without_directives_or_when_the_text_differs() {
        assert!(map("a\n", "a\n", &[]).is_none());
        assert!(map("{{#include x.md}}\n", "something else\n", &[("x.md", "y")]).is_none());
    }
}
