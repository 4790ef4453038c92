//! What the commands do with a finished run. `build` publishes the front
//! end, runs the pipeline, renders every chapter it did not take whole from
//! the chapter cache, and splices the results into mdBook's book; `check`
//! runs the pipeline and keeps only its report. (`bless` is in `bless`,
//! `init` and `clean` stand apart: they need no run.)

use crate::pipeline::{self, Browser, Request, Run};
use crate::{Options, Report, quizzes, render};
use mdbook_driver::MDBook;
use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::Book;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A build: the book's chapters rewritten in place when nothing failed.
pub(crate) fn build(ctx: &PreprocessorContext, book: &mut Book, options: &Options) -> Report {
    let request = Request {
        recall_chapters: true,
        browser: Browser::IfConfiguredOrNotes,
        on_mismatch: None,
    };
    let mut run = Run::settle(ctx, options, request);
    if run.settled() && run.target == render::Target::Html {
        crate::publish_assets(&run.config, &ctx.root, &run.cache_dir, &mut run.report);
        let listed = |key: &str| {
            ctx.config
                .get::<Vec<String>>(&format!("output.html.{key}"))
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let (js, css) = (listed("additional-js"), listed("additional-css"));
        let assets = crate::assets_folder(&run.config);
        run.report
            .diagnostics
            .extend(crate::page_setup(&assets, &js, &css));
    }
    run.stages(book);
    run.finish();
    let new_text = render_chapters(&mut run);
    if run.report.errors() == 0 {
        book.for_each_chapter_mut(|ch| {
            if let Some(source) = &ch.source_path
                && let Some(t) = new_text.get(&source.to_string_lossy().replace('\\', "/"))
            {
                ch.content = t.clone();
            }
        });
    }
    run.report
}

/// `check`: run and verify; the report says the rest.
pub(crate) fn check(ctx: &PreprocessorContext, book: &Book, options: &Options) -> Report {
    let request = Request {
        recall_chapters: false,
        browser: if options.browser {
            Browser::Check
        } else {
            Browser::IfConfigured
        },
        on_mismatch: None,
    };
    let mut run = pipeline::run(ctx, book, options, request);
    run.finish();
    run.report
}

/// Render: each chapter's new text by its source path (only chapters that
/// changed), keeping chapters that verified without a word in the chapter
/// cache.
fn render_chapters(run: &mut Run) -> HashMap<String, String> {
    let mut new_text = HashMap::new();
    let Some(interpreter) = &run.interpreter else {
        return new_text;
    };
    let python = interpreter.short_version();
    let cx = render::Context {
        target: run.target,
        python: &python,
        browser_python: render::assets::BROWSER_PYTHON,
        labels: &run.config.labels,
        stdlib: &interpreter.stdlib,
    };
    for ch in &run.chapters {
        if let Some(c) = &ch.cached {
            new_text.insert(ch.source.clone(), c.content.clone());
            continue;
        }
        let Some(p) = &ch.plan else { continue };
        let mut edits = render::snippet_edits(&ch.text, ch.scanned(), p, &ch.verdicts, &cx);
        for (qi, (planned, runs)) in ch.quizzes.iter().zip(&ch.quiz_runs).enumerate() {
            if let Some(runs) = runs {
                let key = format!("{}#quiz{qi}", ch.source);
                edits.push(quizzes::edit(
                    planned,
                    runs,
                    &key,
                    run.target,
                    &run.config.quiz_labels,
                    ch.newline(),
                ));
            }
        }
        let content = render::splice(&ch.text, &mut edits);
        if let (Some(cc), Some(key)) = (run.chapter_cache.as_mut(), &ch.key)
            && ch.clean
        {
            cc.put(
                key.clone(),
                crate::execute::chapters::Rendered {
                    content: content.clone(),
                    programs: ch.programs,
                    notes: p.notes.clone(),
                },
            );
        }
        if !edits.is_empty() {
            new_text.insert(ch.source.clone(), content);
        }
    }
    if let Some(cc) = run.chapter_cache.take()
        && run.report.errors() == 0
    {
        let used: Vec<String> = (run.chapters.iter())
            .filter(|c| c.cached.is_some())
            .filter_map(|c| c.key.clone())
            .collect();
        cc.flush(&used);
    }
    new_text
}

/// Load the book in `dir` as mdBook does (for `check`, `bless`, `clean`,
/// `build` and `serve`).
pub(crate) fn load(dir: &Path) -> Result<MDBook, String> {
    if !dir.join("book.toml").exists() {
        return Err(format!(
            "{} has no book.toml: pass the book's folder (e.g. `mdbook-python check path/to/book`)",
            dir.display()
        ));
    }
    MDBook::load(dir).map_err(|e| format!("cannot load the book in {}: {e:#}", dir.display()))
}

/// The book's folder as messages name files in it (nothing for `.`).
pub(crate) fn display_root(dir: &Path) -> PathBuf {
    if dir == Path::new(".") {
        PathBuf::new()
    } else {
        dir.to_path_buf()
    }
}
