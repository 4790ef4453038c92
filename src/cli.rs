//! The command line: with no subcommand, the mdBook preprocessor protocol
//! (`[context, book]` JSON on stdin, the book on stdout; the usage instead
//! when stdin is a terminal); `supports`, and the
//! author's commands `check`, `bless` and `clean`. Each returns an exit code;
//! nothing here panics on bad input. `build` and `serve` (mdBook's engine
//! in this process) are in `serve`.

use crate::{Mode, Options, PythonPreprocessor, print_report};
use clap::{Parser, Subcommand};
use mdbook_preprocessor::book::Book;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "mdbook-python",
    version,
    about = "An mdBook preprocessor that runs every Python snippet at build time, verifies its output, and makes it runnable in the browser.",
    long_about = "An mdBook preprocessor that runs every Python snippet at build time, verifies its output, and makes it runnable in the browser.\n\nWith no subcommand it speaks mdBook's preprocessor protocol: add `[preprocessor.python]` to book.toml and run `mdbook build`."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Tell mdBook whether a renderer is supported (all are: html gets the
    /// full experience, the others plain Markdown).
    Supports { renderer: String },
    /// Run every snippet of a book and verify its output; exit 1 on any failure.
    Check {
        /// The book's folder (holding book.toml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Run everything again, ignoring and not filling the result cache.
        #[arg(long)]
        no_cache: bool,
        /// Also run every browser-runnable snippet in Pyodide under Node (the
        /// page's own runner) and fail where it prints something else than
        /// the page shows, unless the block is marked `browser=differs`.
        #[arg(long, conflicts_with = "shard")]
        browser: bool,
        /// Run on this one runtime of the matrix instead (`3.12`, a command
        /// or path, or `pyodide`), alone.
        #[arg(long, value_name = "RUNTIME")]
        runtime: Option<String>,
        /// Run and verify only part K of N of the jobs (`--shard 2/4`), for
        /// CI runners that share the work: each writes its results to its
        /// cache folder; the union of their `results/` folders is the cache
        /// of the whole book (see the guide's "Commands and CI").
        #[arg(long, value_name = "K/N")]
        shard: Option<crate::Shard>,
    },
    /// Build the book with mdBook's engine and this plugin in one process
    /// (what `mdbook build` with `[preprocessor.python]` writes; mdBook
    /// itself need not be installed).
    Build {
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Output folder (default: the book's `build-dir`, `book`).
        #[arg(short, long)]
        dest_dir: Option<PathBuf>,
        /// Open the book in a web browser once built.
        #[arg(short, long)]
        open: bool,
    },
    /// Build the book, serve it over HTTP, and rebuild and reload the page
    /// on every change (src, theme, book.toml, `extra-watch-dirs`, and the
    /// files chapters include or quizzes read).
    Serve {
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(short, long)]
        dest_dir: Option<PathBuf>,
        /// Host name or address to listen on.
        #[arg(short = 'n', long, default_value = "localhost")]
        hostname: String,
        #[arg(short, long, default_value_t = 3000)]
        port: u16,
        /// Open the book in a web browser.
        #[arg(short, long)]
        open: bool,
    },
    /// Write the real outputs into the book's `output` blocks.
    Bless {
        #[arg(default_value = ".")]
        dir: PathBuf,
        #[arg(long)]
        no_cache: bool,
    },
    /// Add `[preprocessor.python]` and the asset settings to a book's
    /// book.toml (comments and order kept; running it again changes nothing).
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Remove the cache folder (results and assets).
    Clean {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

/// The whole program.
pub fn main() -> ExitCode {
    // mdBook runs `supports` and then the preprocessor before every build:
    // neither waits for the command-line parser to be built (every renderer
    // is supported).
    crate::init_logs();
    let mut args = std::env::args_os().skip(1);
    match (args.next(), args.next(), args.next()) {
        (None, _, _) => return no_command(std::io::stdin().is_terminal()),
        (Some(cmd), Some(renderer), None)
            if cmd == "supports" && !renderer.to_string_lossy().starts_with('-') =>
        {
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let cli = Cli::parse();
    match cli.command {
        None => no_command(std::io::stdin().is_terminal()),
        Some(Command::Supports { .. }) => ExitCode::SUCCESS,
        Some(Command::Check {
            dir,
            no_cache,
            browser,
            runtime,
            shard,
        }) => check(&dir, no_cache, browser, runtime, shard),
        Some(Command::Build {
            dir,
            dest_dir,
            open,
        }) => crate::serve::build(&dir, dest_dir.as_deref(), open),
        Some(Command::Serve {
            dir,
            dest_dir,
            hostname,
            port,
            open,
        }) => crate::serve::serve(&dir, dest_dir.as_deref(), &hostname, port, open),
        Some(Command::Bless { dir, no_cache }) => crate::bless::bless(&dir, no_cache),
        Some(Command::Clean { dir }) => clean(&dir),
        Some(Command::Init { dir }) => match crate::init::run(&dir) {
            Ok(changes) if changes.is_empty() => {
                eprintln!("mdbook-python: book.toml already has everything; nothing changed");
                ExitCode::SUCCESS
            }
            Ok(changes) => {
                for c in changes {
                    eprintln!("mdbook-python: {c}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
    }
}

/// No subcommand: mdBook's protocol, unless stdin is a terminal (someone
/// typed `mdbook-python`): then nobody will send the book, so print the usage
/// and exit 2 instead of waiting.
fn no_command(stdin_is_terminal: bool) -> ExitCode {
    match usage_instead_of_protocol(stdin_is_terminal) {
        Some(usage) => {
            eprint!("{usage}");
            ExitCode::from(2)
        }
        None => preprocess(),
    }
}

/// What to print instead of reading mdBook's input, if anything.
fn usage_instead_of_protocol(stdin_is_terminal: bool) -> Option<String> {
    use clap::CommandFactory;
    stdin_is_terminal.then(|| {
        format!(
            "mdbook-python: no command given, and stdin is a terminal: with no command, mdbook-python reads the book mdBook sends on stdin (`mdbook build` runs it)\n\n{}",
            Cli::command().render_help()
        )
    })
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("mdbook-python: {msg}");
    ExitCode::FAILURE
}

/// Read mdBook's `[context, book]`. The input is parsed once, straight into
/// the book; the calling mdBook's version is then checked, and when the
/// input does not parse, it is read again loosely to say why: an
/// incompatible mdBook gets a sentence naming both versions, not a parse error.
pub fn parse_input(
    input: &str,
) -> Result<(mdbook_preprocessor::PreprocessorContext, Book), String> {
    let parsed = serde_json::from_str::<(mdbook_preprocessor::PreprocessorContext, Book)>(input);
    let version = match &parsed {
        Ok((ctx, _)) => ctx.mdbook_version.clone(),
        Err(_) => {
            let value: serde_json::Value = serde_json::from_str(input).map_err(|e| {
                format!("the input on stdin is not the JSON mdBook sends ({e}); this command is run by `mdbook build`, see `mdbook-python --help`")
            })?;
            value
                .get(0)
                .and_then(|ctx| ctx.get("mdbook_version"))
                .and_then(|v| v.as_str())
                .ok_or("the input on stdin is not the `[context, book]` pair mdBook sends: no `mdbook_version`; see `mdbook-python --help`")?
                .to_string()
        }
    };
    let req = semver::VersionReq::parse(crate::MDBOOK_REQUIREMENT).map_err(|e| e.to_string())?;
    let running = semver::Version::parse(&version).map_err(|e| {
        format!("mdBook reported the version `{version}`, which is not a version number ({e})")
    })?;
    if !req.matches(&running) {
        return Err(format!(
            "mdbook-python {} works with mdBook 0.5 (built against mdbook-preprocessor {}), but it is being run by mdBook {running}; install mdBook 0.5 with `cargo install mdbook --version 0.5.4 --locked`",
            env!("CARGO_PKG_VERSION"),
            mdbook_preprocessor::MDBOOK_VERSION
        ));
    }
    parsed.or_else(|e| {
        read_without_nulls(input).ok_or_else(|| {
            format!("mdBook {running} sent a book this version cannot read ({e}); please report it")
        })
    })
}

/// mdBook writes a `nan` or `inf` of book.toml as `null`, which its own
/// config then cannot read back. Read the input again with every `null` of
/// `[preprocessor.python]` (and its sub-tables) replaced by
/// `config::NOT_A_VALUE`, so the config check names the key instead of the
/// whole book failing.
fn read_without_nulls(input: &str) -> Option<(mdbook_preprocessor::PreprocessorContext, Book)> {
    let mut value: serde_json::Value = serde_json::from_str(input).ok()?;
    let table = value
        .get_mut(0)?
        .get_mut("config")?
        .get_mut("preprocessor")?
        .get_mut("python")?
        .as_object_mut()?;
    fn replace(v: &mut serde_json::Value) -> bool {
        match v {
            serde_json::Value::Null => {
                *v = serde_json::Value::String(crate::config::NOT_A_VALUE.into());
                true
            }
            serde_json::Value::Object(m) => m.values_mut().fold(false, |r, v| replace(v) | r),
            serde_json::Value::Array(a) => a.iter_mut().fold(false, |r, v| replace(v) | r),
            _ => false,
        }
    }
    if !table.values_mut().fold(false, |r, v| replace(v) | r) {
        return None;
    }
    serde_json::from_value(value).ok()
}

fn preprocess() -> ExitCode {
    let input = match crate::execute::fs::read_stdin().map(String::from_utf8) {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return fail(format!(
                "the input on stdin is not UTF-8 ({e}); this command is run by `mdbook build`, see `mdbook-python --help`"
            ));
        }
        Err(e) => return fail(format!("cannot read stdin: {e}")),
    };
    // Nothing changed since the last build: give mdBook the same answer.
    // (Only the context is read: the same input passed every check before.)
    let context = serde_json::from_str::<(
        mdbook_preprocessor::PreprocessorContext,
        serde::de::IgnoredAny,
    )>(&input);
    if let Some((answer, report)) = context
        .ok()
        .and_then(|(ctx, _)| crate::commands::replay(&ctx, input.as_bytes()))
    {
        print_report(&report);
        return answer_mdbook(&answer);
    }
    let (ctx, mut book) = match parse_input(&input) {
        Ok(x) => x,
        Err(e) => return fail(e),
    };
    let answer = {
        let options = Options::default();
        let report = crate::commands::build(&ctx, &mut book, &options);
        print_report(&report);
        if report.errors() > 0 {
            return fail(crate::failure_line(&report, options.mode));
        }
        let answer = match serde_json::to_vec(&book) {
            Ok(b) => b,
            Err(e) => return fail(format!("cannot serialise the book: {e}")),
        };
        crate::commands::remember(&ctx, input.as_bytes(), &answer, &report);
        answer
    };
    answer_mdbook(&answer)
}

/// Write the book back to mdBook, in one piece.
fn answer_mdbook(answer: &[u8]) -> ExitCode {
    crate::execute::fs::enlarge_stdout_pipe();
    let mut out = std::io::stdout().lock();
    match out.write_all(answer).and_then(|_| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(format!("cannot write the book to stdout: {e}")),
    }
}

/// A renderer that renders nothing: `check` only needs the preprocessors to
/// run as they would for html.
struct CheckRenderer;

impl mdbook_renderer::Renderer for CheckRenderer {
    fn name(&self) -> &str {
        "html"
    }
    fn render(&self, _ctx: &mdbook_renderer::RenderContext) -> mdbook_renderer::errors::Result<()> {
        Ok(())
    }
}

fn check(
    dir: &Path,
    no_cache: bool,
    browser: bool,
    runtime: Option<String>,
    shard: Option<crate::Shard>,
) -> ExitCode {
    let mut md = match crate::commands::load(dir) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let options = Options {
        mode: Mode::Check,
        no_cache,
        display_root: crate::commands::display_root(dir),
        progress: true,
        browser: browser || runtime.as_deref() == Some("pyodide"),
        runtime: runtime.filter(|r| r != "pyodide"),
        shard,
    };
    md.with_preprocessor(PythonPreprocessor::new(options));
    match md.preprocess_book(&CheckRenderer) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => fail(format!("{e:#}").trim_start_matches("mdbook-python: ")),
    }
}

/// `mdbook-python clean`: delete what the plugin wrote into its cache
/// folder (`execute::cache::clean`), after the same checks of `cache-dir`
/// as a build.
fn clean(dir: &Path) -> ExitCode {
    let md = match crate::commands::load(dir) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    let book_toml = crate::execute::fs::read_text(&md.root.join("book.toml"));
    let config = match crate::config::read(&md.config, &md.root, book_toml.as_deref()) {
        Ok(c) => c,
        Err(errors) => {
            for d in errors {
                eprintln!("{d}\n");
            }
            return fail("nothing was deleted");
        }
    };
    let cache = config.cache_dir_in(&md.root);
    if config.assets_dir.is_some() {
        let assets = config.assets_dir_in(&md.root);
        match crate::execute::cache::clean_assets(&assets) {
            Ok(true) => eprintln!("mdbook-python: removed the assets in {}", assets.display()),
            Ok(false) => {}
            Err(e) => return fail(e),
        }
    }
    match crate::execute::cache::clean(&cache) {
        Ok(Some(cleaned)) => {
            for path in &cleaned.left {
                eprintln!(
                    "mdbook-python: left {}: not written by mdbook-python",
                    path.display()
                );
            }
            if cleaned.removed {
                eprintln!("mdbook-python: removed {}", cache.display());
            } else {
                eprintln!(
                    "mdbook-python: removed the cache in {} (the folder stays for what is left)",
                    cache.display()
                );
            }
            ExitCode::SUCCESS
        }
        Ok(None) => {
            eprintln!(
                "mdbook-python: nothing to clean ({} does not exist)",
                cache.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_on_stdin_gets_the_usage_not_the_protocol() {
        assert_eq!(usage_instead_of_protocol(false), None);
        let usage = usage_instead_of_protocol(true).unwrap();
        assert!(usage.contains("Usage: mdbook-python [COMMAND]"), "{usage}");
    }
}
