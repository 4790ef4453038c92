//! The pipeline: `Run::settle` reads the configuration, then `Run::stages`
//! runs the stages in order over the book's chapters: collect, locate the
//! interpreter, recall (the chapter cache), scan, plan, place (included
//! code's lines, the shard), execute, matrix, parity, verify. Each fills its
//! own fields of the `Run` (see `model`) and none writes back into an
//! earlier stage's data; `finish` sums the report. Rendering and what
//! happens to the results is the commands' business (`commands`, `bless`).

pub(crate) mod model;

pub(crate) use model::{Browser, Chapter, Request, Run};

use crate::config::{self, Config};
use crate::diagnostics::Diagnostic;
use crate::execute;
use crate::plan::{self, Origin};
use crate::{Options, Report, includes, matrix, parity, quiz, quizzes, render, scan, verify};
use crate::{exercise, read_config};
use mdbook_preprocessor::PreprocessorContext;
use mdbook_preprocessor::book::{Book, BookItem};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Run every stage over `book` for a command's `request`.
pub(crate) fn run<'a>(
    ctx: &'a PreprocessorContext,
    book: &Book,
    options: &'a Options,
    request: Request,
) -> Run<'a> {
    let mut run = Run::settle(ctx, options, request);
    run.stages(book);
    run
}

