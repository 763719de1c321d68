//! Marshal: LLB graph -> `pb.Definition` bytes. Ops are written
//! dependencies first in a depth-first post-order from the result (inputs in
//! input order), the terminal op last; maps are sorted; each op is encoded as
//! BuildKit's Go client encodes it, so digests match a Go client's.

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::NodeIndex;
use prost::Message;
use sha2::{Digest, Sha256};

use melangec_proto::pb;

use super::llb::{FileAction, LlbGraph, Mount, OpKind, State};
use crate::options::Arch;
use crate::source::SourceFile;

/// The marshaled definition and the digest of every op, in `def` order.
pub struct Marshaled {
    pub definition: pb::Definition,
    pub bytes: Vec<u8>,
    pub digests: Vec<String>,
    /// The digest of each op of the graph that the result reads.
    pub digest_of: HashMap<NodeIndex, String>,
}

/// What [`FileAction::Await`] copies: a name no step makes.
const AWAIT_PATTERN: &str = "/.melangec-await-nothing-*";

pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(71);
    out.push_str("sha256:");
    for b in hash {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 15)] as char);
    }
    out
}

fn platform(arch: Arch) -> pb::Platform {
    pb::Platform {
        architecture: arch.goarch().to_owned(),
        os: "linux".to_owned(),
        ..Default::default()
    }
}

/// Marshals the graph ending in `result`, consuming it; `recipe` becomes the
/// source map's only file, named by its file name.
pub fn marshal(mut g: LlbGraph, result: State, recipe: &SourceFile) -> Marshaled {
    let mut order = Vec::new();
    let mut seen = HashMap::new();
    post_order(&g, result.op, &mut seen, &mut order);
    let lines = LineIndex::new(recipe.text());

    let mut digest_of: HashMap<NodeIndex, String> = HashMap::new();
    let mut def = Vec::with_capacity(order.len() + 1);
    let mut digests = Vec::with_capacity(order.len() + 1);
    let mut metadata = BTreeMap::new();
    let mut locations = BTreeMap::new();
    let mut emitted = std::collections::HashSet::new();
    let mut described = false;
    // As Go's client, the terminal op records these caps for all ops.
    let mut ignoring = false;

    for node in order {
        let op = &mut g.graph[node];
        let reads = op.reads();
        let caps = op.caps();
        let origin = op.origin;
        let ignore_cache = op.ignore_cache;
        ignoring |= ignore_cache;
        let name = std::mem::take(&mut op.name);
        let mut description = std::mem::take(&mut op.description);
        // Each op is encoded once, so its strings move into the message.
        let kind = std::mem::replace(
            &mut op.kind,
            OpKind::File {
                base: None,
                actions: Vec::new(),
            },
        );
        let bytes = encode(kind, &reads, g.arch, &digest_of).encode_to_vec();
        let d = digest(&bytes);
        digest_of.insert(node, d.clone());
        // Identical ops share a digest; BuildKit keeps one.
        if !emitted.insert(d.clone()) {
            continue;
        }
        if !name.is_empty() {
            description.insert("llb.customname".to_owned(), name);
            described = true;
        }
        metadata.insert(
            d.clone(),
            pb::OpMetadata {
                description,
                caps: caps.into_iter().map(|c| (c.to_owned(), true)).collect(),
                ignore_cache,
                ..Default::default()
            },
        );
        let ranges = origin.map(|span| {
            let start = lines.line_of(span.start) as i32;
            let end = lines.line_of(span.end.saturating_sub(1).max(span.start)) as i32;
            pb::Location {
                source_index: 0,
                ranges: vec![pb::Range {
                    start: Some(pb::Position {
                        line: start,
                        character: 0,
                    }),
                    end: Some(pb::Position {
                        line: end,
                        character: 0,
                    }),
                }],
            }
        });
        // prost leaves an empty map value out, which Go decodes as a nil
        // message that BuildKit dereferences when that op fails: ops
        // without a recipe line get no entry at all.
        if let Some(range) = ranges {
            locations.insert(
                d.clone(),
                pb::Locations {
                    locations: vec![range],
                },
            );
        }
        def.push(bytes);
        digests.push(d);
    }

    let terminal = pb::Op {
        inputs: vec![pb::Input {
            digest: digest_of[&result.op].clone(),
            index: result.output,
        }],
        ..Default::default()
    };
    let bytes = terminal.encode_to_vec();
    let d = digest(&bytes);
    let mut caps: BTreeMap<String, bool> = [("constraints", true), ("platform", true)]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    if described {
        caps.insert("meta.description".to_owned(), true);
    }
    if ignoring {
        caps.insert("meta.ignorecache".to_owned(), true);
    }
    metadata.insert(
        d.clone(),
        pb::OpMetadata {
            caps,
            ..Default::default()
        },
    );
    def.push(bytes);
    digests.push(d);

    let definition = pb::Definition {
        def,
        metadata,
        source: Some(pb::Source {
            locations,
            infos: vec![pb::SourceInfo {
                filename: file_name(recipe.name()).to_owned(),
                data: recipe.text().as_bytes().to_vec(),
                definition: None,
                language: String::new(),
            }],
        }),
    };
    let bytes = definition.encode_to_vec();
    Marshaled {
        definition,
        bytes,
        digests,
        digest_of,
    }
}

