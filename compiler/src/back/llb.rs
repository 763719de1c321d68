//! A small vocabulary for building LLB graphs, in the manner of BuildKit's
//! `client/llb`: states, sources, `run` with mounts, and file actions.
//! `lower` builds graphs with it; only `marshal` sees protobuf.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::options::Arch;
use crate::source::Span;

/// One output of one op: what a mount or a file action reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct State {
    pub op: NodeIndex,
    pub output: i64,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Mount {
    /// A state (or scratch when `None`) bound at `dest`; writable mounts
    /// produce an output.
    Bind {
        dest: String,
        input: Option<State>,
        readonly: bool,
    },
    /// A persistent cache directory shared across builds.
    Cache { dest: String, id: String },
}

impl Mount {
    pub fn dest(&self) -> &str {
        match self {
            Mount::Bind { dest, .. } | Mount::Cache { dest, .. } => dest,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Exec {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub user: String,
    /// Sorted by `dest` when the op is made, as BuildKit's client does.
    pub mounts: Vec<Mount>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum FileAction {
    Mkdir {
        path: String,
        mode: i32,
        parents: bool,
        timestamp: Option<i64>,
    },
    Mkfile {
        path: String,
        mode: i32,
        data: Vec<u8>,
        timestamp: Option<i64>,
    },
    Copy {
        from: State,
        src: String,
        dest: String,
        contents_only: bool,
        create_dest_path: bool,
    },
    /// Copies an archive, unpacked (Docker's `ADD`): how an `.apk`, gzip
    /// members of tar segments, becomes files.
    Unpack {
        from: State,
        src: String,
        dest: String,
    },
    /// Removes matching paths, if any.
    Rm { path: String },
    /// Copies nothing from `from` (a pattern no file matches, allowed to
    /// match nothing), so that the op waits for it: how one op ends a
    /// graph of independent branches on daemons without MergeOp.
    Await { from: State },
}

#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    Source {
        identifier: String,
        attrs: BTreeMap<String, String>,
    },
    Exec(Exec),
    /// Actions applied in turn to `base` (scratch when `None`).
    File {
        base: Option<State>,
        actions: Vec<FileAction>,
    },
    /// Layers stacked in order, later ones over earlier ones.
    Merge {
        inputs: Vec<State>,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    pub kind: OpKind,
    /// Shown by BuildKit as the vertex name (`llb.customname`).
    pub name: String,
    /// Further description entries (`melangec.*`).
    pub description: BTreeMap<String, String>,
    /// The recipe lines this op comes from.
    pub origin: Option<Span>,
    /// Run even when the daemon has a result for it (`--no-cache`).
    pub ignore_cache: bool,
}

impl Op {
    /// The states this op reads, in the order BuildKit numbers its inputs.
    pub fn reads(&self) -> Vec<State> {
        let mut out: Vec<State> = Vec::new();
        let mut add = |s: State| {
            if !out.contains(&s) {
                out.push(s);
            }
        };
        match &self.kind {
            OpKind::Source { .. } => {}
            OpKind::Exec(exec) => {
                for m in &exec.mounts {
                    if let Mount::Bind { input: Some(s), .. } = m {
                        add(*s);
                    }
                }
            }
            OpKind::File { base, actions } => {
                if let Some(b) = base {
                    add(*b);
                }
                for a in actions {
                    if let FileAction::Copy { from, .. }
                    | FileAction::Unpack { from, .. }
                    | FileAction::Await { from } = a
                    {
                        add(*from);
                    }
                }
            }
            OpKind::Merge { inputs } => {
                for s in inputs {
                    add(*s);
                }
            }
        }
        out
    }

    /// Capabilities this op needs, as BuildKit's client records them.
    pub fn caps(&self) -> BTreeSet<&'static str> {
        let mut caps = BTreeSet::new();
        match &self.kind {
            OpKind::Source { identifier, attrs } => {
                let attr_caps: &[(&str, &'static str)] =
                    if identifier.starts_with("https://") || identifier.starts_with("http://") {
                        caps.insert("source.http");
                        &[
                            ("http.checksum", "source.http.checksum"),
                            ("http.perm", "source.http.perm"),
                            ("http.uid", "soruce.http.uidgid"),
                            ("http.gid", "soruce.http.uidgid"),
                        ]
                    } else if identifier.starts_with("git://") {
                        caps.insert("source.git");
                        &[
                            ("git.fullurl", "source.git.fullurl"),
                            ("git.keepgitdir", "source.git.keepgitdir"),
                        ]
                    } else {
                        &[]
                    };
                for (key, cap) in attr_caps {
                    if attrs.contains_key(*key) {
                        caps.insert(cap);
                    }
                }
                if identifier.starts_with("local://") {
                    caps.insert("source.local");
                    for (key, cap) in [
                        ("local.excludepatterns", "source.local.excludepatterns"),
                        ("local.includepattern", "source.local.includepatterns"),
                        ("local.followpaths", "source.local.followpaths"),
                        ("local.sharedkeyhint", "source.local.sharedkeyhint"),
                        ("local.session", "source.local.sessionid"),
                    ] {
                        if attrs.contains_key(key) {
                            caps.insert(cap);
                        }
                    }
                }
            }
            OpKind::Exec(exec) => {
                caps.insert("exec.meta.base");
                for m in &exec.mounts {
                    match m {
                        Mount::Bind { input: Some(_), .. } => {
                            caps.insert("exec.mount.bind");
                        }
                        Mount::Bind { .. } => {}
                        Mount::Cache { .. } => {
                            caps.insert("exec.mount.cache");
                            caps.insert("exec.mount.cache.sharing");
                        }
                    }
                }
            }
            OpKind::File { .. } => {
                caps.insert("file.base");
            }
            OpKind::Merge { .. } => {
                caps.insert("mergeop");
            }
        }
        caps
    }
}

/// The build graph: ops as nodes, an edge from each op read to its reader.
#[derive(Debug)]
pub struct LlbGraph {
    pub graph: DiGraph<Op, ()>,
    pub arch: Arch,
}

impl LlbGraph {
    pub fn new(arch: Arch) -> LlbGraph {
        LlbGraph {
            graph: DiGraph::new(),
            arch,
        }
    }

    fn add(&mut self, op: Op) -> NodeIndex {
        let reads = op.reads();
        let node = self.graph.add_node(op);
        for s in reads {
            self.graph.add_edge(s.op, node, ());
        }
        node
    }

    pub fn op(&self, node: NodeIndex) -> &Op {
        &self.graph[node]
    }

    /// A directory the client serves by name.
    pub fn local(&mut self, name: &str, attrs: BTreeMap<String, String>, title: &str) -> State {
        self.source(format!("local://{name}"), attrs, title, None)
    }

    /// Any source op: `local://`, `https://`, `git://`.
    pub fn source(
        &mut self,
        identifier: String,
        attrs: BTreeMap<String, String>,
        title: &str,
        origin: Option<Span>,
    ) -> State {
        let node = self.add(Op {
            kind: OpKind::Source { identifier, attrs },
            name: title.to_owned(),
            description: BTreeMap::new(),
            origin,
            ignore_cache: false,
        });
        State {
            op: node,
            output: 0,
        }
    }

    /// Runs a process; returns the output state of each writable bind mount,
    /// by destination.
    pub fn run(
        &mut self,
        mut exec: Exec,
        name: &str,
        origin: Option<Span>,
    ) -> BTreeMap<String, State> {
        exec.mounts.sort_by(|a, b| a.dest().cmp(b.dest()));
        let writable: Vec<String> = exec
            .mounts
            .iter()
            .filter_map(|m| match m {
                Mount::Bind {
                    dest,
                    readonly: false,
                    ..
                } => Some(dest.clone()),
                _ => None,
            })
            .collect();
        let node = self.add(Op {
            kind: OpKind::Exec(exec),
            name: name.to_owned(),
            description: BTreeMap::new(),
            origin,
            ignore_cache: false,
        });
        writable
            .into_iter()
            .enumerate()
            .map(|(i, dest)| {
                (
                    dest,
                    State {
                        op: node,
                        output: i as i64,
                    },
                )
            })
            .collect()
    }

    /// Applies file actions to `base` (scratch when `None`).
    pub fn file(
        &mut self,
        base: Option<State>,
        actions: Vec<FileAction>,
        name: &str,
        origin: Option<Span>,
    ) -> State {
        let node = self.add(Op {
            kind: OpKind::File { base, actions },
            name: name.to_owned(),
            description: BTreeMap::new(),
            origin,
            ignore_cache: false,
        });
        State {
            op: node,
            output: 0,
        }
    }

    /// Stacks layers (MergeOp).
    pub fn merge(&mut self, inputs: Vec<State>, name: &str) -> State {
        let node = self.add(Op {
            kind: OpKind::Merge { inputs },
            name: name.to_owned(),
            description: BTreeMap::new(),
            origin: None,
            ignore_cache: false,
        });
        State {
            op: node,
            output: 0,
        }
    }

    /// Makes the op run even when the daemon has its result.
    pub fn ignore_cache(&mut self, node: NodeIndex) {
        self.graph[node].ignore_cache = true;
    }

    /// Adds a description entry. Empty values are left out: prost cannot
    /// encode an empty map value the way Go does, and they say nothing.
    pub fn describe(&mut self, state: State, key: &str, value: String) {
        if value.is_empty() {
            return;
        }
        self.graph[state.op]
            .description
            .insert(key.to_owned(), value);
    }
}
