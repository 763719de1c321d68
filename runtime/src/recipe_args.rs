//! The flags `compile` and `build` share, and what they make: the recipe
//! file, compile options and the pipeline library.

use std::path::{Path, PathBuf};

use melangec_compiler::{Arch, Options, PipelineLibrary, SourceFile};

use crate::{pipeline_dirs, read, source_date_epoch, Failure};

#[derive(clap::Args)]
pub struct RecipeArgs {
    /// The recipe.
    pub recipe: PathBuf,
    /// Target architecture (x86_64 or aarch64; amd64/arm64 accepted).
    #[arg(long, default_value = "x86_64")]
    pub arch: String,
    /// First directory searched for `uses:` pipelines.
    #[arg(long)]
    pub pipeline_dir: Option<PathBuf>,
    /// Further directories searched for `uses:` pipelines, in order.
    #[arg(long, value_delimiter = ',')]
    pub pipeline_dirs: Vec<PathBuf>,
    /// Directory whose files populate /home/build (default: the recipe's directory).
    #[arg(long)]
    pub source_dir: Option<PathBuf>,
    /// dotenv files merged into the build environment (earlier files win).
    #[arg(long, value_delimiter = ',')]
    pub env_file: Vec<PathBuf>,
    /// YAML map merged over the recipe's `vars`.
    #[arg(long)]
    pub vars_file: Option<PathBuf>,
    /// Enable a named build option of the recipe.
    #[arg(long, value_delimiter = ',')]
    pub build_option: Vec<String>,
    /// libc flavour for ${{host.triplet.*}}.
    #[arg(
        long = "override-host-triplet-libc-substitution-flavor",
        default_value = "gnu"
    )]
    pub libc_flavor: String,
}

/// What a compile needs, read from the flags and the files they name.
pub struct Inputs {
    pub file: SourceFile,
    pub options: Options,
    pub library: PipelineLibrary,
    pub source_dir: PathBuf,
}

impl RecipeArgs {
    pub fn arch(&self) -> Result<Arch, Failure> {
        Arch::parse(&self.arch).ok_or_else(|| {
            Failure::Message(format!(
                "unknown architecture {:?}: use x86_64 or aarch64",
                self.arch
            ))
        })
    }

    pub fn inputs(&self) -> Result<Inputs, Failure> {
        let text = read(&self.recipe, "recipe")?;
        let file = SourceFile::new(self.recipe.display().to_string(), text);
        let mut options = Options::new(self.arch()?);
        options.source_date_epoch = source_date_epoch()?;
        options.libc_flavor = self.libc_flavor.clone();
        options.build_options = self.build_option.clone();
        for f in &self.env_file {
            options.env_files.push(SourceFile::new(
                f.display().to_string(),
                read(f, "env file")?,
            ));
        }
        if let Some(f) = &self.vars_file {
            options.vars_file = Some(SourceFile::new(
                f.display().to_string(),
                read(f, "vars file")?,
            ));
        }
        let source_dir = self.source_dir.clone().unwrap_or_else(|| {
            self.recipe
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."))
        });
        if let Ok(ignore) = std::fs::read_to_string(source_dir.join(".melangeignore")) {
            options.source_excludes = ignore
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
        }
        let mut dirs: Vec<PathBuf> = self.pipeline_dir.iter().cloned().collect();
        dirs.extend(self.pipeline_dirs.iter().cloned());
        let library = pipeline_dirs::library(&dirs)?;
        Ok(Inputs {
            file,
            options,
            library,
            source_dir,
        })
    }
}
