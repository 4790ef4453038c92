//! `mdbook-python build` and `mdbook-python serve`: mdBook's own engine
//! (`mdbook-driver`) in this process, with the plugin registered directly in
//! place of the `[preprocessor.python]` command (no process, no JSON pipe).
//! `build` writes what `mdbook build` writes; `serve` also serves the output
//! over HTTP (axum and tower-http, as `mdbook serve` does), watches the book
//! (src, theme, book.toml, `extra-watch-dirs`, and every file a chapter
//! includes or a quiz reads, wherever it is), rebuilds on a change and
//! reloads the open pages through mdBook's live-reload websocket.

use crate::{Mode, Options, PythonPreprocessor};
use mdbook_driver::MDBook;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Where mdBook's page script connects for live reload (`mdbook serve`'s).
const LIVE_RELOAD_ENDPOINT: &str = "__livereload";

/// mdBook's log (its warnings, "HTML book written") on stderr, as the
/// `mdbook` command shows it.
fn log_like_mdbook() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .without_time()
        .with_target(false)
        .try_init();
}

/// Load the book with our preprocessor in place of the configured one
/// (`MDBook::with_preprocessor` replaces the entry of the same name, keeping
/// its place among the preprocessors), output in `dest_dir` if given.
fn load(dir: &Path, dest_dir: Option<&Path>) -> Result<MDBook, String> {
    let mut md = crate::commands::load(dir)?;
    if let Some(dest) = dest_dir {
        md.config.build.build_dir = std::env::current_dir()
            .map(|cwd| cwd.join(dest))
            .unwrap_or_else(|_| dest.to_path_buf());
    }
    md.with_preprocessor(PythonPreprocessor::new(Options {
        mode: Mode::Build,
        // Files named relative to the book's root, as under `mdbook build`:
        // the output does not depend on where the command was run.
        display_root: PathBuf::new(),
        progress: true,
        ..Options::default()
    }));
    Ok(md)
}

fn failed(e: impl std::fmt::Display) -> ExitCode {
    let text = e.to_string();
    eprintln!(
        "mdbook-python: {}",
        text.trim_start_matches("mdbook-python: ")
    );
    ExitCode::FAILURE
}

/// `mdbook-python build [BOOK]`.
pub(crate) fn build(dir: &Path, dest_dir: Option<&Path>, open: bool) -> ExitCode {
    log_like_mdbook();
    let md = match load(dir, dest_dir) {
        Ok(m) => m,
        Err(e) => return failed(e),
    };
    if let Err(e) = md.build() {
        return failed(format!("{e:#}"));
    }
    if open {
        let index = md.build_dir_for("html").join("index.html");
        if let Err(e) = opener::open(&index) {
            return failed(format!("cannot open {}: {e}", index.display()));
        }
    }
    ExitCode::SUCCESS
}

/// The settings `mdbook serve` changes for serving.
fn for_serving(md: &mut MDBook) {
    let _ = (md.config).set("output.html.live-reload-endpoint", LIVE_RELOAD_ENDPOINT);
    // The 404 page's links start at the server's root.
    let _ = md.config.set("output.html.site-url", "/");
}

/// `mdbook-python serve [BOOK]`.
pub(crate) fn serve(
    dir: &Path,
    dest_dir: Option<&Path>,
    hostname: &str,
    port: u16,
    open: bool,
) -> ExitCode {
    log_like_mdbook();
    let mut md = match load(dir, dest_dir) {
        Ok(m) => m,
        Err(e) => return failed(e),
    };
    for_serving(&mut md);
    // Listen first: a busy port fails at once, and a browser that connects
    // during the first build waits for it.
    let listener = match std::net::TcpListener::bind((hostname, port)) {
        Ok(l) => l,
        Err(e) => return failed(format!("cannot listen on {hostname}:{port}: {e}")),
    };
    if let Err(e) = md.build() {
        return failed(format!("{e:#}"));
    }
    let build_dir = md.build_dir_for("html");
    let file_404 = (md.config.html_config().unwrap_or_default()).get_404_output_file();
    let (reload, _) = tokio::sync::broadcast::channel::<()>(16);
    let server_reload = reload.clone();
    let server = std::thread::spawn(move || http(listener, build_dir, file_404, server_reload));
    let url = format!("http://{hostname}:{port}");
    eprintln!("mdbook-python: serving the book on {url}");
    if open && let Err(e) = opener::open(&url) {
        eprintln!("mdbook-python: cannot open {url}: {e}");
    }
    let code = watch(dir, dest_dir, md, &|| {
        let _ = reload.send(());
    });
    drop(server);
    code
}