impl<'a> Run<'a> {
    /// The configuration (book.toml's table, the command's overrides) and
    /// what follows from it. A book.toml the plugin cannot use gives a run
    /// whose report holds why, and whose stages do nothing.
    pub(crate) fn settle(
        ctx: &'a PreprocessorContext,
        options: &'a Options,
        request: Request,
    ) -> Run<'a> {
        let mut report = Report::default();
        let book_toml = execute::fs::read_text(&ctx.root.join("book.toml"));
        let config = match read_config(ctx, book_toml.as_deref()) {
            Ok(c) => match &options.runtime {
                Some(runtime) => Config {
                    python: runtime.clone(),
                    matrix: Vec::new(),
                    ..c
                },
                None => c,
            },
            Err(errors) => {
                report.diagnostics = errors;
                Config::default()
            }
        };
        if report.diagnostics.is_empty() {
            let outputs: Vec<String> = match ctx.config.outputs::<serde_json::Value>() {
                Ok(o) if !o.is_empty() => o.into_keys().collect(),
                _ => vec!["html".to_string()],
            };
            let table: Option<serde_json::Value> =
                ctx.config.get("preprocessor.python").ok().flatten();
            if let Some(d) = config::check_renderers(table.as_ref(), &outputs, book_toml.as_deref())
            {
                report.diagnostics.push(d);
            }
        }
        let target = if ctx.renderer == "html" {
            render::Target::Html
        } else {
            render::Target::Text
        };
        Run {
            settled: report.diagnostics.is_empty(),
            ctx,
            options,
            request,
            target,
            src: options.display_root.join(&ctx.config.book.src),
            cache_dir: config.cache_dir_in(&ctx.root),
            use_cache: config.cache && !options.no_cache,
            on_mismatch: request.on_mismatch.unwrap_or(config.on_mismatch),
            config,
            interpreter: None,
            chapters: Vec::new(),
            jobs: Vec::new(),
            moved: HashMap::new(),
            results: Vec::new(),
            matrix: None,
            chapter_cache: None,
            report,
            started: Instant::now(),
        }
    }

    /// Whether `settle` found the configuration usable.
    pub(crate) fn settled(&self) -> bool {
        self.settled
    }

    /// The stages, in order. Never panics on bad input: problems are in the
    /// report.
    pub(crate) fn stages(&mut self, book: &Book) {
        if !self.settled() {
            return;
        }
        let mut timings = Timings::new();
        self.collect(book);
        if self.chapters.is_empty() || !self.locate() {
            return;
        }
        self.recall();
        self.scan();
        timings.lap("scan");
        self.plan();
        self.place();
        timings.lap("plan");
        self.execute();
        self.run_matrix();
        self.assign();
        timings.lap("execute");
        self.parity();
        timings.lap("parity");
        self.verify();
        timings.lap("verify");
    }

    /// Collect: the chapters a substring test says may hold Python or a quiz.
    fn collect(&mut self, book: &Book) {
        for item in book.iter() {
            if let BookItem::Chapter(ch) = item
                && let Some(source) = &ch.source_path
                && scan::may_have_python(&ch.content)
            {
                self.chapters.push(Chapter::new(
                    self.src.join(source),
                    source.to_string_lossy().replace('\\', "/"),
                    ch.content.clone(),
                ));
            }
        }
    }

    /// The interpreter, remembered in the cache folder (even with
    /// `--no-cache`: that flag is about results, and resolving through a
    /// shim costs ~100 ms of CPU). Not finding it is an error only for a
    /// book that really has Python.
    fn locate(&mut self) -> bool {
        let root = &self.ctx.root;
        let _ = execute::cache::prepare_dir(&self.cache_dir);
        let memos = crate::interpreter_memos(&self.config, &self.cache_dir, root);
        use execute::interpreter::MIN_PYTHON;
        match execute::interpreter::locate(&self.config.python)
            .and_then(|python| execute::interpreter::resolve(&python, root, &memos))
        {
            Ok(i) => {
                self.interpreter = Some(i);
                true
            }
            Err(e) => {
                let has_python = self.chapters.iter_mut().any(|c| {
                    let s = c.scan();
                    !s.quizzes.is_empty()
                        || s.fences.iter().any(|f| scan::LANGS.contains(&f.lang()))
                });
                if has_python {
                    self.report.diagnostics.push(
                        Diagnostic::error("book.toml", 0, e)
                            .with_help(format!("set `python` in [preprocessor.python] to a Python {}.{}+ interpreter: a command on PATH or a path, e.g. `.venv/bin/python`", MIN_PYTHON.0, MIN_PYTHON.1)),
                    );
                }
                false
            }
        }
    }

    /// Recall: a chapter whose every input is unchanged is taken whole from
    /// the chapter cache: no parsing, planning, running or rendering. Its
    /// key reads the chapter's quiz files, which the book cache then checks.
    fn recall(&mut self) {
        if !(self.use_cache && self.request.recall_chapters) {
            return;
        }
        let Some(interpreter) = &self.interpreter else {
            return;
        };
        let cc = execute::chapters::Chapters::open(&self.cache_dir);
        let browser = execute::browser::generation(&self.cache_dir);
        let binary = execute::books::exe_stamp();
        let dirs: Vec<PathBuf> = (self.chapters.iter())
            .map(|c| self.chapter_dirs(&c.source).0)
            .collect();
        let keys = execute::chapters::ChapterKey {
            binary: &binary,
            config: &self.config,
            target: self.target,
            src: &self.src,
            interpreter,
            browser: &browser,
        }
        .shared();
        for (ch, dir) in self.chapters.iter_mut().zip(dirs) {
            let mut quiz_files = Vec::new();
            if scan::may_have_quiz(&ch.text) {
                for d in &ch.scan().quizzes {
                    let path = dir.join(&d.path);
                    quiz_files.push(execute::fs::read_text(&path).unwrap_or_default());
                    let hash = execute::books::file_hash(&path);
                    self.report.inputs.push((path, hash));
                }
            }
            let key = keys.key(&ch.source, &ch.text, &quiz_files);
            ch.cached = cc.get(&key).cloned();
            ch.key = Some(key);
            if let Some(c) = &ch.cached {
                self.report.stats.cached += c.programs;
                self.report.stats.programs += c.programs;
                self.report.notes.add(&c.notes);
            }
        }
        self.chapter_cache = Some(cc);
    }

    /// Scan every chapter not taken whole.
    fn scan(&mut self) {
        for ch in self.chapters.iter_mut().filter(|c| c.cached.is_none()) {
            ch.scan();
        }
    }

    /// Plan: snippets, exercises and quizzes, and their jobs. A block with
    /// a problem is left out; the rest of the book runs.
    fn plan(&mut self) {
        let Some(interpreter) = &self.interpreter else {
            return;
        };
        let version = (interpreter.version.0, interpreter.version.1);
        let dirs: Vec<_> = (self.chapters.iter())
            .map(|c| self.chapter_dirs(&c.source))
            .collect();
        let (config, report) = (&self.config, &mut self.report);
        let book_src = self.ctx.root.join(&self.ctx.config.book.src);
        for (i, (ch, (dir_on_disk, dir_display))) in self.chapters.iter_mut().zip(dirs).enumerate()
        {
            let place = quizzes::ChapterPlace {
                quiz_language: &config.quiz_language,
                file: &ch.file,
                dir_on_disk: dir_on_disk.clone(),
                dir_display: dir_display.clone(),
            };
            let (planned, mut quiz_errors) = quizzes::plan(ch.scanned(), &place);
            for q in planned.iter().flat_map(|p| &p.quiz.questions) {
                if let quiz::Kind::Tracing(t) = &q.kind
                    && !t.is_python()
                {
                    *report
                        .notes
                        .quiz_unrun
                        .entry(t.language.clone())
                        .or_default() += 1;
                }
            }
            if ch.cached.is_some() {
                // Its quizzes still take part in the book-wide id check.
                ch.quizzes = planned;
                continue;
            }
            ch.map = execute::fs::read_text(&book_src.join(&ch.source)).and_then(|source| {
                includes::LineMap::build(
                    &source,
                    &ch.text,
                    &ch.file,
                    &dir_on_disk,
                    &dir_display,
                    &|p: &Path| execute::fs::read_text(p),
                )
            });
            let (mut p, mut problems) = plan::plan(
                &ch.file,
                &ch.source,
                &ch.text,
                ch.scanned(),
                config,
                version,
            );
            ch.problems = !problems.is_empty();
            report.notes.add(&p.notes);
            report.diagnostics.append(&mut problems);
            self.jobs.extend(plan::jobs(i, &p, config));
            // The browser's tracebacks name where included code was
            // written, as the build's do.
            if let Some(map) = &ch.map {
                for s in &mut p.snippets {
                    let count = scan::Lines::count(&s.code).max(1);
                    let place = map.span(s.line, count).unwrap_or_else(|| map.place(s.line));
                    if place.file != ch.file || place.line != s.line {
                        s.written = Some((place.file, place.line));
                    }
                }
            }
            ch.plan = Some(p);
            report.diagnostics.append(&mut quiz_errors);
            self.jobs.extend(quizzes::jobs(
                i,
                &planned,
                config.timeout,
                config.output_limit,
            ));
            ch.quizzes = planned;
        }
        let all: Vec<&quiz::Quiz> = (self.chapters.iter())
            .flat_map(|c| c.quizzes.iter().map(|p| &p.quiz))
            .collect();
        self.report.diagnostics.extend(quiz::check_unique_ids(&all));
    }

    /// Place: programs of chapters with included text name the file and
    /// line their code was written at (so tracebacks do); programs name
    /// their file relative to the book root, wherever the command runs
    /// from (outputs and cache keys stay the same); `--shard` keeps its part.
    fn place(&mut self) {
        for p in self.jobs.iter_mut().flat_map(|j| j.programs.iter_mut()) {
            let ch = &self.chapters[p.id.chapter];
            let Some(map) = ch.map.as_ref().filter(|_| p.file == ch.file) else {
                continue;
            };
            let count = scan::Lines::count(&p.code).max(1);
            let place = map.span(p.line, count).unwrap_or_else(|| map.place(p.line));
            if place.line != p.line || place.file != p.file {
                self.moved.insert(p.id, (p.line, place.line));
                p.file = place.file;
                p.line = place.line;
            }
        }
        let display_root = &self.options.display_root;
        if !display_root.as_os_str().is_empty() {
            for p in self.jobs.iter_mut().flat_map(|j| j.programs.iter_mut()) {
                if let Ok(rel) = p.file.strip_prefix(display_root) {
                    p.file = rel.to_path_buf();
                }
            }
        }
        if let (Some(shard), Some(interpreter)) = (self.options.shard, &self.interpreter) {
            let all = self.jobs.len();
            let format = &self.config.figure_format;
            self.jobs
                .retain(|j| shard.holds(&execute::cache::key(interpreter, j, format)));
            self.report.shard = Some(format!(
                "mdbook-python: shard {}/{}: {} of {all} jobs (the other shards run the rest)",
                shard.index,
                shard.count,
                self.jobs.len()
            ));
        }
    }

    fn pool_settings(&self) -> execute::pool::Settings {
        execute::pool::Settings {
            jobs: self.config.jobs,
            limits: self.config.rlimits(),
            network: self.config.network.clone(),
            figure_format: self.config.figure_format.clone(),
            mpl_config_dir: Some(self.cache_dir.join("matplotlib")),
        }
    }

    fn result_cache(&self) -> Option<execute::cache::Cache> {
        // Read the result packs only when something is left to run or look up.
        (self.use_cache && !self.jobs.is_empty())
            .then(|| execute::cache::Cache::new(&self.cache_dir))
    }

    /// Execute: every job through the cache and the pool; each outcome goes
    /// to its item.
    fn execute(&mut self) {
        let Some(interpreter) = &self.interpreter else {
            return;
        };
        let cache = self.result_cache();
        let total: usize = self.jobs.iter().map(|j| j.programs.len()).sum();
        let bar = progress_bar(self.options.progress, total);
        let tick = |n: usize| {
            if let Some(b) = &bar {
                b.inc(n as u64);
            }
        };
        let (results, stats) = execute::run(
            interpreter,
            &self.jobs,
            cache.as_ref(),
            &self.pool_settings(),
            &tick,
        );
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        self.report.stats.run += stats.run;
        self.report.stats.cached += stats.cached;
        self.report.stats.programs += stats.programs;
        self.report.stats.workers = stats.workers;
        self.report.stats.sandbox = stats.sandbox;
        self.report.network_isolated = self.config.network == "loopback";
        self.results = results;
    }

    /// Assign: each outcome to its item (after the matrix, which compares
    /// job by job).
    fn assign(&mut self) {
        for ch in self.chapters.iter_mut() {
            let Some(p) = &ch.plan else { continue };
            ch.outcomes = vec![None; p.snippets.len()];
            ch.quiz_outcomes = (ch.quizzes.iter())
                .map(|q| vec![None; q.quiz.questions.len()])
                .collect();
            ch.proofs = vec![Vec::new(); p.exercises.len()];
        }
        let results = std::mem::take(&mut self.results);
        for (job, outs) in self.jobs.iter().zip(results) {
            for (program, mut outcome) in job.programs.iter().zip(outs) {
                let id = program.id;
                let ch = &mut self.chapters[id.chapter];
                ch.programs += 1;
                match id.origin {
                    Origin::Snippet => {
                        if let Some(&(expanded, written)) = self.moved.get(&id) {
                            // `>>>` lines come back counted from where the
                            // program says it was written; the later stages
                            // count lines of the chapter as given.
                            for ex in &mut outcome.examples {
                                ex.line = (ex.line + expanded).saturating_sub(written);
                            }
                        }
                        if let Some(slot) = ch.outcomes.get_mut(id.item) {
                            *slot = Some(outcome);
                        }
                    }
                    Origin::Quiz(q, question) => {
                        if let Some(slot) = ch
                            .quiz_outcomes
                            .get_mut(q)
                            .and_then(|q| q.get_mut(question))
                        {
                            *slot = Some(outcome);
                        }
                    }
                    Origin::Exercise(x, attempt) => {
                        if let Some(proof) = ch.proofs.get_mut(x) {
                            proof.resize_with(proof.len().max(attempt + 1), Vec::new);
                            proof[attempt].push(outcome);
                        }
                    }
                }
            }
        }
    }

    /// Matrix: the same jobs on every further Python of `matrix`.
    fn run_matrix(&mut self) {
        let Some(interpreter) = &self.interpreter else {
            return;
        };
        if self.config.matrix.is_empty() {
            return;
        }
        let root = &self.ctx.root;
        let resolve_one = |cmd: &str| {
            execute::interpreter::resolve(
                cmd,
                root,
                &crate::interpreter_memos_for(cmd, &self.cache_dir, root),
            )
        };
        let runtimes = match matrix::resolve(&self.config.matrix, &resolve_one) {
            Err(mut errors) => {
                self.report.diagnostics.append(&mut errors);
                return;
            }
            Ok(runtimes) => runtimes,
        };
        let cache = self.result_cache();
        let settings = self.pool_settings();
        let run_jobs = |i: &execute::Interpreter, js: &[plan::Job]| {
            execute::run(i, js, cache.as_ref(), &settings, &|_| {}).0
        };
        let found = matrix::run(
            &ChapterLookup(&self.chapters),
            interpreter,
            &runtimes,
            &self.jobs,
            &self.results,
            &run_jobs,
            self.config.output_limit,
        );
        self.matrix = Some(found);
    }

    /// Browser parity: run and compare (`check --browser`, `browser-check`),
    /// or only look up cached results, which a build's notes use.
    fn parity(&mut self) {
        let (Some(want), Some(interpreter)) = (self.browser_want(), &self.interpreter) else {
            return;
        };
        let python = interpreter.short_version();
        let book = parity::Book {
            chapters: (self.chapters.iter().enumerate())
                .filter_map(|(i, c)| Some((i, c.plan.as_ref()?, c.outcomes.as_slice())))
                .collect(),
            config: &self.config,
            root: &self.ctx.root,
            src: &self.ctx.config.book.src,
            cache_dir: &self.cache_dir,
            use_cache: self.use_cache,
            python: &python,
        };
        let found = parity::check(&book, want, self.on_mismatch);
        self.report.failed += found.failed;
        self.report.diagnostics.extend(found.diagnostics);
        self.report.browser = found.summary;
        for id in found.differs {
            let ch = &mut self.chapters[id.chapter];
            let n = ch.plan.as_ref().map_or(0, |p| p.snippets.len());
            ch.browser_differs.resize(n, false);
            if let Some(d) = ch.browser_differs.get_mut(id.index) {
                *d = true;
            }
        }
    }

    /// Verify: each snippet's verdict, each exercise's proof, each quiz's
    /// answers against the runs.
    fn verify(&mut self) {
        let limit = self.config.output_limit;
        let (on_mismatch, report) = (self.on_mismatch, &mut self.report);
        for (i, ch) in self.chapters.iter_mut().enumerate() {
            if ch.cached.is_some() {
                continue;
            }
            let Some(p) = &ch.plan else { continue };
            let before = report.diagnostics.len();
            ch.verdicts = (p.snippets.iter())
                .map(|s| {
                    let o = ch.outcomes.get(s.index)?.as_ref()?;
                    let mut v = verify::verify(&ch.file, s, o, on_mismatch, limit);
                    if let Some(found) = &self.matrix
                        && let Some(variants) = found.variants.get(&plan::SnippetId {
                            chapter: i,
                            index: s.index,
                        })
                    {
                        v.variants = variants.clone();
                    }
                    v.browser_differs = ch.browser_differs.get(s.index) == Some(&true);
                    Some(v)
                })
                .collect();
            for (ex, proofs) in p.exercises.iter().zip(&ch.proofs) {
                if !proofs.is_empty() {
                    let mut errors = exercise::verify(&ch.file, ex, proofs);
                    report.failed += usize::from(!errors.is_empty());
                    report.diagnostics.append(&mut errors);
                }
            }
            for v in ch.verdicts.iter().flatten() {
                if v.diagnostics.iter().any(|d| d.is_error()) {
                    report.failed += 1;
                }
                report.diagnostics.extend(v.diagnostics.iter().cloned());
            }
            ch.quiz_runs = Vec::new();
            for (planned, outcomes) in ch.quizzes.iter().zip(&mut ch.quiz_outcomes) {
                // A shard verifies a quiz only when it ran all of its programs.
                if self.options.shard.is_some()
                    && !(planned.quiz.python_programs().iter())
                        .all(|tp| outcomes.get(tp.question).is_some_and(Option::is_some))
                {
                    ch.quiz_runs.push(None);
                    continue;
                }
                let (runs, mut errors) = quizzes::runs(planned, |question| {
                    outcomes.get_mut(question).and_then(Option::take)
                });
                let mut verified = quiz::verify(&planned.quiz, &runs);
                if errors.iter().chain(&verified).any(|d| d.is_error()) {
                    report.failed += 1;
                }
                report.diagnostics.append(&mut errors);
                report.diagnostics.append(&mut verified);
                ch.quiz_runs.push(Some(runs));
            }
            ch.clean = report.diagnostics.len() == before && !ch.problems;
        }
    }

    /// The report's totals, the matrix's table and findings, and every
    /// diagnostic placed at the line its author wrote.
    pub(crate) fn finish(&mut self) {
        let report = &mut self.report;
        report.snippets = report.stats.programs;
        if let (Some(found), Some(interpreter)) = (self.matrix.take(), &self.interpreter) {
            let primary = matrix::Row {
                runtime: self.config.python.clone(),
                version: interpreter.short_version(),
                run: report.stats.programs,
                same: report.stats.programs,
                marked: 0,
                failing: report.failed,
            };
            report.failed += found.failed;
            report.diagnostics.extend(found.diagnostics);
            report.matrix = Some(matrix::table(&primary, &found.rows));
        }
        let mut diagnostics = std::mem::take(&mut report.diagnostics);
        self.place_diagnostics(&mut diagnostics);
        self.report.diagnostics = diagnostics;
        self.report.seconds = self.started.elapsed().as_secs_f64();
    }

    /// Diagnostics at lines of a chapter with included text point at the
    /// line written: the chapter's own, or the included file's and the
    /// directive.
    pub(crate) fn place_diagnostics(&self, diagnostics: &mut [Diagnostic]) {
        let maps: HashMap<&Path, &includes::LineMap> = (self.chapters.iter())
            .filter_map(|c| Some((c.file.as_path(), c.map.as_ref()?)))
            .collect();
        for d in diagnostics
            .iter_mut()
            .filter(|d| d.line > 0 && d.via.is_none())
        {
            if let Some(map) = maps.get(d.file.as_path()) {
                let place = map.place(d.line);
                d.file = place.file;
                d.line = place.line;
                d.via = place.via;
            }
        }
    }
}

