//! The pipeline library `uses:` resolves against: directories the caller read
//! (`--pipeline-dir`, `--pipeline-dirs`, `/usr/share/melange/pipelines`, in
//! that order) and then the built-ins embedded in the binary. First match wins.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

pub mod tree;

use crate::front::diagnostics::Diagnostics;
use crate::front::load::load_pipeline_def;
use crate::front::recipe::PipelineDef;
use crate::source::SourceFile;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtins.rs"));
}

/// A definition file, parsed on first use.
#[derive(Debug)]
pub struct Definition {
    pub file: SourceFile,
    parsed: OnceLock<Result<Arc<PipelineDef>, Diagnostics>>,
}

impl Definition {
    fn new(file: SourceFile) -> Definition {
        Definition {
            file,
            parsed: OnceLock::new(),
        }
    }

    pub fn parse(&self) -> Result<Arc<PipelineDef>, Diagnostics> {
        self.parsed
            .get_or_init(|| load_pipeline_def(&self.file).map(Arc::new))
            .clone()
    }
}

/// Where a definition was found, for listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Dir(String),
    Builtin,
}

#[derive(Debug, Default)]
pub struct PipelineLibrary {
    /// Directories in search order; each maps `a/b` to the text of `a/b.yaml`.
    dirs: Vec<(String, BTreeMap<String, Definition>)>,
    builtins: BTreeMap<&'static str, Definition>,
}

impl PipelineLibrary {
    /// The built-ins alone.
    pub fn builtin() -> PipelineLibrary {
        let builtins = builtin::BUILTINS
            .iter()
            .map(|(name, text)| {
                let file = SourceFile::new(format!("<builtin>/{name}.yaml"), *text);
                (*name, Definition::new(file))
            })
            .collect();
        PipelineLibrary {
            dirs: Vec::new(),
            builtins,
        }
    }

    /// Adds a directory searched after those already added. `files` maps a
    /// pipeline name (`test/docs`) to its text; `label` names the directory
    /// in diagnostics.
    pub fn add_dir(&mut self, label: &str, files: impl IntoIterator<Item = (String, String)>) {
        let defs = files
            .into_iter()
            .map(|(name, text)| {
                let file = SourceFile::new(format!("{label}/{name}.yaml"), text);
                (name, Definition::new(file))
            })
            .collect();
        self.dirs.push((label.to_owned(), defs));
    }

    pub fn find(&self, name: &str) -> Option<&Definition> {
        self.dirs
            .iter()
            .find_map(|(_, defs)| defs.get(name))
            .or_else(|| self.builtins.get(name))
    }

    /// Every built-in name.
    pub fn builtin_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.builtins.keys().copied()
    }

    /// Every name `uses:` can resolve, each once, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .dirs
            .iter()
            .flat_map(|(_, defs)| defs.keys().map(String::as_str))
            .chain(self.builtins.keys().copied())
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    pub fn origin(&self, name: &str) -> Option<Origin> {
        if let Some((label, _)) = self.dirs.iter().find(|(_, defs)| defs.contains_key(name)) {
            return Some(Origin::Dir(label.clone()));
        }
        self.builtins.contains_key(name).then_some(Origin::Builtin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_shadow_builtins_in_order() {
        let mut lib = PipelineLibrary::builtin();
        lib.add_dir("first", [("x".to_owned(), "name: first".to_owned())]);
        lib.add_dir("second", [("x".to_owned(), "name: second".to_owned())]);
        let def = lib.find("x").unwrap();
        assert_eq!(def.file.name(), "first/x.yaml");
        assert_eq!(lib.origin("x"), Some(Origin::Dir("first".into())));
        assert!(lib.find("missing").is_none());
        assert_eq!(lib.names().iter().filter(|n| **n == "x").count(), 1);
    }
}
