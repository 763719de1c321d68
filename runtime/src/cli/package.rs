//! `melangec package`: a directory as it is into an `.apk`, the way test
//! repositories are made from other distributions' packages.

use std::path::PathBuf;

use melangec::apk::key::Key;
use melangec::apk::package;
use melangec::recipe::source_date_epoch;
use melangec_compiler::ir::PackageMeta;

use super::Failure;

#[derive(clap::Args)]
pub struct PackageArgs {
    /// The tree to package (it becomes the package's root).
    dir: PathBuf,
    /// The package's name.
    #[arg(long)]
    name: String,
    /// Full version, `<version>-r<epoch>`.
    #[arg(long)]
    version: String,
    /// The architecture `.PKGINFO` names (apk's spelling, or `noarch`).
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// One line of description.
    #[arg(long, default_value = "")]
    description: String,
    /// SPDX license expression.
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
    /// Preference among packages providing the same name (an integer).
    #[arg(long)]
    provider_priority: Option<String>,
    /// Only the dependencies given with --depends: none are found in the files.
    #[arg(long)]
    no_depends: bool,
    /// Sign the package with this RSA private key (PEM).
    #[arg(long)]
    signing_key: Option<PathBuf>,
    /// The package goes to OUT/<arch>/.
    #[arg(long, default_value = "packages")]
    out_dir: PathBuf,
}

/// Packages a directory as it is: how test repositories are made from other
/// distributions' packages.
pub fn run(args: PackageArgs) -> Result<(), Failure> {
    let key = args.signing_key.as_deref().map(Key::load).transpose()?;
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
        epoch: source_date_epoch()?,
        namespace: "",
        key: key.as_ref(),
    };
    let apk = package::build(&args.dir, &meta, &opts)?;
    let path = args.out_dir.join(&args.arch).join(&apk.file_name);
    apk.write_to(&path)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
