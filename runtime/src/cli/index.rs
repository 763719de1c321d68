//! `melangec index`: an APKINDEX.tar.gz for packages.

use std::path::PathBuf;

use melangec::apk::key::Key;
use melangec::apk::{read, repository};
use melangec::recipe::source_date_epoch;

use super::{read_file, Failure};

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
    let key = args.signing_key.as_deref().map(Key::load).transpose()?;
    let mut infos = Vec::new();
    for apk in &args.apks {
        // Listed only if whole: a truncated or altered package fails its
        // datahash here, not in every later install.
        let bytes = read_file(apk)?;
        infos.push(read::verified(&bytes).map_err(|e| e.in_file(apk))?.0);
    }
    let epoch = source_date_epoch()?;
    let _held = super::hold_parent(&args.output)?;
    let count = repository::write_index(&args.output, infos, args.merge, epoch, key.as_ref())?;
    eprintln!("wrote {} ({count} packages)", args.output.display());
    Ok(())
}
