//! The guide matches the code: every `[preprocessor.python]` key the config
//! accepts (`config::KEYS`), every block attribute the planner accepts
//! (`plan::ATTRIBUTES`), every subcommand and its options (clap's own
//! definition), and every `MDBOOK_PYTHON_*` environment variable the source
//! reads is documented in guide/src, where the README sends readers.

use clap::CommandFactory;
use std::path::Path;

fn guide(page: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("guide/src")
        .join(page);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn all_pages() -> String {
    fn walk(dir: &Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "md") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    let mut out = String::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("guide/src"),
        &mut out,
    );
    out
}

#[test]
fn every_config_key_is_on_the_configuration_page() {
    let page = guide("configuration.md");
    let missing: Vec<&str> = (mdbook_python::config::KEYS.iter().copied())
        .filter(|key| !page.contains(&format!("`{key}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "keys the config accepts but guide/src/configuration.md does not document: {missing:?}"
    );
}

#[test]
fn every_block_attribute_has_its_section_on_the_attributes_page() {
    let page = guide("attributes.md");
    let missing: Vec<&str> = (mdbook_python::plan::ATTRIBUTES.iter().copied())
        .filter(|a| {
            let name = a.trim_end_matches('=');
            !page
                .lines()
                .any(|l| l.starts_with("## `") && l[4..].starts_with(name))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "attributes without a `## ` section in guide/src/attributes.md: {missing:?}"
    );
}

#[test]
fn every_command_and_option_is_on_the_commands_page() {
    let page = guide("commands.md");
    let mut missing = Vec::new();
    for sub in mdbook_python::cli::Cli::command().get_subcommands() {
        let name = sub.get_name();
        if name == "supports" {
            // mdBook's half of the protocol, described with it.
            assert!(
                page.contains("`mdbook-python supports"),
                "`supports` is not explained"
            );
            continue;
        }
        if !page.contains(&format!("## `mdbook-python {name}")) {
            missing.push(format!("mdbook-python {name}"));
        }
        for arg in sub.get_arguments() {
            if let Some(long) = arg.get_long()
                && long != "help"
                && !page.contains(&format!("--{long}"))
            {
                missing.push(format!("mdbook-python {name} --{long}"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not documented in guide/src/commands.md: {missing:?}"
    );
}

#[test]
fn every_environment_variable_of_the_plugin_is_in_the_guide() {
    let pages = all_pages();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut names = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let text = std::fs::read_to_string(&p).unwrap();
                for piece in text.split('"').skip(1).step_by(2) {
                    if piece.starts_with("MDBOOK_PYTHON_")
                        && piece.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                    {
                        names.push(piece.to_string());
                    }
                }
            }
        }
    }
    names.sort();
    names.dedup();
    assert!(
        names.contains(&"MDBOOK_PYTHON_SEAL_KEY".to_string()),
        "the scan finds the variables: {names:?}"
    );
    let missing: Vec<&String> = names.iter().filter(|n| !pages.contains(*n)).collect();
    assert!(missing.is_empty(), "not in guide/src: {missing:?}");
}
