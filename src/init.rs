//! `mdbook-python init [BOOK_DIR]`: add `[preprocessor.python]`, the asset
//! lines and the hidden-line prefix to an existing book.toml, keeping its
//! comments, order, formatting and line endings (`toml_edit`), written with
//! `execute::fs::rewrite` (permissions and symbolic links kept). Running it
//! twice changes nothing the second time.

use crate::render::assets::{CSS_FILE, DIR, JS_FILE};
use std::path::Path;
use toml_edit::{Array, DocumentMut, Item, Table, value};

/// Edit book.toml text; returns the new text and what changed.
pub fn edit(text: &str) -> Result<(String, Vec<String>), String> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("book.toml is not valid TOML: {e}"))?;
    let mut changes = Vec::new();
    // The renderers the book has: listing them in `renderers` spares mdBook
    // a `supports` process per build (the plugin checks the list stays whole).
    let mut renderers: Vec<String> = (doc.get("output").and_then(Item::as_table))
        .map(|o| o.iter().map(|(k, _)| k.to_string()).collect())
        .unwrap_or_default();
    if !renderers.iter().any(|r| r == "html") {
        renderers.insert(0, "html".to_string());
    }
    let pre = table(doc.as_table_mut(), "preprocessor")?;
    if !pre.contains_key("python") {
        let mut t = Table::new();
        t.decor_mut().set_prefix("\n# Runs every Python block at build time; see the mdbook-python guide for the keys.\n");
        t.insert("renderers", value(Array::from_iter(&renderers)));
        pre.insert("python", Item::Table(t));
        changes.push(format!(
            "added [preprocessor.python] for the renderers {}",
            renderers.join(", ")
        ));
    }
    // The assets' folder as book.toml sets it (`assets-dir`, else
    // `<cache-dir>/assets`).
    let python = doc.get("preprocessor").and_then(|p| p.get("python"));
    let setting = |key: &str| {
        python
            .and_then(|t| t.get(key))
            .and_then(|v| v.as_str())
            .map(|s| s.trim_end_matches('/').to_string())
    };
    let folder = setting("assets-dir").unwrap_or_else(|| {
        format!(
            "{}/{DIR}",
            setting("cache-dir").unwrap_or_else(|| ".mdbook-python".into())
        )
    });
    let html = table(table(doc.as_table_mut(), "output")?, "html")?;
    for (key, file) in [("additional-js", JS_FILE), ("additional-css", CSS_FILE)] {
        let wanted = format!("{folder}/{file}");
        let entry = html.entry(key).or_insert(value(Array::new()));
        let Some(array) = entry.as_array_mut() else {
            return Err(format!("`output.html.{key}` in book.toml is not an array"));
        };
        if !array.iter().any(|v| v.as_str() == Some(&wanted)) {
            array.push(wanted.as_str());
            changes.push(format!("added \"{wanted}\" to output.html.{key}"));
        }
    }
    let hidelines = table(table(html, "code")?, "hidelines")?;
    if !hidelines.contains_key("python") {
        hidelines.insert("python", value("~"));
        changes
            .push("set output.html.code.hidelines.python = \"~\" (hidden setup lines)".to_string());
    }
    Ok((doc.to_string(), changes))
}

/// The sub-table `key` of `parent`, created (implicit, so no empty header is
/// printed) when missing.
fn table<'a>(parent: &'a mut Table, key: &str) -> Result<&'a mut Table, String> {
    let item = parent.entry(key).or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    item.as_table_mut()
        .ok_or_else(|| format!("`{key}` in book.toml is not a table"))
}

/// The command: edit `dir/book.toml` in place (`execute::fs::rewrite`: a
/// link stays a link, permissions stay; CRLF line endings stay CRLF).
pub fn run(dir: &Path) -> Result<Vec<String>, String> {
    use crate::execute::fs::RewriteError;
    let path = dir.join("book.toml");
    let mut changes = Vec::new();
    let result = crate::execute::fs::rewrite(&path, |bytes| {
        let text =
            std::str::from_utf8(bytes).map_err(|e| format!("book.toml is not UTF-8 text: {e}"))?;
        let (new, found) = edit(text)?;
        changes = found;
        Ok((new != text).then(|| keep_line_endings(text, &new).into_bytes()))
    });
    match result {
        Ok(_) => Ok(changes),
        Err(RewriteError::Edit(e)) => Err(e),
        Err(RewriteError::Changed) => Err(format!(
            "{} changed while init was running; it was not written, run `mdbook-python init` again",
            path.display()
        )),
        Err(RewriteError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Err(format!(
            "cannot read {}: {e} (run `mdbook init` first to create a book)",
            path.display()
        )),
        Err(RewriteError::Io(e)) => Err(format!("cannot write {}: {e}", path.display())),
    }
}

/// `new` with CRLF line endings if `old` used them (`toml_edit` writes the
/// lines it adds with LF).
fn keep_line_endings(old: &str, new: &str) -> String {
    if old.contains("\r\n") {
        new.replace("\r\n", "\n").replace('\n', "\r\n")
    } else {
        new.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_asset_lines_follow_assets_dir_or_cache_dir() {
        let text = "[book]\ntitle = \"T\"\n\n[preprocessor.python]\nassets-dir = \"mdpy/\"\n";
        let (new, _) = edit(text).unwrap();
        assert!(
            new.contains("additional-js = [\"mdpy/mdbook-python.js\"]"),
            "{new}"
        );
        assert!(
            new.contains("additional-css = [\"mdpy/mdbook-python.css\"]"),
            "{new}"
        );
        let text = "[book]\ntitle = \"T\"\n\n[preprocessor.python]\ncache-dir = \"cache\"\n";
        let (new, _) = edit(text).unwrap();
        assert!(
            new.contains("additional-js = [\"cache/assets/mdbook-python.js\"]"),
            "{new}"
        );
    }

    #[test]
    fn adds_what_is_missing_and_keeps_the_rest() {
        let text = "# My book\n[book]\ntitle = \"T\" # the title\n\n[output.html]\nadditional-css = [\"custom.css\"]\n";
        let (new, changes) = edit(text).unwrap();
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(
            new.starts_with("# My book\n[book]\ntitle = \"T\" # the title\n"),
            "{new}"
        );
        assert!(
            new.contains(
                "additional-css = [\"custom.css\", \".mdbook-python/assets/mdbook-python.css\"]"
            ),
            "{new}"
        );
        assert!(
            new.contains("[preprocessor.python]\nrenderers = [\"html\"]\n"),
            "{new}"
        );
        let (with_md, _) = edit("[output.markdown]\n").unwrap();
        assert!(
            with_md.contains("renderers = [\"html\", \"markdown\"]"),
            "{with_md}"
        );
        assert!(new.contains("python = \"~\""), "{new}");
        let (again, none) = edit(&new).unwrap();
        assert_eq!(again, new);
        assert!(none.is_empty());
    }

    #[test]
    fn crlf_stays_crlf() {
        let old = "[book]\r\ntitle = \"T\"\r\n";
        let (new, _) = edit(old).unwrap();
        let kept = keep_line_endings(old, &new);
        assert!(kept.starts_with(old), "{kept:?}");
        assert_eq!(kept.matches('\n').count(), kept.matches("\r\n").count());
        assert_eq!(keep_line_endings("a\n", "a\nb\n"), "a\nb\n");
    }

    #[test]
    fn invalid_toml_is_an_error() {
        assert!(
            edit("[book\n")
                .unwrap_err()
                .starts_with("book.toml is not valid TOML")
        );
    }
}
