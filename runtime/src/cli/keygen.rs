//! `melangec keygen`: an RSA key pair for signing, as `melange keygen`.

use std::path::PathBuf;

use melangec::apk::key;

use super::Failure;

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Private key file to write; the public key goes to NAME.pub.
    #[arg(default_value = "melange.rsa")]
    name: PathBuf,
    /// RSA modulus size in bits (2048 or more).
    #[arg(long, default_value_t = 4096)]
    key_size: usize,
}

pub fn run(args: KeygenArgs) -> Result<(), Failure> {
    let (private, public) = key::generate(&args.name, args.key_size)?;
    eprintln!("wrote {} and {}", private.display(), public.display());
    Ok(())
}
