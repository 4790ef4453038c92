//! The `mdbook-python` binary: all of it lives in the library.

fn main() -> std::process::ExitCode {
    mdbook_python::cli::main()
}
