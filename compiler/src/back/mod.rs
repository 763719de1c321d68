//! The back end: the Build IR as BuildKit LLB. `llb` is the small
//! vocabulary graphs are built with, `lower` builds the graph with melange's
//! build semantics (`suite`, with `melange test`'s), `marshal` writes it as a `pb.Definition` whose digests
//! match BuildKit's Go client, `render` prints any definition for people.

pub mod llb;
pub mod lower;
pub mod marshal;
pub mod render;
pub mod suite;
