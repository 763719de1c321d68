//! Finding a daemon that answers, and what it is: its BuildKit version and
//! so the capabilities the compiler may use.

use std::collections::BTreeSet;
use std::time::Duration;

use melangec_compiler::options::BASELINE_CAPS;
use melangec_proto::moby::buildkit::v1::control_client::ControlClient;
use melangec_proto::moby::buildkit::v1::{InfoRequest, ListWorkersRequest};
use tonic::transport::Channel;

use super::addr::Addr;
use super::connect::{channel, root_cause};

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

/// Connects to the first address that answers a ListWorkers call; fails
/// with one sentence naming every address tried.
pub async fn connect(candidates: &[Addr], explicit: bool) -> Result<Daemon, String> {
    let mut tried = Vec::new();
    for addr in candidates {
        match ping(addr).await {
            Ok(daemon) => return Ok(daemon),
            Err(why) => tried.push(format!("{addr} ({why})")),
        }
    }
    let what = if explicit {
        "check the address, or start the daemon it names"
    } else {
        "start buildkitd or Docker, or pass --buildkit-addr (or set BUILDKIT_HOST)"
    };
    Err(format!(
        "cannot reach BuildKit at {}: {what}",
        tried.join(" or ")
    ))
}

async fn ping(addr: &Addr) -> Result<Daemon, String> {
    let answer = async {
        let channel = channel(addr, CONNECT_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let mut client = ControlClient::new(channel.clone());
        let workers = client
            .list_workers(ListWorkersRequest::default())
            .await
            .map_err(|s| s.message().to_owned())?
            .into_inner();
        let mut version = workers
            .record
            .iter()
            .filter_map(|w| w.buildkit_version.as_ref())
            .map(|v| v.version.clone())
            .find(|v| !v.is_empty());
        if version.is_none() {
            // Info answers on v0.11 and later; Docker 20.10 has no Info.
            if let Ok(info) = client.info(InfoRequest {}).await {
                version = info
                    .into_inner()
                    .buildkit_version
                    .map(|v| v.version)
                    .filter(|v| !v.is_empty());
            }
        }
        Ok::<_, String>((channel, version))
    };
    let (channel, version) = tokio::time::timeout(CONNECT_TIMEOUT, answer)
        .await
        .map_err(|_| "no answer".to_owned())??;
    let caps = caps_for(version.as_deref());
    Ok(Daemon {
        addr: addr.clone(),
        channel,
        version,
        caps,
    })
}

/// The capabilities the compiler may rely on. BuildKit's Control API does
/// not list them, but every daemon from v0.8 on has the baseline, which is
/// all the compiler uses so far.
pub fn caps_for(_version: Option<&str>) -> BTreeSet<String> {
    BASELINE_CAPS.iter().map(|c| (*c).to_owned()).collect()
}

/// The innermost cause, for messages.
pub fn describe(e: &dyn std::error::Error) -> String {
    root_cause(e)
}