/// Serve `build_dir`, and tell every open page to reload when `reload` fires.
fn http(
    listener: std::net::TcpListener,
    build_dir: PathBuf,
    file_404: String,
    reload: tokio::sync::broadcast::Sender<()>,
) {
    use axum::extract::ws::{Message, WebSocketUpgrade};
    use tower_http::services::{ServeDir, ServeFile};
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("mdbook-python: cannot start the web server: {e}");
            std::process::exit(1);
        }
    };
    let websocket = move |ws: WebSocketUpgrade| {
        let mut reloads = reload.subscribe();
        async move {
            ws.on_upgrade(move |mut socket| async move {
                if reloads.recv().await.is_ok() {
                    let _ = socket.send(Message::text("reload")).await;
                }
            })
        }
    };
    let app = axum::Router::new()
        .route(
            &format!("/{LIVE_RELOAD_ENDPOINT}"),
            axum::routing::get(websocket),
        )
        .fallback_service(
            ServeDir::new(&build_dir).not_found_service(ServeFile::new(build_dir.join(file_404))),
        );
    let served = runtime.block_on(async move {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app).await
    });
    if let Err(e) = served {
        eprintln!("mdbook-python: the web server stopped: {e}");
        std::process::exit(1);
    }
}

/// What a book's build reads: folders (recursively) and single files.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Watched {
    pub(crate) dirs: BTreeSet<PathBuf>,
    pub(crate) files: BTreeSet<PathBuf>,
    /// Output and cache folders: changes there are the build's own.
    pub(crate) ignored: Vec<PathBuf>,
}

impl Watched {
    /// Everything `md`'s build reads, as canonical paths.
    pub(crate) fn of(md: &MDBook) -> Watched {
        let real = |p: &Path| std::fs::canonicalize(p).ok();
        let src = md.source_dir();
        let mut w = Watched::default();
        let dirs = [src.clone(), md.theme_dir()].into_iter().chain(
            md.config
                .build
                .extra_watch_dirs
                .iter()
                .map(|d| md.root.join(d)),
        );
        w.dirs.extend(dirs.filter_map(|d| real(&d)));
        w.files.extend(real(&md.root.join("book.toml")));
        for item in md.book.iter() {
            let mdbook_preprocessor::book::BookItem::Chapter(ch) = item else {
                continue;
            };
            let Some(source) = &ch.source_path else {
                continue;
            };
            let path = src.join(source);
            let Some(text) = crate::execute::fs::read_text(&path) else {
                continue;
            };
            let folder = path.parent().unwrap_or(&src);
            for file in crate::includes::files_included(&text, folder) {
                w.files.extend(real(&file));
            }
            // Quiz directives, in the chapter as written and in what it includes.
            for quiz in crate::scan::scan(&text).quizzes {
                w.files.extend(real(&folder.join(&quiz.path)));
            }
        }
        w.ignored.extend(real(&md.build_dir_for("html")));
        w.ignored.extend(real(&md.config.build.build_dir));
        if let Ok(config) = crate::config::read(&md.config, &md.root, None) {
            w.ignored.extend(real(&config.cache_dir_in(&md.root)));
        }
        w.files.retain(|f| !w.dirs.iter().any(|d| f.starts_with(d)));
        w
    }

