//! What the commands do with a finished run. `build` publishes the front
//! end, runs the pipeline, renders every chapter it did not take whole from
//! the chapter cache, and splices the results into mdBook's book; `check`
//! runs the pipeline and keeps only its report. Here too: the book cache's
//! `replay` and `remember` around a build through the mdBook protocol, and
//! publishing the front end's assets. (`bless` is in `bless`,
//! `init` and `clean` stand apart: they need no run.)

use crate::config::Config;
use crate::diagnostics::Diagnostic;
use crate::pipeline::{self, Browser, Request, Run};
use crate::{Options, Report, execute, interpreter_memos, quizzes, read_config, render};
use mdbook_driver::MDBook;
use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::Book;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A build: the book's chapters rewritten in place when nothing failed.
pub(crate) fn build(ctx: &PreprocessorContext, book: &mut Book, options: &Options) -> Report {
    let request = Request {
        recall_chapters: true,
        browser: Browser::IfConfiguredOrNotes,
        on_mismatch: None,
    };
    let mut run = Run::settle(ctx, options, request);
    if run.settled() && run.target == render::Target::Html {
        publish_assets(&run.config, &ctx.root, &run.cache_dir, &mut run.report);
        let listed = |key: &str| {
            ctx.config
                .get::<Vec<String>>(&format!("output.html.{key}"))
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let (js, css) = (listed("additional-js"), listed("additional-css"));
        let assets = assets_folder(&run.config);
        run.report
            .diagnostics
            .extend(page_setup(&assets, &js, &css));
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
                    crate::scan::newline(&ch.text),
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

/// A warm build's shortcut (see `execute::books`): mdBook's raw `input` in;
/// out, the answer the last build gave for exactly this input, and a report
/// saying every program was cached. `None` when anything may have changed,
/// the cache is off, or the interpreter is not remembered.
pub(crate) fn replay(ctx: &PreprocessorContext, input: &[u8]) -> Option<(Vec<u8>, Report)> {
    let started = Instant::now();
    let (cache_dir, assets_dir, key) = book_key(ctx, input)?;
    let assets = [render::assets::JS_FILE, render::assets::CSS_FILE];
    if ctx.renderer == "html" && !assets.iter().all(|a| assets_dir.join(a).is_file()) {
        return None;
    }
    let (entry, answer) = execute::books::load(&cache_dir, &ctx.renderer, &key)?;
    let mut report = Report {
        snippets: entry.programs,
        browser: entry.browser,
        notes: entry.notes,
        ..Report::default()
    };
    report.stats.programs = entry.programs;
    report.stats.cached = entry.programs;
    report.seconds = started.elapsed().as_secs_f64();
    Some((answer, report))
}

/// Keep a build's `answer` to mdBook's `input` for `replay`: only a build
/// that said nothing but its summary.
pub(crate) fn remember(ctx: &PreprocessorContext, input: &[u8], answer: &[u8], report: &Report) {
    if !report.diagnostics.is_empty() || report.failed > 0 {
        return;
    }
    if let Some((cache_dir, _, key)) = book_key(ctx, input) {
        let entry = execute::books::Entry {
            key,
            programs: report.snippets,
            browser: report.browser.clone(),
            inputs: report.inputs.clone(),
            notes: report.notes.clone(),
        };
        execute::books::store(&cache_dir, &ctx.renderer, &entry, answer);
    }
}

/// The book cache's folder and key: mdBook's whole input, the plugin
/// binary, the interpreter and the browser-parity results.
fn book_key(ctx: &PreprocessorContext, input: &[u8]) -> Option<(PathBuf, PathBuf, String)> {
    let config = read_config(ctx, None).ok()?;
    if !config.cache {
        return None;
    }
    let cache_dir = config.cache_dir_in(&ctx.root);
    let memos = interpreter_memos(&config, &cache_dir, &ctx.root);
    let interpreter = execute::interpreter::lookup(&config.python, &ctx.root, &memos)?;
    let key = execute::books::BookKey {
        binary: &execute::books::exe_stamp(),
        interpreter: &interpreter,
        browser: &execute::browser::generation(&cache_dir),
        input,
    }
    .hash();
    Some((cache_dir, config.assets_dir_in(&ctx.root), key))
}

/// The assets folder relative to the book (`assets-dir`, else
/// `<cache-dir>/assets`), as `additional-js`/`-css` name it.
pub(crate) fn assets_folder(config: &Config) -> PathBuf {
    config
        .assets_dir
        .clone()
        .unwrap_or_else(|| config.cache_dir.join(render::assets::DIR))
}

/// The warning of a book whose pages would not load the front end: book.toml's
/// `additional-js`/`-css` (`js`, `css`) lack the files the build writes into
/// `cache_dir`, or name them in another folder. Its detail is the lines to
/// write (other entries kept).
pub(crate) fn page_setup(assets: &Path, js: &[String], css: &[String]) -> Option<Diagnostic> {
    let parts = |p: &str| -> Vec<String> {
        Path::new(&p.replace('\\', "/"))
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect()
    };
    let dir = assets.to_string_lossy().replace('\\', "/");
    let dir = dir.trim_start_matches("./").trim_end_matches('/');
    let mut stale = Vec::new();
    let mut lines = vec!["[output.html]".to_string()];
    for (key, list, file) in [
        ("additional-js", js, render::assets::JS_FILE),
        ("additional-css", css, render::assets::CSS_FILE),
    ] {
        let wanted = format!("{dir}/{file}");
        if list.iter().any(|e| parts(e) == parts(&wanted)) {
            continue;
        }
        let name = file.rsplit('/').next().unwrap_or(file);
        // Entries for our file in another folder go; the author's own stay.
        let (old, kept): (Vec<&String>, Vec<&String>) = list
            .iter()
            .partition(|e| e.replace('\\', "/").ends_with(name));
        stale.extend(old);
        let items: Vec<String> = kept
            .into_iter()
            .chain([&wanted])
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect();
        lines.push(format!("{key} = [{}]", items.join(", ")));
    }
    if lines.len() == 1 {
        return None;
    }
    let message = if stale.is_empty() {
        "the pages get no Run buttons: book.toml does not load mdbook-python's front end"
            .to_string()
    } else {
        let old: Vec<String> = stale.iter().map(|s| format!("`{s}`")).collect();
        format!(
            "the pages get no Run buttons: book.toml loads {} but the build writes its front end into `{dir}`",
            old.join(" and ")
        )
    };
    let help = if dir == ".mdbook-python/assets" {
        "write these lines into book.toml, or run `mdbook-python init`, which adds them"
    } else {
        "write these lines into book.toml (`mdbook-python init` adds them for the default folder)"
    };
    Some(
        Diagnostic::warning("book.toml", 0, message)
            .with_detail(lines.join("\n"))
            .with_help(help),
    )
}

/// Write the front-end bundle where book.toml's `additional-js`/`-css` find it.
/// A warm build skips making it (a few hundred microseconds) when the stamp
/// in the cache folder says the files are as the same binary and settings
/// left them.
pub(crate) fn publish_assets(config: &Config, root: &Path, cache_dir: &Path, report: &mut Report) {
    let assets = config.assets_dir_in(root);
    let files = [
        assets.join(render::assets::JS_FILE),
        assets.join(render::assets::CSS_FILE),
    ];
    let stamp = cache_dir.join("assets.stamp");
    // What the bundle is made of, besides the binary.
    let made_of = (
        &config.pyodide_url,
        config.output_limit,
        &config.labels,
        &config.quiz_labels,
        &config.figure_format,
        &config.packages,
    );
    let key = execute::keys::KeyHasher::new("mdbook-python assets v1")
        .field(execute::books::exe_stamp().as_bytes())
        .field(format!("{made_of:?}\0{assets:?}").as_bytes())
        .finish();
    if execute::fs::stamp_holds(&stamp, &key, &files) {
        return;
    }
    let (url, limit, labels, quiz_labels, figure_format, packages) = made_of;
    let (js, css) =
        render::assets::bundle(url, limit, labels, quiz_labels, figure_format, packages);
    let result = execute::cache::prepare_dir(cache_dir)
        .and_then(|_| match config.assets_dir {
            Some(_) => execute::cache::prepare_assets_dir(&assets),
            None => Ok(()),
        })
        .and_then(|_| {
            execute::fs::write_if_changed(&assets.join(render::assets::JS_FILE), js.as_bytes())
        })
        .and_then(|_| {
            execute::fs::write_if_changed(&assets.join(render::assets::CSS_FILE), css.as_bytes())
        });
    if result.is_ok() {
        execute::fs::write_stamp(&stamp, &key, &files);
    }
    if let Err(e) = result {
        report.diagnostics.push(
            Diagnostic::error(
                &assets,
                0,
                format!("cannot write the front-end assets: {e}"),
            )
            .with_help(
                "make the folder writable, or set `assets-dir` (or `cache-dir`) in [preprocessor.python]",
            ),
        );
    }
}
