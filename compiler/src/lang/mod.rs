//! The two small languages inside recipe strings: `${{name}}` placeholders
//! (`template`) and `if:` conditions (`cond`). Parsers and evaluators only;
//! the passes decide what is in scope.

pub mod cond;
pub mod template;
