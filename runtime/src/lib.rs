//! The runtime: everything with a side effect. A build flows through the
//! stages in order: `recipe` (read the recipe and what it names, compile),
//! `environment` (resolve, lock, pin or assemble), `buildkit` (connect,
//! session, solve; `transfer` is the file protocol under it), `apk`
//! (package and index the export). `job` runs them as one build; the
//! command line (`src/cli`, in the binary) is a thin layer over it.

pub mod apk;
pub mod atomic;
pub mod buildkit;
pub mod cancel;
pub mod environment;
pub mod exclusive;
pub mod file_error;
pub mod job;
pub mod listing;
pub mod pipelines;
pub mod progress;
pub mod recipe;
pub mod scratch;
pub mod transfer;
