//! The two small languages inside recipe strings: `${{name}}` placeholders
//! (`template`) and `if:` conditions (`cond`), and the Go templates
//! `melangec query` takes (`go_template`). Parsers and evaluators only;
//! the passes decide what is in scope.

pub mod cond;
pub mod go_template;
pub mod template;
