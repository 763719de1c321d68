//! `--progress json`: each status update as one JSON object on one line,
//! for programs that follow a build.

use melangec_proto::moby::buildkit::v1::StatusResponse;
use serde::Serialize;

use super::seconds;

#[derive(Serialize)]
struct Update<'a> {
    vertexes: Vec<Vertex<'a>>,
    logs: Vec<Log<'a>>,
}

#[derive(Serialize)]
struct Vertex<'a> {
    digest: &'a str,
    name: &'a str,
    cached: bool,
    /// Seconds since the epoch; `null` until it happens.
    started: Option<f64>,
    completed: Option<f64>,
    error: &'a str,
}

#[derive(Serialize)]
struct Log<'a> {
    vertex: &'a str,
    stream: i64,
    data: String,
}

/// One status update as a JSON object on one line.
pub fn line(s: &StatusResponse) -> String {
    let update = Update {
        vertexes: s
            .vertexes
            .iter()
            .map(|v| Vertex {
                digest: &v.digest,
                name: &v.name,
                cached: v.cached,
                started: seconds(&v.started),
                completed: seconds(&v.completed),
                error: &v.error,
            })
            .collect(),
        logs: s
            .logs
            .iter()
            .map(|l| Log {
                vertex: &l.vertex,
                stream: l.stream,
                data: String::from_utf8_lossy(&l.msg).into_owned(),
            })
            .collect(),
    };
    // Serializing plain structs to a string cannot fail.
    serde_json::to_string(&update).unwrap_or_default()
}