/// The matrix's view of the book: chapters and their snippets by id.
struct ChapterLookup<'a>(&'a [Chapter]);

impl matrix::Lookup for ChapterLookup<'_> {
    fn snippet(&self, id: &plan::ProgramId) -> Option<(&Path, &plan::Snippet)> {
        let ch = self.0.get(id.chapter)?;
        let s = ch.plan.as_ref()?.snippets.get(id.item)?;
        Some((ch.file.as_path(), s))
    }
    fn file(&self, chapter: usize) -> &Path {
        &self.0[chapter].file
    }
    fn quiz_version_specific(&self, chapter: usize, quiz: usize, question: usize) -> bool {
        self.0
            .get(chapter)
            .and_then(|c| c.quizzes.get(quiz))
            .and_then(|p| p.quiz.questions.get(question))
            .is_some_and(|q| matches!(&q.kind, quiz::Kind::Tracing(t) if t.version_specific))
    }
}

/// Stage times, as `tracing` events (`MDBOOK_PYTHON_LOG=info` shows the
/// summary, `debug` each stage and every cache hit and miss): where a slow
/// build spends its time.
struct Timings {
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Timings {
    fn new() -> Self {
        Timings {
            last: Instant::now(),
            laps: Vec::new(),
        }
    }

    fn lap(&mut self, stage: &'static str) {
        let now = Instant::now();
        let ms = (now - self.last).as_secs_f64() * 1000.0;
        tracing::debug!(stage, ms, "stage done");
        self.laps.push((stage, ms));
        self.last = now;
    }
}

impl Drop for Timings {
    fn drop(&mut self) {
        let laps: Vec<String> = self
            .laps
            .iter()
            .map(|(s, ms)| format!("{s} {ms:.1} ms"))
            .collect();
        tracing::info!("timings: {}", laps.join(", "));
    }
}

/// A progress bar on stderr, only when asked for and stderr is a terminal.
fn progress_bar(wanted: bool, total: usize) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !wanted || total == 0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} snippets ({elapsed})")
    {
        bar.set_style(style);
    }
    Some(bar)
}
