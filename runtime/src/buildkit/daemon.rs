//! Finding a daemon that answers, and what it is: its BuildKit version and
//! so the capabilities the compiler may use.

use std::collections::BTreeSet;
use std::time::Duration;

use melangec_compiler::options::BASELINE_CAPS;
use melangec_proto::moby::buildkit::v1::control_client::ControlClient;
use melangec_proto::moby::buildkit::v1::{InfoRequest, ListWorkersRequest};
use tonic::transport::Channel;

use super::addr::Addr;
use super::connect::channel;

/// How long one address may take to answer before the next is tried.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(900);

pub struct Daemon {
    pub addr: Addr,
    pub channel: Channel,
    /// `v0.13.2` and the like; `None` for daemons too old to say (Docker
    /// 20.10's BuildKit v0.8).
    pub version: Option<String>,
    pub caps: BTreeSet<String>,
}

/// No daemon answered: every address tried, and why each failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach BuildKit at {}: {}", .tried.iter().map(|(a, why)| format!("{a} ({why})")).collect::<Vec<_>>().join(" or "), if *.explicit { "check the address, or start the daemon it names" } else { "start buildkitd or Docker, or pass --buildkit-addr (or set BUILDKIT_HOST)" })]
pub struct ConnectError {
    pub tried: Vec<(Addr, PingError)>,
    /// The address was given, rather than found.
    pub explicit: bool,
}

/// Where to look for a daemon: addresses in order, and whether they were
/// given (`--buildkit-addr`) or are the usual places.
#[derive(Clone, Debug)]
pub struct Candidates {
    pub addrs: Vec<Addr>,
    pub explicit: bool,
}

/// Connects to the first address that answers a ListWorkers call; fails
/// with one sentence naming every address tried.
pub async fn connect(candidates: &Candidates) -> Result<Daemon, ConnectError> {
    let mut tried = Vec::new();
    for addr in &candidates.addrs {
        match ping(addr).await {
            Ok(daemon) => return Ok(daemon),
            Err(why) => tried.push((addr.clone(), why)),
        }
    }
    Err(ConnectError {
        tried,
        explicit: candidates.explicit,
    })
}

/// Why one address did not answer.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("{0}")]
    Connect(std::io::Error),
    #[error("{}", .0.message())]
    Refused(tonic::Status),
    #[error("no answer")]
    Timeout,
}

async fn ping(addr: &Addr) -> Result<Daemon, PingError> {
    let answer = async {
        let channel = channel(addr, CONNECT_TIMEOUT)
            .await
            .map_err(PingError::Connect)?;
        let mut client = ControlClient::new(channel.clone());
        let workers = client
            .list_workers(ListWorkersRequest::default())
            .await
            .map_err(PingError::Refused)?
            .into_inner();
        let mut version = workers
            .record
            .iter()
            .filter_map(|w| w.buildkit_version.as_ref())
            .map(|v| v.version.clone())
            .find(|v| !v.is_empty());
        // Info answers on v0.11 and later (whatever version a distribution's
        // build reports); Docker 20.10's BuildKit has no Info.
        let has_info = match client.info(InfoRequest {}).await {
            Ok(info) => {
                if version.is_none() {
                    version = info
                        .into_inner()
                        .buildkit_version
                        .map(|v| v.version)
                        .filter(|v| !v.is_empty());
                }
                true
            }
            Err(_) => false,
        };
        Ok::<_, PingError>((channel, version, has_info))
    };
    let (channel, version, has_info) = tokio::time::timeout(CONNECT_TIMEOUT, answer)
        .await
        .map_err(|_| PingError::Timeout)??;
    let caps = caps_for(version.as_deref(), has_info);
    Ok(Daemon {
        addr: addr.clone(),
        channel,
        version,
        caps,
    })
}

/// The capabilities the compiler may rely on. BuildKit's Control API does
/// not list them: every daemon from v0.8 on has the baseline, and MergeOp
/// came in v0.10, known by the version or, where a distribution's build
/// reports none (`v0.0.0+unknown`), by the Info call v0.11 added.
pub fn caps_for(version: Option<&str>, has_info: bool) -> BTreeSet<String> {
    let mut caps: BTreeSet<String> = BASELINE_CAPS.iter().map(|c| (*c).to_owned()).collect();
    let at_least_0_10 = version
        .and_then(|v| {
            let mut parts = v.trim_start_matches('v').split(['.', '-', '+']);
            let major: u32 = parts.next()?.parse().ok()?;
            let minor: u32 = parts.next()?.parse().ok()?;
            Some(major > 0 || minor >= 10)
        })
        .unwrap_or(false);
    if has_info || at_least_0_10 {
        caps.insert("mergeop".to_owned());
    }
    caps
}

/// Whether the daemon runs a MergeOp: Docker Engine's BuildKit refuses it
/// unless the containerd image store is on, whatever its version, and says
/// so only when asked. The probe merges two tiny scratch layers and exports
/// nothing.
pub async fn merges(channel: &tonic::transport::Channel, arch: melangec_compiler::Arch) -> bool {
    use melangec_compiler::back::llb::{FileAction, LlbGraph};
    let mut g = LlbGraph::new(arch);
    let layers = ["a", "b"]
        .iter()
        .map(|d| {
            g.file(
                None,
                vec![FileAction::Mkdir {
                    path: format!("/melangec-probe-{d}"),
                    mode: 0o755,
                    parents: false,
                    timestamp: Some(0),
                }],
                "probe",
                None,
            )
        })
        .collect();
    let merged = g.merge(layers, "probe");
    let marshaled = melangec_compiler::back::marshal::marshal(
        g,
        merged,
        &melangec_compiler::SourceFile::new("probe", ""),
    );
    let mut client = ControlClient::new(channel.clone());
    let request = melangec_proto::moby::buildkit::v1::SolveRequest {
        r#ref: super::solve::new_id(),
        definition: Some(marshaled.definition),
        ..Default::default()
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), client.solve(request))
        .await
        .is_ok_and(|r| r.is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mergeop_from_the_version_or_the_info_call() {
        assert!(!caps_for(None, false).contains("mergeop"));
        assert!(!caps_for(Some("v0.8.2"), false).contains("mergeop"));
        assert!(caps_for(Some("v0.11.6"), true).contains("mergeop"));
        assert!(caps_for(Some("v0.10.0"), false).contains("mergeop"));
        assert!(caps_for(Some("v0.0.0+unknown-moby"), true).contains("mergeop"));
        assert!(caps_for(None, false).contains("source.http.checksum"));
    }
}
