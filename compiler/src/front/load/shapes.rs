//! The parts of a recipe melangec carries without interpreting them
//! (`update`, `cpe`, `resources`, `setcap`), checked as strictly as the rest
//! against the shapes of melange's types.

use super::Reader;
use crate::front::yaml::{Node, NodeKind};

/// Shape of the parts of a recipe melangec carries but does not interpret,
/// so that they are checked as strictly as the rest.
pub(super) enum Shape {
    Str,
    Bool,
    Int,
    Strs,
    StrMap,
    Any,
    Map(&'static str, &'static [(&'static str, Shape)]),
    List(&'static Shape),
}

pub(super) const UPDATE: Shape = Shape::Map(
    "config.Update",
    &[
        ("enabled", Shape::Bool),
        ("manual", Shape::Bool),
        ("require-sequential", Shape::Bool),
        ("shared", Shape::Bool),
        ("version-separator", Shape::Str),
        ("ignore-regex-patterns", Shape::Strs),
        ("release-monitor", RELEASE_MONITOR),
        ("github", GITHUB),
        ("git", GIT),
        ("oci", OCI),
        ("version_data", Shape::Any),
        ("version-transform", Shape::List(&VERSION_TRANSFORM)),
        ("exclude-reason", Shape::Str),
        (
            "schedule",
            Shape::Map(
                "config.Schedule",
                &[("reason", Shape::Str), ("period", Shape::Str)],
            ),
        ),
        ("enable-prerelease-tags", Shape::Bool),
    ],
);
pub(super) const RELEASE_MONITOR: Shape = Shape::Map(
    "config.ReleaseMonitor",
    &[
        ("identifier", Shape::Int),
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("version-filter-contains", Shape::Str),
        ("version-filter-prefix", Shape::Str),
    ],
);
pub(super) const GITHUB: Shape = Shape::Map(
    "config.GitHubMonitor",
    &[
        ("identifier", Shape::Str),
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("tag-filter", Shape::Str),
        ("tag-filter-prefix", Shape::Str),
        ("tag-filter-contains", Shape::Str),
        ("use-tag", Shape::Bool),
    ],
);
pub(super) const GIT: Shape = Shape::Map(
    "config.GitMonitor",
    &[
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("tag-filter-prefix", Shape::Str),
        ("tag-filter-contains", Shape::Str),
    ],
);
pub(super) const OCI: Shape = Shape::Map(
    "config.OCIMonitor",
    &[
        ("identifier", Shape::Str),
        ("strip-prefix", Shape::Str),
        ("strip-suffix", Shape::Str),
        ("tag-filter-prefix", Shape::Str),
        ("tag-filter-contains", Shape::Str),
    ],
);
pub(super) const VERSION_TRANSFORM: Shape = Shape::Map(
    "config.VersionTransform",
    &[("match", Shape::Str), ("replace", Shape::Str)],
);
pub(super) const CPE: Shape = Shape::Map(
    "config.CPE",
    &[
        ("part", Shape::Str),
        ("vendor", Shape::Str),
        ("product", Shape::Str),
        ("edition", Shape::Str),
        ("language", Shape::Str),
        ("sw_edition", Shape::Str),
        ("target_sw", Shape::Str),
        ("target_hw", Shape::Str),
        ("other", Shape::Str),
    ],
);
pub(super) const RESOURCES: Shape = Shape::Map(
    "config.Resources",
    &[
        ("cpu", Shape::Str),
        ("cpumodel", Shape::Str),
        ("memory", Shape::Str),
        ("disk", Shape::Str),
    ],
);
pub(super) const SETCAP: Shape = Shape::List(&Shape::Map(
    "config.Capability",
    &[
        ("path", Shape::Str),
        ("add", Shape::StrMap),
        ("reason", Shape::Str),
    ],
));

impl Reader<'_> {
    pub(super) fn check(&mut self, node: &Node, shape: &Shape) {
        match shape {
            Shape::Any => {}
            Shape::Str => {
                self.text(node);
            }
            Shape::Bool => {
                self.boolean(node);
            }
            Shape::Int => {
                self.integer(node, "int");
            }
            Shape::Strs => {
                self.texts(node);
            }
            Shape::StrMap => {
                self.text_map(node);
            }
            Shape::List(inner) => match &node.kind {
                NodeKind::Seq(items) => {
                    for item in items {
                        self.check(item, inner);
                    }
                }
                _ if node.is_null() => {}
                _ => self.type_error(node, "a list"),
            },
            Shape::Map(ty, fields) => {
                for (key, k, v) in self.entries(node, ty) {
                    match fields.iter().find(|(name, _)| *name == key) {
                        Some((_, shape)) => self.check(v, shape),
                        None => self.unknown(k, ty),
                    }
                }
            }
        }
    }

    pub(super) fn kept(&mut self, node: &Node, shape: &Shape) -> Option<Node> {
        self.check(node, shape);
        Some(node.clone())
    }
}
