//! Bless: write the real outputs into the author's `output` blocks (and the
//! expected lines of `pycon` sessions) in the source files. What changes is
//! exactly what verify found wrong (`Verdict::fix`); every other byte stays.
//! The chapter is checked as a build sees it (after mdBook's `links`), and
//! each edit is carried back to the chapter file, unless it falls inside
//! included text (then the block is left, with a warning). A file is written
//! with `execute::fs::rewrite` (through a temporary file and a rename, keeping
//! its permissions and symbolic links), and only if it still holds what was
//! read (an editor saving meanwhile wins; bless says so and stops).

use crate::config::OnMismatch;
use crate::diagnostics::Diagnostic;
use crate::pipeline::{self, Browser, Request};
use crate::plan::ChapterPlan;
use crate::render::Edit;
use crate::scan::{Lines, Scanned};
use crate::verify::{Fix, Verdict};
use crate::{Mode, Options, print_report};
use mdbook_driver::builtin_preprocessors::LinkPreprocessor;
use mdbook_preprocessor::Preprocessor;
use std::path::Path;
use std::process::ExitCode;

/// A chapter file to rewrite.
#[derive(Debug, Clone)]
pub struct Rewrite {
    /// The file on disk, relative to the source folder.
    pub path: std::path::PathBuf,
    /// The file's text as read, before mdBook's `links` expanded its
    /// `{{#include}}`s (mdBook strips a BOM): what the file must still hold.
    pub raw: String,
    /// The text the pipeline checked (after `links`).
    pub old: String,
    /// Edits of `old`, one group per code block to bless.
    pub blocks: Vec<Vec<Edit>>,
}

/// Edits that settle verify's mismatches (`Verdict::fix`), one group per
/// code block (a `pycon` session's statements are one block), and a note
/// for each output block bless leaves because its snippet raised by mistake.
/// Bless decides nothing itself: a block check accepts gets no edit.
pub fn edits(
    file: &Path,
    text: &str,
    scanned: &Scanned,
    plan: &ChapterPlan,
    verdicts: &[Option<Verdict>],
    examples: &[Vec<crate::execute::Example>],
) -> (Vec<Vec<Edit>>, Vec<Diagnostic>) {
    let nl = crate::scan::newline(text);
    let lines = Lines::new(text);
    let (mut blocks, mut notes) = (Vec::new(), Vec::new());
    for (i, s) in plan.snippets.iter().enumerate() {
        let Some(fix) = verdicts.get(i).and_then(|v| v.as_ref()?.fix.as_ref()) else {
            continue;
        };
        match fix {
            Fix::Examples(wrong) => {
                let prefix = &scanned.fences[s.fence].prefix;
                let group = wrong
                    .iter()
                    .filter_map(|&e| examples[i].get(e))
                    .map(|ex| {
                        let source_lines = ex.source.lines().count().max(1);
                        let first = ex.line + source_lines; // the first wanted line
                        let start = line_start(text, first);
                        let end = line_start(text, first + ex.want.lines().count());
                        let mut body = String::new();
                        for l in crate::verify::normalize(&ex.got).lines() {
                            body.push_str(prefix);
                            body.push_str(if l.is_empty() { "<BLANKLINE>" } else { l });
                            body.push_str(nl);
                        }
                        Edit {
                            range: start..end,
                            text: body,
                        }
                    })
                    .collect();
                blocks.push(group);
            }
            Fix::Output(actual) => {
                let Some(expected) = &s.expected else {
                    continue;
                };
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
                blocks.push(vec![Edit {
                    range: open_end..close_start,
                    text: body,
                }]);
            }
            Fix::Inline(runs) => {
                let prefix = &scanned.fences[s.fence].prefix;
                let group = runs
                    .iter()
                    .map(|(first, run, printed)| {
                        let mut body = String::new();
                        let mut put = |marker: &str, l: &str| {
                            body.push_str(prefix);
                            body.push_str(&run.indent);
                            body.push_str(marker);
                            body.push_str(l);
                            body.push_str(nl);
                        };
                        if run.quoted {
                            put("", "\"\"\"");
                        }
                        for l in crate::verify::normalize(printed).lines() {
                            match (run.quoted, l.is_empty()) {
                                (true, _) => put("", l),
                                (false, true) => put("#>", ""),
                                (false, false) => put("#> ", l),
                            }
                        }
                        if run.quoted {
                            put("", "\"\"\"");
                        }
                        Edit {
                            range: line_start(text, *first)..line_start(text, first + run.count),
                            text: body,
                        }
                    })
                    .collect();
                blocks.push(group);
            }
            Fix::Raised(name) => {
                let line = s.expected.as_ref().map_or(s.line, |e| e.line);
                notes.push(
                    Diagnostic::warning(
                        file,
                        line,
                        format!("bless left this output block as it is: the snippet raised {name}, which its block does not mark with `raises=`"),
                    )
                    .with_help(format!("fix the code, or mark the block `raises={name}` and run bless again")),
                );
            }
        }
    }
    (blocks, notes)
}

