//! `melangec sign`: (re)sign packages or indexes in place.

use std::path::PathBuf;

use melangec::apk::key::Key;
use melangec::apk::sign::resign;
use melangec::atomic::write as write_atomic;
use melangec::recipe::source_date_epoch;

use super::{read_file, Failure};

#[derive(clap::Args)]
pub struct SignArgs {
    /// Private key (PKCS#1 or PKCS#8 PEM); signs as .SIGN.RSA256.<key file>.pub.
    #[arg(long, default_value = "melange.rsa")]
    signing_key: PathBuf,
    /// Packages (.apk) or indexes (APKINDEX.tar.gz) to sign in place.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn run(args: SignArgs) -> Result<(), Failure> {
    let key = Key::load(&args.signing_key)?;
    let epoch = source_date_epoch()?;
    for f in &args.files {
        let _held = super::hold_parent(f)?;
        let signed = resign(&read_file(f)?, &key, epoch).map_err(|e| e.in_file(f))?;
        write_atomic(f, &signed, 0o644)?;
        eprintln!("signed {}", f.display());
    }
    Ok(())
}
