//! Target architecture: a recipe whose `target-architecture` leaves out the
//! architecture asked for is not built for it (melange skips it).

use crate::front::diagnostics::{Code, Diagnostic};
use crate::front::recipe::Recipe;
use crate::options::Arch;
use crate::source::SourceFile;

/// Whether `arch` is one the recipe builds for: listed (either spelling),
/// `all`, or no list at all.
pub fn check(file: &SourceFile, recipe: &Recipe, arch: Arch) -> Result<(), Diagnostic> {
    let targets = &recipe.package.target_architecture;
    let listed = targets
        .iter()
        .any(|t| t.value == "all" || Arch::parse(&t.value) == Some(arch));
    if targets.is_empty() || listed {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::Arch,
        file,
        targets[0].span,
        format!(
            "skip this arch: {} is not in target-architecture",
            arch.apk()
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::front::load::load_recipe;

    fn run(targets: &str, arch: Arch) -> Result<(), Diagnostic> {
        let file = SourceFile::new(
            "t.yaml",
            format!("package:\n  name: p\n  version: 1\n  target-architecture: {targets}\n"),
        );
        check(&file, &load_recipe(&file).unwrap(), arch)
    }

    #[test]
    fn listed_all_or_unlisted() {
        assert!(run("[x86_64]", Arch::X86_64).is_ok());
        assert!(run("[amd64]", Arch::X86_64).is_ok());
        assert!(run("[all]", Arch::Aarch64).is_ok());
        assert!(run("[]", Arch::Aarch64).is_ok());
        let d = run("[x86_64]", Arch::Aarch64).unwrap_err();
        assert_eq!(
            d.message,
            "skip this arch: aarch64 is not in target-architecture"
        );
        assert_eq!(d.line(), 4);
    }
}