/// Carry edits of `expanded` (a chapter after `{{#include}}` expansion)
/// over to `raw` (the chapter file): an edit whose lines all stand in the
/// chapter file moves there; one inside included text cannot, and gives the
/// 1-based line of `raw` that brought that text in.
fn carry(raw: &str, expanded: &str, edit: &Edit) -> Result<Edit, usize> {
    if raw == expanded {
        return Ok(edit.clone());
    }
    let starts = |t: &str| -> Vec<usize> {
        std::iter::once(0)
            .chain(t.match_indices('\n').map(|(i, _)| i + 1))
            .collect()
    };
    let (raw_starts, new_starts) = (starts(raw), starts(expanded));
    // The 0-based line of `expanded` holding byte `at`.
    let line_of = |at: usize| new_starts.partition_point(|&s| s <= at) - 1;
    let (first, last) = (line_of(edit.range.start), line_of(edit.range.end));
    let diff = similar::TextDiff::from_lines(raw, expanded);
    for op in diff.ops() {
        let (old, new) = (op.old_range(), op.new_range());
        if !new.contains(&first) {
            continue;
        }
        if op.tag() != similar::DiffTag::Equal || last >= new.end {
            return Err(old.start + 1);
        }
        let shift = |at: usize| {
            let line = line_of(at);
            raw_starts[old.start + line - new.start] + (at - new_starts[line])
        };
        return Ok(Edit {
            range: shift(edit.range.start)..shift(edit.range.end),
            text: edit.text.clone(),
        });
    }
    Err(raw.lines().count())
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
        // The blocks whose every edit stands in the chapter file itself.
        let mut edits = Vec::new();
        let mut count = 0;
        for group in &rw.blocks {
            match group
                .iter()
                .map(|e| carry(&rw.raw, &rw.old, e))
                .collect::<Result<Vec<Edit>, usize>>()
            {
                Ok(mut moved) => {
                    edits.append(&mut moved);
                    count += 1;
                }
                Err(line) => problems.push(
                    Diagnostic::warning(
                        &path,
                        line,
                        "bless left an output block as it is: it is part of the text this line includes",
                    )
                    .with_help("fix the output block in the included file"),
                ),
            }
        }
        if edits.is_empty() {
            continue;
        }
        let new = crate::render::splice(&rw.raw, &mut edits);
        let result = crate::execute::fs::rewrite(&path, |disk| {
            let disk = std::str::from_utf8(disk).map_err(|_| CHANGED.to_string())?;
            // mdBook strips a BOM: keep it.
            let (bom, body) = match disk.strip_prefix('\u{feff}') {
                Some(rest) => ("\u{feff}", rest),
                None => ("", disk),
            };
            if body != rw.raw {
                return Err(CHANGED.to_string());
            }
            Ok(Some(format!("{bom}{new}").into_bytes()))
        });
        match result {
            Ok(_) => {
                written += 1;
                blocks += count;
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

/// Whether a build runs mdBook's `links` before the plugin: it is on (by
/// default, or named in book.toml) and the plugin is not told to go first.
fn links_run_first(config: &mdbook_preprocessor::config::Config) -> bool {
    let table = |key: &str| config.get::<serde_json::Value>(key).ok().flatten();
    let on = config.build.use_default_preprocessors || table("preprocessor.links").is_some();
    let before: Vec<String> = config
        .get("preprocessor.python.before")
        .ok()
        .flatten()
        .unwrap_or_default();
    on && !before.iter().any(|b| b == "links")
}

/// The pipeline for bless (mismatches are warnings: they are what it
/// fixes, and the report keeps only errors of theirs), and the rewrites that
/// settle verify's verdicts, chapter by chapter.
pub fn rewrites(
    ctx: &mdbook_preprocessor::PreprocessorContext,
    book: &mdbook_preprocessor::book::Book,
    options: &Options,
) -> (crate::Report, Vec<Rewrite>) {
    let request = Request {
        recall_chapters: false,
        browser: Browser::Off,
        on_mismatch: Some(OnMismatch::Warn),
    };
    let mut run = pipeline::run(ctx, book, options, request);
    let settled: Vec<&Diagnostic> = (run.chapters.iter())
        .flat_map(|c| c.verdicts.iter().flatten())
        .flat_map(|v| v.diagnostics.iter().filter(|d| !d.is_error()))
        .collect();
    run.report.diagnostics.retain(|d| !settled.contains(&d));
    let mut rewrites = Vec::new();
    for ch in &run.chapters {
        let Some(p) = &ch.plan else { continue };
        let examples: Vec<Vec<crate::execute::Example>> = (p.snippets.iter())
            .map(|s| {
                (ch.outcomes.get(s.index).and_then(Option::as_ref))
                    .map(|o| o.examples.clone())
                    .unwrap_or_default()
            })
            .collect();
        let (blocks, mut notes) =
            edits(&ch.file, &ch.text, ch.scanned(), p, &ch.verdicts, &examples);
        run.report.diagnostics.append(&mut notes);
        if !blocks.is_empty() {
            rewrites.push(Rewrite {
                path: std::path::PathBuf::from(&ch.source),
                raw: ch.text.clone(),
                old: ch.text.clone(),
                blocks,
            });
        }
    }
    run.finish();
    (run.report, rewrites)
}

/// `mdbook-python bless [DIR]`.
pub fn bless(dir: &Path, no_cache: bool) -> ExitCode {
    let md = match crate::commands::load(dir) {
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
    // What the chapter files hold, then the book as `check` sees it: after
    // mdBook's `links` (`{{#include}}`), which runs before the plugin.
    let raw: std::collections::HashMap<std::path::PathBuf, String> = md
        .book
        .chapters()
        .filter_map(|c| Some((c.source_path.clone()?, c.content.clone())))
        .collect();
    let mut book = md.book.clone();
    if links_run_first(&md.config) {
        book = match LinkPreprocessor::new().run(&ctx, book) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("mdbook-python: {e:#}");
                return ExitCode::FAILURE;
            }
        };
    }
    let options = Options {
        mode: Mode::Check,
        no_cache,
        display_root: crate::commands::display_root(dir),
        progress: true,
        ..Options::default()
    };
    let (mut report, mut rewrites) = rewrites(&ctx, &book, &options);
    let src = md.root.join(&md.config.book.src);
    for rw in &mut rewrites {
        if let Some(text) = raw.get(&rw.path) {
            rw.raw = text.clone();
        }
    }
    let (written, blocks, mut problems) = write(&src, rewrites);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, old: &str, new: &str) -> Edit {
        let start = text.find(old).unwrap();
        Edit {
            range: start..start + old.len(),
            text: new.to_string(),
        }
    }

    #[test]
    fn edits_after_an_include_move_to_the_chapter_file() {
        let raw = "# A\n\n{{#include x.md}}\n\n```output\nold\n```\n";
        let expanded = "# A\n\nline one\nline two\nline three\n\n```output\nold\n```\n";
        let moved = carry(raw, expanded, &edit(expanded, "old\n", "new\n")).unwrap();
        assert_eq!(
            crate::render::splice(raw, &mut [moved]),
            raw.replace("old", "new")
        );
        let same = edit(raw, "old\n", "new\n");
        assert_eq!(carry(raw, raw, &same).unwrap().range, same.range);
    }

    #[test]
    fn links_run_first_unless_turned_off_or_asked_to_run_after() {
        let run_first = |toml: &str| links_run_first(&toml.parse().unwrap());
        assert!(run_first("[book]\n"));
        assert!(!run_first("[build]\nuse-default-preprocessors = false\n"));
        assert!(run_first(
            "[build]\nuse-default-preprocessors = false\n[preprocessor.links]\n"
        ));
        assert!(!run_first("[preprocessor.python]\nbefore = [\"links\"]\n"));
    }

    #[test]
    fn edits_inside_included_text_name_the_including_line() {
        let raw = "# A\n\n{{#include x.md}}\n";
        let expanded = "# A\n\n```output\nold\n```\n";
        assert_eq!(
            carry(raw, expanded, &edit(expanded, "old\n", "new\n")),
            Err(3)
        );
    }
}
