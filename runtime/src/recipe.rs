//! A recipe and everything a compile reads with it: the files the command
//! line names (`--env-file`, `--vars-file`, pipeline directories), the
//! source directory's `.melangeignore`, and `SOURCE_DATE_EPOCH`. The
//! compiler reads none of these itself.

use std::path::{Path, PathBuf};

use melangec_compiler::{Arch, Options, PipelineLibrary, SourceFile};

use crate::pipelines::{self, PipelineDirError};

/// What to read.
#[derive(Clone, Debug)]
pub struct Sources {
    pub recipe: PathBuf,
    pub arch: Arch,
    /// `--pipeline-dir` then `--pipeline-dirs`, in search order.
    pub pipeline_dirs: Vec<PathBuf>,
    /// The files that populate `/home/build`; the recipe's directory if
    /// not given.
    pub source_dir: Option<PathBuf>,
    pub env_files: Vec<PathBuf>,
    pub vars_file: Option<PathBuf>,
    pub build_options: Vec<String>,
    /// libc suffix for `${{host.triplet.*}}`.
    pub libc_flavor: String,
    /// What the command writes or reads besides the sources (workspace,
    /// out-dir, caches, an explicit lock): left out of the source local
    /// when inside the source directory, with the recipe and its lock.
    pub outputs: Vec<PathBuf>,
}

/// What was read: all a compile needs.
pub struct Inputs {
    pub recipe: PathBuf,
    pub file: SourceFile,
    pub options: Options,
    pub library: PipelineLibrary,
    pub source_dir: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot read {what} {}: {source}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("SOURCE_DATE_EPOCH={0:?} is not an integer number of seconds")]
    Epoch(String),
    #[error(transparent)]
    Pipelines(#[from] PipelineDirError),
}

fn read(path: &Path, what: &'static str) -> Result<String, InputError> {
    std::fs::read_to_string(path).map_err(|source| InputError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// A recipe file alone, for the commands that only look at it.
pub fn read_recipe(path: &Path) -> Result<SourceFile, InputError> {
    Ok(SourceFile::new(
        path.display().to_string(),
        read(path, "recipe")?,
    ))
}

/// `SOURCE_DATE_EPOCH` from the environment, as melange reads it: unset or
/// empty is 0.
pub fn source_date_epoch() -> Result<u64, InputError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if v.trim().is_empty() => Ok(0),
        Ok(v) => v.trim().parse().map_err(|_| InputError::Epoch(v)),
        Err(_) => Ok(0),
    }
}

impl Sources {
    /// The source directory: as given, else the recipe's own directory.
    fn source_dir(&self) -> PathBuf {
        self.source_dir.clone().unwrap_or_else(|| {
            self.recipe
                .parent()
                .map(Path::to_path_buf)
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or_else(|| PathBuf::from("."))
        })
    }

    pub fn read(&self) -> Result<Inputs, InputError> {
        let text = read(&self.recipe, "recipe")?;
        let file = SourceFile::new(self.recipe.display().to_string(), text);
        let mut options = Options::new(self.arch);
        options.source_date_epoch = source_date_epoch()?;
        options.libc_flavor = self.libc_flavor.clone();
        options.build_options = self.build_options.clone();
        for f in &self.env_files {
            let text = read(f, "env file")?;
            options
                .env_files
                .push(SourceFile::new(f.display().to_string(), text));
        }
        if let Some(f) = &self.vars_file {
            let text = read(f, "vars file")?;
            options.vars_file = Some(SourceFile::new(f.display().to_string(), text));
        }
        let source_dir = self.source_dir();
        // melange reads this file too; a missing one excludes nothing.
        if let Ok(ignore) = std::fs::read_to_string(source_dir.join(".melangeignore")) {
            options.source_excludes = ignore
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect();
        }
        // After .melangeignore, so that none of its `!` exceptions brings
        // them back: a build's own products must not change its inputs.
        let lock = crate::environment::lockfile::default_path(&self.recipe);
        for path in [&self.recipe, &lock].into_iter().chain(&self.outputs) {
            if let Some(pattern) = inside(&source_dir, path) {
                if !options.source_excludes.contains(&pattern) {
                    options.source_excludes.push(pattern);
                }
            }
        }
        let library = pipelines::library(&self.pipeline_dirs)?;
        Ok(Inputs {
            recipe: self.recipe.clone(),
            file,
            options,
            library,
            source_dir,
        })
    }
}

/// `path` relative to `dir` as an exclude pattern (metacharacters escaped),
/// when it lies strictly inside it. Paths that do not exist yet are placed
/// by their nearest existing ancestor, so links are seen through as the
/// file transfer would.
fn inside(dir: &Path, path: &Path) -> Option<String> {
    let dir = resolved(dir)?;
    let path = resolved(path)?;
    let rel = path.strip_prefix(&dir).ok()?;
    let rel = rel.to_str()?;
    if rel.is_empty() {
        return None;
    }
    let mut pattern = String::new();
    for c in rel.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '!') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    Some(pattern)
}

fn resolved(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return Some(rest.iter().rev().fold(real, |p, c| p.join(c)));
        }
        rest.push(existing.file_name()?.to_owned());
        existing = existing.parent()?;
    }
}

#[cfg(test)]
mod tests {
    use super::inside;

    #[test]
    fn only_paths_strictly_inside_become_escaped_patterns() {
        let dir = std::env::temp_dir().join(format!("melangec-inside-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        let src = dir.join("src");
        assert_eq!(
            inside(&src, &src.join("workspace")).as_deref(),
            Some("workspace")
        );
        assert_eq!(
            inside(&src, &src.join("a/b.yaml")).as_deref(),
            Some("a/b.yaml")
        );
        assert_eq!(
            inside(&src, &src.join("x[1]*.yaml")).as_deref(),
            Some("x\\[1\\]\\*.yaml")
        );
        assert_eq!(inside(&src, &src.join("../packages")), None);
        assert_eq!(inside(&src, &dir.join("other")), None);
        assert_eq!(inside(&src, &src), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
