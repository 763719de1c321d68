//! The passes, in the order `build_ir` runs them. Each takes the previous
//! one's typed value and reports what it finds as diagnostics:
//!
//! 1. `parse_time`: what melange does while parsing (vars, var-transforms,
//!    exact-spelling paste, ranges, env-files, the build account, options,
//!    validation);
//! 2. `target`: the architecture must be one the recipe builds for;
//! 3. `expand`: every `uses:` takes its definition, inputs checked;
//! 4. `substitute`: every `${{…}}` filled in its step's scope;
//! 5. `fold`: `if:` decides which steps and subpackages remain;
//! 6. `accounts`: who steps run as, and the account files;
//! 7. `native`: pinned downloads and checkouts become BuildKit sources;
//! 8. `environment` and `metadata`, put together by `assemble`: the Build
//!    IR, which `ir::valid` checks before the back end lowers it.
//!
//! For `melangec test`, `suite` takes the place of 6 to 8: each `test:`
//! section becomes a test in the Suite IR.

pub mod accounts;
pub mod assemble;
pub mod environment;
pub mod expand;
pub mod fold;
pub mod metadata;
pub mod native;
pub mod parse_time;
pub mod substitute;
pub mod suite;
pub mod target;
