//! Bless: write the real outputs into the author's `output` blocks (and the
//! expected lines of `pycon` sessions) in the source files. Only the bodies of
//! blocks that do not match change; every other byte stays. A file is written
//! with `execute::fs::rewrite` (through a temporary file and a rename, keeping
//! its permissions and symbolic links), and only if it still holds what was
//! read (an editor saving meanwhile wins; bless says so and stops).

use crate::diagnostics::Diagnostic;
use crate::plan::{ChapterPlan, Mode as SnippetMode};
use crate::render::Edit;
use crate::scan::{Lines, Scanned};
use crate::{Mode, Options, print_report};
use std::path::Path;
use std::process::ExitCode;

/// A chapter file to rewrite.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The file on disk.
    pub path: std::path::PathBuf,
    /// The text the pipeline read (mdBook strips a BOM).
    pub old: String,
    pub new: String,
    pub blocks: usize,
}

/// Edits that replace mismatching expectations with what the code printed.
/// `shown[i]` is the text snippet i printed (or `None` if it did not run).
pub fn edits(
    text: &str,
    scanned: &Scanned,
    plan: &ChapterPlan,
    shown: &[Option<String>],
    examples: &[Vec<crate::execute::Example>],
) -> Vec<Edit> {
    let nl = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines = Lines::new(text);
    let mut out = Vec::new();
    for (i, s) in plan.snippets.iter().enumerate() {
        if s.mode == SnippetMode::Pycon {
            for ex in &examples[i] {
                if crate::verify::pycon_matches(&ex.want, &ex.got) {
                    continue;
                }
                let source_lines = ex.source.lines().count().max(1);
                let first = ex.line + source_lines; // 1-based line of the first wanted line
                let want_lines = ex.want.lines().count();
                let prefix = &scanned.fences[s.fence].prefix;
                let start = line_start(text, first);
                let end = if want_lines == 0 {
                    start
                } else {
                    line_start(text, first + want_lines)
                };
                let mut body = String::new();
                for l in crate::verify::normalize(&ex.got).lines() {
                    body.push_str(prefix);
                    body.push_str(if l.is_empty() { "<BLANKLINE>" } else { l });
                    body.push_str(nl);
                }
                out.push(Edit {
                    range: start..end,
                    text: body,
                });
            }
            continue;
        }
        let (Some(expected), Some(Some(actual))) = (&s.expected, shown.get(i)) else {
            continue;
        };
        if s.attrs.nondeterministic
            || crate::verify::normalize(&expected.text) == crate::verify::normalize(actual)
        {
            continue;
        }
        if expected.ellipsis && crate::verify::ellipsis_matches(&expected.text, actual) {
            continue;
        }
        let fence = &scanned.fences[expected.fence];
        let open_end = text[fence.span.start..]
            .find('\n')
            .map_or(fence.span.end, |i| fence.span.start + i + 1);
        let close_start = lines.start_of_line_containing(fence.span.end.saturating_sub(1));
        if close_start < open_end {
            continue;
        }
        let mut body = String::new();
        for l in crate::verify::normalize(actual).lines() {
            body.push_str(&fence.prefix);
            body.push_str(l);
            body.push_str(nl);
        }
        out.push(Edit {
            range: open_end..close_start,
            text: body,
        });
    }
    out
}

/// Byte offset of the start of 1-based `line` (the text's end past the last).
fn line_start(text: &str, line: usize) -> usize {
    if line <= 1 {
        return 0;
    }
    text.match_indices('\n')
        .nth(line - 2)
        .map_or(text.len(), |(i, _)| i + 1)
}

/// Write the rewrites into the files under `src`: each one atomically, and
/// only if the file still holds what the pipeline read. Returns the files
/// and blocks written, and a diagnostic per file left alone.
pub fn write(src: &Path, rewrites: Vec<Rewrite>) -> (usize, usize, Vec<Diagnostic>) {
    use crate::execute::fs::RewriteError;
    const CHANGED: &str = "this file changed while bless was running; it was not written";
    let (mut written, mut blocks, mut problems) = (0, 0, Vec::new());
    for rw in rewrites {
        let path = src.join(&rw.path);
        let result = crate::execute::fs::rewrite(&path, |disk| {
            let disk = std::str::from_utf8(disk).map_err(|_| CHANGED.to_string())?;
            // mdBook strips a BOM: keep it.
            let (bom, body) = match disk.strip_prefix('\u{feff}') {
                Some(rest) => ("\u{feff}", rest),
                None => ("", disk),
            };
            if body != rw.old {
                return Err(CHANGED.to_string());
            }
            Ok(Some(format!("{bom}{}", rw.new).into_bytes()))
        });
        match result {
            Ok(_) => {
                written += 1;
                blocks += rw.blocks;
            }
            Err(RewriteError::Edit(_) | RewriteError::Changed) => problems.push(
                Diagnostic::error(&path, 0, CHANGED).with_help("run `mdbook-python bless` again"),
            ),
            Err(RewriteError::Io(e)) => {
                problems.push(Diagnostic::error(&path, 0, format!("cannot write: {e}")))
            }
        }
    }
    (written, blocks, problems)
}

/// `mdbook-python bless [DIR]`.
pub fn bless(dir: &Path, no_cache: bool) -> ExitCode {
    let md = match crate::cli::load(dir) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("mdbook-python: {e}");
            return ExitCode::FAILURE;
        }
    };
    let ctx = mdbook_preprocessor::PreprocessorContext::new(
        md.root.clone(),
        md.config.clone(),
        "html".into(),
    );
    let mut book = md.book.clone();
    let display = if dir == Path::new(".") {
        Default::default()
    } else {
        dir.to_path_buf()
    };
    let options = Options {
        mode: Mode::Bless,
        no_cache,
        display_root: display,
        progress: true,
        browser: false,
    };
    let mut report = crate::run_book(&ctx, &mut book, &options);
    let src = md.root.join(&md.config.book.src);
    let (written, blocks, mut problems) = write(&src, std::mem::take(&mut report.rewrites));
    report.diagnostics.append(&mut problems);
    print_report(&report);
    eprintln!(
        "mdbook-python: blessed {blocks} block{} in {written} file{}",
        if blocks == 1 { "" } else { "s" },
        if written == 1 { "" } else { "s" }
    );
    if report.errors() > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
