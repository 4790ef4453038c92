//! Integration tests: fixture books built in-process with mdBook and the
//! plugin, asserting on the produced HTML, on exact error messages, on the
//! command line, and on the refresher itself. See README.md beside this file.

mod blessing;
mod build;
mod cache_dir;
mod commands;
mod doctest_corpus;
mod engine;
mod errors;
mod exercises;
mod guide;
mod harness;
mod hostile;
mod kept;
mod matrix;
mod parity;
mod quizzes;
mod refresher;
mod rich;
mod serve;
mod shards;
mod sound;
mod untouched;
