//! Diagnostics: every problem the plugin reports, as data (file, line,
//! column, the include directive a line came through, message, help, detail)
//! and as compiler-style text. Stages never print or abort on the first
//! problem: they collect `Diagnostic`s and the caller fails once, after
//! reporting all of them.

use crate::render::visible;
use std::fmt;
use std::path::PathBuf;

/// How bad a diagnostic is. Errors fail the build; warnings are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One problem, pointing at a line of an author's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The file as the author knows it: relative to the book root when possible
    /// (`book/episode-1/mutability.md`).
    pub file: PathBuf,
    /// 1-based line in `file`; 0 when the problem is not tied to a line.
    pub line: usize,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// For a line of an included file: the directive that included it
    /// (`src/ch.md:11`), shown after the location.
    pub via: Option<String>,
    /// One sentence: what is wrong.
    pub message: String,
    /// How to fix it, when the plugin knows.
    pub help: Option<String>,
    /// A multi-line body shown under the message: a diff, a traceback.
    pub detail: Option<String>,
}

impl Diagnostic {
    pub fn error(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.into(),
            line,
            column: None,
            via: None,
            message: message.into(),
            help: None,
            detail: None,
        }
    }

    pub fn warning(file: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, line, message)
        }
    }

    pub fn with_column(mut self, column: usize) -> Self {
        self.column = Some(column);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line[:column]`, the part an editor or terminal can jump to.
    pub fn location(&self) -> String {
        let file = self.file.display();
        match (self.line, self.column) {
            (0, _) => format!("{file}"),
            (line, None) => format!("{file}:{line}"),
            (line, Some(col)) => format!("{file}:{line}:{col}"),
        }
    }
}

/// Compiler-style text:
///
/// ```text
/// error: output does not match
///   --> book/episode-1/mutability.md:42    (or: --> src/code/demo.py:3 (included by src/ch.md:11))
///    | <detail lines>
///    = help: run `mdbook-python bless`
/// ```
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        // Snippet text reaches the log here: terminal controls (a clear
        // screen, an OSC 52 clipboard write) are shown, never sent.
        writeln!(f, "{level}: {}", visible(&self.message))?;
        write!(f, "  --> {}", self.location())?;
        if let Some(via) = &self.via {
            write!(f, " (included by {via})")?;
        }
        if let Some(detail) = &self.detail {
            for line in visible(detail).lines() {
                write!(f, "\n   | {line}")?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n   = help: {help}")?;
        }
        Ok(())
    }
}

/// The closest candidate to `word` (by edit distance), for "did you mean" help.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2 && *d <= c.len() / 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_compiler_style() {
        let d = Diagnostic::error("book/a.md", 42, "output does not match")
            .with_detail("-old\n+new")
            .with_help("run `mdbook-python bless`");
        assert_eq!(
            d.to_string(),
            "error: output does not match\n  --> book/a.md:42\n   | -old\n   | +new\n   = help: run `mdbook-python bless`"
        );
    }

    #[test]
    fn closest_suggests_a_near_word_only() {
        assert_eq!(closest("norn", &["norun", "run", "session"]), Some("norun"));
        assert_eq!(closest("zzzzzzzz", &["norun", "run"]), None);
    }
}
