//! Line-independent results. A job's cache key leaves out where its
//! programs sit in the chapter, so a paragraph inserted above them re-runs
//! nothing; what a cached outcome says about lines of its own programs
//! (traceback frames `File "src/a.md", line 12`, warnings
//! `src/a.md:12: SyntaxWarning`, `>>>` example lines) is moved to where the
//! programs sit now. Outcomes remember the line their program started at
//! when it ran (`Outcome::first_line`).

use super::Outcome;
use crate::plan::Program;
use regex::Regex;

/// One program's lines then and now: `[old, old + len)` moves to `new`.
#[derive(Debug, Clone, Copy)]
struct Move {
    old: usize,
    len: usize,
    new: usize,
}

/// Move the line numbers in `outcomes` (cached, run with their programs at
/// `first_line`) to where `programs` are now.
pub(crate) fn relocate(outcomes: &mut [Outcome], programs: &[Program]) {
    let moves: Vec<Move> = outcomes
        .iter()
        .zip(programs)
        .filter(|(o, p)| o.first_line != 0 && o.first_line != p.line)
        .map(|(o, p)| Move {
            old: o.first_line,
            len: crate::scan::Lines::count(&p.code).max(1),
            new: p.line,
        })
        .collect();
    if moves.is_empty() {
        return;
    }
    let file = regex::escape(&programs[0].file.to_string_lossy());
    let Ok(pattern) = Regex::new(&format!(r#"(File "{file}", line |{file}:)(\d+)"#)) else {
        return;
    };
    let map = |n: usize| {
        moves
            .iter()
            .find(|m| (m.old..m.old + m.len).contains(&n))
            .map_or(n, |m| m.new + (n - m.old))
    };
    for (o, p) in outcomes.iter_mut().zip(programs) {
        let (text, shifts) = rewrite(&o.output, &pattern, &map);
        for r in &mut o.rich {
            r.at = shifted(r.at, &shifts);
        }
        o.output = text;
        for ex in &mut o.examples {
            ex.line = map(ex.line);
            ex.got = rewrite(&ex.got, &pattern, &map).0;
        }
        o.first_line = p.line;
    }
}

/// `text` with every matched line number mapped, and the (offset in the
/// old text, change in length) of each replacement.
fn rewrite(
    text: &str,
    pattern: &Regex,
    map: &dyn Fn(usize) -> usize,
) -> (String, Vec<(usize, isize)>) {
    let mut shifts = Vec::new();
    let out = pattern.replace_all(text, |c: &regex::Captures| {
        let digits = &c[2];
        let new = digits
            .parse::<usize>()
            .map_or(digits.to_string(), |n| map(n).to_string());
        let m = c.get(2).map_or(0, |m| m.start());
        shifts.push((m, new.len() as isize - digits.len() as isize));
        format!("{}{new}", &c[1])
    });
    (out.into_owned(), shifts)
}

/// Where byte offset `at` of the old text is in the new one.
fn shifted(at: usize, shifts: &[(usize, isize)]) -> usize {
    let delta: isize = shifts
        .iter()
        .filter(|(pos, _)| *pos < at)
        .map(|(_, d)| d)
        .sum();
    at.saturating_add_signed(delta)
}

/// Line numbers of Markdown files' frames and warnings do not count when
/// an output block is compared: they move with the prose above the block.
pub(crate) fn without_line_numbers(text: &str) -> std::borrow::Cow<'_, str> {
    static PATTERN: std::sync::OnceLock<Option<Regex>> = std::sync::OnceLock::new();
    let pattern =
        PATTERN.get_or_init(|| Regex::new(r#"(File "[^"\n]*\.md", line |[^\s:"]+\.md:)\d+"#).ok());
    match pattern {
        Some(p) => p.replace_all(text, "${1}N"),
        None => std::borrow::Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn program(line: usize, code: &str) -> Program {
        Program::sample("src/a.md", line, code)
    }

    #[test]
    fn frames_and_warnings_of_the_programs_move_with_them() {
        let mut o = Outcome::failed(crate::execute::Failure::NotRun);
        o.failure = None;
        o.first_line = 9;
        o.output = "x\nTraceback (most recent call last):\n  File \"src/a.md\", line 10, in <module>\n  File \"other.py\", line 10\nsrc/a.md:9: SyntaxWarning: w\nsrc/b.md:9: no\n".into();
        o.rich = vec![crate::execute::Rich {
            at: o.output.len(),
            mime: "text/html".into(),
            data: String::new(),
            alt: None,
            text: String::new(),
            figure: false,
        }];
        relocate(std::slice::from_mut(&mut o), &[program(99, "a\nb\n")]);
        assert_eq!(
            o.output,
            "x\nTraceback (most recent call last):\n  File \"src/a.md\", line 100, in <module>\n  File \"other.py\", line 10\nsrc/a.md:99: SyntaxWarning: w\nsrc/b.md:9: no\n"
        );
        assert_eq!(
            o.rich[0].at,
            o.output.len(),
            "offsets follow longer numbers"
        );
        assert_eq!(o.first_line, 99);
    }

    #[test]
    fn comparison_ignores_the_files_own_line_numbers() {
        assert_eq!(
            without_line_numbers(
                "File \"src/a.md\", line 12, in f\nsrc/a.md:3: W\nline 4\nFile \"x.py\", line 3"
            ),
            "File \"src/a.md\", line N, in f\nsrc/a.md:N: W\nline 4\nFile \"x.py\", line 3"
        );
    }
}
