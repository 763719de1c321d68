//! `melangec index`: an APKINDEX.tar.gz for packages.

use std::path::PathBuf;

use melangec::apk::key::Key;
use melangec::apk::{read, repository};
use melangec::recipe::source_date_epoch;

use super::Failure;

#[derive(clap::Args)]
pub struct IndexArgs {
    /// Where to write the index.
    #[arg(short, long, default_value = "APKINDEX.tar.gz")]
    output: PathBuf,
    /// Sign the index with this private key.
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// Merge the records of the index already at --output (same name and
    /// version are replaced).
    #[arg(short, long)]
    merge: bool,
    /// The packages.
    #[arg(required = true)]
    apks: Vec<PathBuf>,
}

pub fn run(args: IndexArgs) -> Result<(), Failure> {
    let key = args
        .signing_key
        .as_deref()
        .map(Key::load)
        .transpose()
        .map_err(Failure::message)?;
    let mut infos = Vec::new();
    for apk in &args.apks {
        let bytes = std::fs::read(apk)
            .map_err(|e| Failure::Message(format!("cannot read {}: {e}", apk.display())))?;
        infos.push(read::package(&bytes).map_err(|e| format!("{}: {e}", apk.display()))?);
    }
    let epoch = source_date_epoch().map_err(Failure::message)?;
    let count = repository::write_index(&args.output, infos, args.merge, epoch, key.as_ref())
        .map_err(Failure::message)?;
    eprintln!("wrote {} ({count} packages)", args.output.display());
    Ok(())
}
