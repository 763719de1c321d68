//! The front end: text to typed values that remember where they were
//! written. YAML becomes a span-keeping tree (`yaml`), the tree becomes a
//! `Recipe` as written (`load`, `recipe`); `dotenv` reads `--env-file`s.
//! Everything that goes wrong is a `Diagnostic` quoting its line.

pub mod diagnostics;
pub mod dotenv;
pub mod load;
pub mod recipe;
pub mod yaml;
