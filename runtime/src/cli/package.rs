//! `melangec package`: a directory as it is into an `.apk`, the way test
//! repositories are made from other distributions' packages.

use std::path::PathBuf;

use melangec::apk::key::Key;
use melangec::apk::package;
use melangec::recipe::source_date_epoch;
use melangec_compiler::ir::PackageMeta;
use melangec_compiler::names;

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
    check_flags(&args)?;
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
    let _held = super::hold_parent(&path)?;
    apk.write_to(&path)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// The name and version become the file name and `.PKGINFO` lines; each
/// list item is one word of them.
fn check_flags(args: &PackageArgs) -> Result<(), Failure> {
    if !names::valid_name(&args.name) {
        return Err(format!("--name {:?} is not a package name", args.name).into());
    }
    if !names::valid_full_version(&args.version) {
        return Err(format!(
            "--version {:?} is not <version>-r<epoch> in apk's grammar",
            args.version
        )
        .into());
    }
    let words = args
        .depends
        .iter()
        .chain(&args.provides)
        .chain(&args.origin);
    for word in words.chain(args.provider_priority.iter()) {
        if let Some(problem) = names::word_problem(word) {
            return Err(format!("{word:?} holds {problem}").into());
        }
    }
    for text in [&args.description, &args.license, &args.arch] {
        if let Some(problem) = names::text_problem(text) {
            return Err(format!("{text:?} holds {problem}").into());
        }
    }
    if args.arch.contains(['/', '\\']) || args.arch.contains("..") {
        return Err(format!("--arch {:?} is not an architecture", args.arch).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(name: &str, version: &str) -> PackageArgs {
        PackageArgs {
            dir: PathBuf::from("."),
            name: name.into(),
            version: version.into(),
            arch: "x86_64".into(),
            description: String::new(),
            license: String::new(),
            origin: None,
            depends: Vec::new(),
            provides: Vec::new(),
            provider_priority: None,
            no_depends: false,
            signing_key: None,
            out_dir: PathBuf::from("packages"),
        }
    }

    #[test]
    fn flags_that_reach_paths_or_pkginfo_are_checked() {
        assert!(check_flags(&args("hello", "1.2.3-r0")).is_ok());
        for (name, version) in [
            ("hello", "1.2.3"),
            ("hello", "../../x-r0"),
            ("hello", "1.0-r0\npkgname = evil"),
            ("../x", "1.0-r0"),
        ] {
            assert!(
                check_flags(&args(name, version)).is_err(),
                "{name} {version}"
            );
        }
        let mut a = args("hello", "1.0-r0");
        a.depends = vec!["x\ny".into()];
        assert!(check_flags(&a).is_err());
    }
}