/// Line starts of a text, for turning byte offsets into 1-based lines.
struct LineIndex(Vec<u32>);

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i as u32 + 1),
        );
        LineIndex(starts)
    }

    fn line_of(&self, offset: u32) -> u32 {
        self.0.partition_point(|&start| start <= offset) as u32
    }
}

/// The last path component: a source map never names a machine's path.
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The ops `node` reads, each after the ones it reads, `node` last. Walked
/// with an explicit stack: a chain of steps is as long as the recipe.
fn post_order(
    g: &LlbGraph,
    node: NodeIndex,
    seen: &mut HashMap<NodeIndex, ()>,
    out: &mut Vec<NodeIndex>,
) {
    // Each entry is a node and the reads of it still to visit, reversed.
    let mut stack: Vec<(NodeIndex, Vec<NodeIndex>)> = Vec::new();
    let enter = |n: NodeIndex, seen: &mut HashMap<NodeIndex, ()>| {
        seen.insert(n, ()).is_none().then(|| {
            let mut reads: Vec<NodeIndex> = g.op(n).reads().iter().map(|s| s.op).collect();
            reads.reverse();
            (n, reads)
        })
    };
    stack.extend(enter(node, seen));
    while let Some((_, reads)) = stack.last_mut() {
        match reads.pop() {
            Some(next) => {
                if let Some(frame) = enter(next, seen) {
                    stack.push(frame);
                }
            }
            None => {
                if let Some((done, _)) = stack.pop() {
                    out.push(done);
                }
            }
        }
    }
}

