//! `keygen`, `sign`, `index` and `package`: flags in, `apk::` does the work.

use std::path::{Path, PathBuf};

use melangec::apk::key::{self, Key};
use melangec::apk::{package, read, repository, sign};
use melangec::atomic::write as write_atomic;
use melangec_compiler::ir::PackageMeta;

use crate::Failure;

#[derive(clap::Args)]
pub struct KeygenArgs {
    /// Private key file to write; the public key goes to NAME.pub.
    #[arg(default_value = "melange.rsa")]
    name: PathBuf,
    /// RSA modulus size in bits (2048 or more).
    #[arg(long, default_value_t = 4096)]
    key_size: usize,
}

#[derive(clap::Args)]
pub struct SignArgs {
    /// Private key (PKCS#1 or PKCS#8 PEM); signs as .SIGN.RSA256.<key file>.pub.
    #[arg(long, default_value = "melange.rsa")]
    signing_key: PathBuf,
    /// Packages (.apk) or indexes (APKINDEX.tar.gz) to sign in place.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

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

#[derive(clap::Args)]
pub struct PackageArgs {
    /// The tree to package (it becomes the package's root).
    dir: PathBuf,
    #[arg(long)]
    name: String,
    /// Full version, `<version>-r<epoch>`.
    #[arg(long)]
    version: String,
    #[arg(long, default_value = "x86_64")]
    arch: String,
    #[arg(long, default_value = "")]
    description: String,
    #[arg(long, default_value = "")]
    license: String,
    /// Source package name (default: the package name).
    #[arg(long)]
    origin: Option<String>,
    /// Dependencies besides the ones found in the files.
    #[arg(long, value_delimiter = ',')]
    depends: Vec<String>,
    /// Provides besides the ones found in the files.
    #[arg(long, value_delimiter = ',')]
    provides: Vec<String>,
    #[arg(long)]
    provider_priority: Option<String>,
    /// Only the dependencies given with --depends: none are found in the files.
    #[arg(long)]
    no_depends: bool,
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// The package goes to OUT/<arch>/.
    #[arg(long, default_value = "packages")]
    out_dir: PathBuf,
}

/// Packages a directory as it is: how test repositories are made from other
/// distributions' packages.
pub fn package_dir(args: PackageArgs) -> Result<(), Failure> {
    let key = args
        .signing_key
        .as_deref()
        .map(Key::load)
        .transpose()
        .map_err(message)?;
    let meta = PackageMeta {
        name: args.name.clone(),
        version: args.version,
        origin: args.origin.unwrap_or(args.name),
        description: args.description,
        license: args.license,
        depends: args.depends.into_iter().filter(|d| !d.is_empty()).collect(),
        provides: args
            .provides
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect(),
        provider_priority: args.provider_priority.unwrap_or_default(),
        no_depends: args.no_depends,
        ..Default::default()
    };
    let opts = package::Options {
        arch: &args.arch,
        epoch: crate::source_date_epoch()?,
        namespace: "",
        key: key.as_ref(),
    };
    let apk = package::build(&args.dir, &meta, &opts).map_err(message)?;
    let path = args.out_dir.join(&args.arch).join(&apk.file_name);
    apk.write_to(&path).map_err(message)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

pub fn keygen(args: KeygenArgs) -> Result<(), Failure> {
    let (private, public) = key::generate(&args.name, args.key_size).map_err(message)?;
    eprintln!("wrote {} and {}", private.display(), public.display());
    Ok(())
}

fn message(e: melangec::apk::Error) -> Failure {
    Failure::Message(e.to_string())
}

fn read_file(p: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(p).map_err(|e| Failure::Message(format!("cannot read {}: {e}", p.display())))
}

pub fn sign(args: SignArgs) -> Result<(), Failure> {
    let key = Key::load(&args.signing_key).map_err(message)?;
    let epoch = crate::source_date_epoch()?;
    for f in &args.files {
        let bytes = read_file(f)?;
        let signed = sign::resign(&bytes, &key, epoch).map_err(|e| message(e.in_file(f)))?;
        write_atomic(f, &signed, 0o644)?;
        eprintln!("signed {}", f.display());
    }
    Ok(())
}

pub fn index_cmd(args: IndexArgs) -> Result<(), Failure> {
    let key = args
        .signing_key
        .as_deref()
        .map(Key::load)
        .transpose()
        .map_err(message)?;
    let mut infos = Vec::new();
    for apk in &args.apks {
        infos.push(read::package(&read_file(apk)?).map_err(|e| message(e.in_file(apk)))?);
    }
    let epoch = crate::source_date_epoch()?;
    let count = repository::write_index(&args.output, infos, args.merge, epoch, key.as_ref())
        .map_err(message)?;
    eprintln!("wrote {} ({count} packages)", args.output.display());
    Ok(())
}