    /// Whether a change of `path` (canonical, as reported) is one a rebuild
    /// must see.
    pub(crate) fn wants(&self, path: &Path) -> bool {
        if self.ignored.iter().any(|i| path.starts_with(i)) {
            return false;
        }
        self.files.contains(path) || self.dirs.iter().any(|d| path.starts_with(d))
    }

    /// The folders to ask the system to watch: each folder recursively,
    /// each single file through its folder (an editor that saves by
    /// renaming a new file over the old one replaces the file itself).
    fn folders(&self) -> Vec<(PathBuf, bool)> {
        let mut out: Vec<(PathBuf, bool)> = self.dirs.iter().map(|d| (d.clone(), true)).collect();
        let parents: BTreeSet<&Path> = self.files.iter().filter_map(|f| f.parent()).collect();
        out.extend(parents.into_iter().map(|p| (p.to_path_buf(), false)));
        out
    }
}

/// Rebuild on every change `Watched` wants, forever (or until watching fails).
/// The watcher lives on through a rebuild (a save during a build is not
/// lost) and is replaced only when what the book reads changed. Reads are
/// not changes: the build opens every file it watches.
fn watch(dir: &Path, dest_dir: Option<&Path>, md: MDBook, reload: &dyn Fn()) -> ExitCode {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watched = Watched::of(&md);
    // Kept alive (and replaced) for as long as the book is watched.
    let mut _watching = match watcher(&watched, tx.clone()) {
        Ok(w) => w,
        Err(e) => return failed(e),
    };
    eprintln!("mdbook-python: watching for changes (Ctrl-C to stop)");
    loop {
        let mut changed = BTreeSet::new();
        // Wait for a change, then for a quiet moment (an editor's save is
        // several events; so is a `git checkout`).
        let mut wait = None;
        loop {
            let event = match wait {
                None => rx.recv().map_err(|_| true),
                Some(quiet) => rx
                    .recv_timeout(quiet)
                    .map_err(|e| e == std::sync::mpsc::RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Ok(event)) if !matches!(event.kind, notify::EventKind::Access(_)) => {
                    let wanted = event
                        .paths
                        .into_iter()
                        .map(|p| std::fs::canonicalize(&p).unwrap_or(p))
                        .filter(|p| watched.wants(p));
                    changed.extend(wanted);
                    if !changed.is_empty() {
                        wait = Some(QUIET);
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!("mdbook-python: while watching: {e}"),
                Err(false) => break,
                Err(true) => return failed("the file watcher stopped"),
            }
        }
        let names: Vec<String> = changed.iter().map(|p| p.display().to_string()).collect();
        eprintln!("mdbook-python: changed: {}", names.join(", "));
        match load(dir, dest_dir) {
            Ok(mut fresh) => {
                for_serving(&mut fresh);
                match fresh.build() {
                    Ok(()) => reload(),
                    Err(e) => eprintln!("mdbook-python: {e:#}"),
                }
                let now = Watched::of(&fresh);
                if now != watched {
                    watched = now;
                    _watching = match watcher(&watched, tx.clone()) {
                        Ok(w) => w,
                        Err(e) => return failed(e),
                    };
                }
            }
            Err(e) => eprintln!("mdbook-python: {e}"),
        }
    }
}

/// How long the files must stay unchanged before a rebuild starts.
const QUIET: Duration = Duration::from_millis(200);

/// A watcher of `watched`'s folders, sending to `tx`.
fn watcher(
    watched: &Watched,
    tx: std::sync::mpsc::Sender<notify::Result<notify::Event>>,
) -> Result<notify::RecommendedWatcher, String> {
    use notify::{RecursiveMode, Watcher};
    let mut watcher =
        notify::recommended_watcher(tx).map_err(|e| format!("cannot watch the book: {e}"))?;
    for (folder, recursive) in watched.folders() {
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        if let Err(e) = watcher.watch(&folder, mode) {
            eprintln!("mdbook-python: cannot watch {}: {e}", folder.display());
        }
    }
    Ok(watcher)
}