fn encode(
    kind: OpKind,
    reads: &[State],
    arch: Arch,
    digest_of: &HashMap<NodeIndex, String>,
) -> pb::Op {
    let inputs: Vec<pb::Input> = reads
        .iter()
        .map(|s| pb::Input {
            digest: digest_of[&s.op].clone(),
            index: s.output,
        })
        .collect();
    let slot = |s: &State| reads.iter().position(|r| r == s).map_or(-1, |i| i as i64);
    let (kind, platform) = match kind {
        OpKind::Source { identifier, attrs } => {
            (pb::op::Op::Source(pb::SourceOp { identifier, attrs }), None)
        }
        OpKind::Exec(exec) => {
            let mut output = 0;
            let mounts = exec
                .mounts
                .into_iter()
                .map(|m| match m {
                    Mount::Bind {
                        dest,
                        input,
                        readonly,
                    } => {
                        let out = if readonly {
                            -1
                        } else {
                            output += 1;
                            output - 1
                        };
                        pb::Mount {
                            input: input.as_ref().map_or(-1, slot),
                            dest,
                            output: out,
                            readonly,
                            ..Default::default()
                        }
                    }
                    Mount::Cache { dest, id } => pb::Mount {
                        input: -1,
                        dest,
                        output: -1,
                        mount_type: pb::MountType::Cache as i32,
                        cache_opt: Some(pb::CacheOpt {
                            id,
                            sharing: pb::CacheSharingOpt::Shared as i32,
                        }),
                        ..Default::default()
                    },
                })
                .collect();
            (
                pb::op::Op::Exec(pb::ExecOp {
                    meta: Some(pb::Meta {
                        args: exec.args,
                        env: exec.env,
                        cwd: exec.cwd,
                        user: exec.user,
                        remove_mount_stubs_recursive: true,
                        ..Default::default()
                    }),
                    mounts,
                    ..Default::default()
                }),
                Some(platform(arch)),
            )
        }
        OpKind::File { base, actions } => {
            let n = reads.len() as i64;
            let last = actions.len().saturating_sub(1);
            let actions = actions
                .into_iter()
                .enumerate()
                .map(|(i, a)| {
                    let input = if i == 0 {
                        base.as_ref().map_or(-1, slot)
                    } else {
                        n + i as i64 - 1
                    };
                    let (secondary, action) = match a {
                        FileAction::Mkdir {
                            path,
                            mode,
                            parents,
                            timestamp,
                        } => (
                            -1,
                            pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                                path,
                                mode: mode & 0o777,
                                make_parents: parents,
                                owner: None,
                                timestamp: timestamp.unwrap_or(-1),
                            }),
                        ),
                        FileAction::Mkfile {
                            path,
                            mode,
                            data,
                            timestamp,
                        } => (
                            -1,
                            pb::file_action::Action::Mkfile(pb::FileActionMkFile {
                                path,
                                mode: mode & 0o777,
                                data,
                                owner: None,
                                timestamp: timestamp.unwrap_or(-1),
                            }),
                        ),
                        FileAction::Unpack { from, src, dest } => (
                            slot(&from),
                            pb::file_action::Action::Copy(pb::FileActionCopy {
                                src,
                                dest,
                                mode: -1,
                                attempt_unpack_docker_compatibility: true,
                                create_dest_path: true,
                                timestamp: -1,
                                ..Default::default()
                            }),
                        ),
                        FileAction::Await { from } => (
                            slot(&from),
                            pb::file_action::Action::Copy(pb::FileActionCopy {
                                src: AWAIT_PATTERN.to_owned(),
                                dest: "/".to_owned(),
                                mode: -1,
                                allow_wildcard: true,
                                allow_empty_wildcard: true,
                                create_dest_path: true,
                                timestamp: -1,
                                ..Default::default()
                            }),
                        ),
                        FileAction::Rm { path } => (
                            -1,
                            pb::file_action::Action::Rm(pb::FileActionRm {
                                path,
                                allow_not_found: true,
                                allow_wildcard: true,
                            }),
                        ),
                        FileAction::Copy {
                            from,
                            src,
                            dest,
                            contents_only,
                            create_dest_path,
                        } => (
                            slot(&from),
                            pb::file_action::Action::Copy(pb::FileActionCopy {
                                src,
                                dest,
                                mode: -1,
                                dir_copy_contents: contents_only,
                                create_dest_path,
                                timestamp: -1,
                                ..Default::default()
                            }),
                        ),
                    };
                    pb::FileAction {
                        input,
                        secondary_input: secondary,
                        output: if i == last { 0 } else { -1 },
                        action: Some(action),
                    }
                })
                .collect();
            (
                pb::op::Op::File(pb::FileOp { actions }),
                Some(platform(arch)),
            )
        }
        OpKind::Merge { inputs } => (
            pb::op::Op::Merge(pb::MergeOp {
                inputs: inputs
                    .iter()
                    .map(|s| pb::MergeInput { input: slot(s) })
                    .collect(),
            }),
            None,
        ),
    };
    pb::Op {
        inputs,
        op: Some(kind),
        platform,
        constraints: Some(pb::WorkerConstraints::default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_one(g: &LlbGraph, node: NodeIndex) -> Vec<u8> {
        let op = g.op(node);
        encode(op.kind.clone(), &op.reads(), g.arch, &HashMap::new()).encode_to_vec()
    }
    use crate::options::Arch;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reference vector A: BuildKit's Go client, scratch + one mkfile.
    #[test]
    fn mkfile_matches_go_byte_for_byte() {
        let mut g = LlbGraph::new(Arch::X86_64);
        let state = g.file(
            None,
            vec![FileAction::Mkfile {
                path: "/hello".into(),
                mode: 0o644,
                data: b"hi\n".to_vec(),
                timestamp: None,
            }],
            "",
            None,
        );
        let op = encode_one(&g, state.op);
        assert_eq!(op.len(), 73);
        assert_eq!(
            digest(&op),
            "sha256:045c38c7ee79c107228c144125c258d04b0a9ddf75023c7193e0ce27da9b3324"
        );
        let terminal = pb::Op {
            inputs: vec![pb::Input {
                digest: digest(&op),
                index: 0,
            }],
            ..Default::default()
        };
        assert_eq!(
            digest(&terminal.encode_to_vec()),
            "sha256:31cc283c4c98a251175d565661ab8345ca6aaea12c520855c29c4f24bfbf3d65"
        );
    }

    /// Reference vector B: a local source with attributes.
    #[test]
    fn local_source_matches_go() {
        let mut g = LlbGraph::new(Arch::X86_64);
        let attrs = [("local.unique".to_owned(), "fixeduniqueid".to_owned())]
            .into_iter()
            .collect();
        let s = g.local("context", attrs, "");
        let op = encode_one(&g, s.op);
        assert_eq!(hex(&op), "1a300a0f6c6f63616c3a2f2f636f6e74657874121d0a0c6c6f63616c2e756e69717565120d6669786564756e6971756569645a00");
        assert_eq!(
            digest(&op),
            "sha256:e52ac5045dbbbaaf959b1e9400eac04d5998e582ba97391eda077761dcdfb24d"
        );
    }

    /// Reference vector D: a cache mount encodes as Go's (v0.11.6).
    #[test]
    fn cache_mount_matches_go() {
        let m = pb::Mount {
            input: -1,
            dest: "/cache".into(),
            output: -1,
            mount_type: pb::MountType::Cache as i32,
            cache_opt: Some(pb::CacheOpt {
                id: "c1".into(),
                sharing: pb::CacheSharingOpt::Locked as i32,
            }),
            ..Default::default()
        };
        assert_eq!(
            hex(&m.encode_to_vec()),
            "08ffffffffffffffffff011a062f636163686520ffffffffffffffffff013003a201060a02633110 02"
                .replace(' ', "")
        );
    }

    #[test]
    fn file_names_only() {
        assert_eq!(file_name("/home/me/recipes/foo.yaml"), "foo.yaml");
        assert_eq!(file_name("foo.yaml"), "foo.yaml");
    }
}
