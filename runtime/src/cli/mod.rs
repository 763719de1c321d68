//! The command line: one module per subcommand, each reading its flags and
//! calling the library (the build job, the packaging and environment
//! stages), then saying what happened. How a command fails, and with which
//! exit code, is decided here once.

mod args;
mod build;
mod compile;
mod index;
mod interrupt;
mod keygen;
mod lock;
mod package;
mod pipelines;
mod query;
mod render;
mod sign;
mod test;

use std::fmt::Display;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use melangec_compiler::Diagnostics;

#[derive(Parser)]
#[command(
    name = "melangec",
    version,
    about = "Build APK packages from melange recipes with BuildKit"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a recipe to a serialized LLB definition (`buildctl build < OUT.llb`).
    Compile(Box<compile::CompileArgs>),
    /// Build a recipe on BuildKit (a buildkitd or Docker Engine) into packages.
    Build(Box<build::BuildArgs>),
    /// Run a recipe's `test:` sections on BuildKit against packages from the repositories.
    Test(Box<test::TestArgs>),
    /// Print a recipe's NAME-VERSION-rEPOCH, as Wolfi's Makefile asks.
    PackageVersion(query::PackageVersionArgs),
    /// Print a Go template over the recipe, e.g. `{{ .Package.Version }}`.
    Query(query::QueryArgs),
    /// Print a readable rendering of an .llb file.
    Render(render::RenderArgs),
    /// List the pipelines `uses:` can name, or show one's inputs.
    Pipelines(pipelines::PipelinesArgs),
    /// Generate an RSA key pair for signing packages and indexes.
    Keygen(keygen::KeygenArgs),
    /// Sign packages or indexes in place (RSA256).
    Sign(sign::SignArgs),
    /// Write an APKINDEX.tar.gz for packages.
    Index(index::IndexArgs),
    /// Resolve the build environment and write <recipe>.lock.yaml.
    Lock(Box<lock::LockArgs>),
    /// Package a directory as it is into an .apk (for test repositories).
    Package(Box<package::PackageArgs>),
}

/// How a command failed.
pub enum Failure {
    /// Shown as they are, each quoting its line.
    Diagnostics(Diagnostics),
    /// One sentence after `error: `.
    Message(String),
    /// A signal stopped the work: exit with this code.
    Cancelled(u8),
}

impl Failure {
    pub fn message(e: impl Display) -> Failure {
        Failure::Message(e.to_string())
    }
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Message(m)
    }
}

/// The stages' errors, each one sentence.
macro_rules! message_from {
    ($($error:ty),*) => {
        $(impl From<$error> for Failure {
            fn from(e: $error) -> Failure {
                Failure::message(e)
            }
        })*
    };
}

/// Waits for (and says so) any build or command writing `dir`, as builds
/// do, so an index or package written here is never torn by another.
pub(crate) fn hold_dir(dir: &std::path::Path) -> Result<melangec::exclusive::Held, Failure> {
    Ok(melangec::exclusive::hold_blocking(&[dir], |d| {
        eprintln!("waiting for another build writing {}", d.display())
    })?)
}

/// [`hold_dir`] of the directory `file` is written in.
pub(crate) fn hold_parent(file: &std::path::Path) -> Result<melangec::exclusive::Held, Failure> {
    match file.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => hold_dir(dir),
        None => hold_dir(std::path::Path::new(".")),
    }
}

message_from!(
    melangec::apk::Error,
    melangec::file_error::WriteError,
    melangec::recipe::InputError,
    melangec::buildkit::addr::AddrError,
    melangec::pipelines::PipelineDirError,
    melangec_compiler::render::RenderError
);

impl From<melangec::environment::Error> for Failure {
    fn from(e: melangec::environment::Error) -> Failure {
        match e.diagnostics() {
            Some(d) => Failure::Diagnostics(d.clone()),
            None => Failure::message(e),
        }
    }
}

impl From<melangec::job::Error> for Failure {
    fn from(e: melangec::job::Error) -> Failure {
        match e.diagnostics() {
            Some(d) => Failure::Diagnostics(d.clone()),
            None => Failure::message(e),
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Compile(args) => compile::run(*args),
        Command::Build(args) => build::run(*args),
        Command::Test(args) => test::run(*args),
        Command::PackageVersion(args) => query::package_version(args),
        Command::Query(args) => query::run(args),
        Command::Render(args) => render::run(args),
        Command::Pipelines(args) => pipelines::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Index(args) => index::run(args),
        Command::Lock(args) => lock::run(*args),
        Command::Package(args) => package::run(*args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Cancelled(code)) => {
            eprintln!("{}", interrupt::CANCELLED);
            ExitCode::from(code)
        }
        Err(Failure::Message(m)) => {
            eprintln!("error: {m}");
            ExitCode::FAILURE
        }
        Err(Failure::Diagnostics(diags)) => {
            for d in diags.0 {
                eprintln!("{:?}", miette::Report::new(d));
            }
            ExitCode::FAILURE
        }
    }
}

/// The async runtime for the commands that talk to daemons and
/// repositories.
fn async_runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("cannot start the async runtime: {e}")))
}

/// A file's bytes, for the commands that take files.
fn read_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path)
        .map_err(|e| Failure::Message(format!("cannot read {}: {e}", path.display())))
}

/// Writes to standard output; a reader that went away (`| head`) ends the
/// output quietly.
fn print_out(bytes: &[u8]) -> Result<(), Failure> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::Message(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Every flag and argument of every subcommand says what it is for, and
    /// `--arch` and `--progress` list their values.
    #[test]
    fn every_argument_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if id == "help" || id == "version" {
                    continue;
                }
                if arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let cli = Cli::command();
        let mut missing = Vec::new();
        walk(&cli, "melangec", &mut missing);
        assert!(missing.is_empty(), "arguments without help: {missing:?}");

        let build = cli.find_subcommand("build").unwrap();
        let values = |name: &str| -> Vec<String> {
            build
                .get_arguments()
                .find(|a| a.get_id() == name)
                .unwrap()
                .get_possible_values()
                .iter()
                .map(|v| v.get_name().to_owned())
                .collect()
        };
        assert_eq!(values("arch"), ["x86_64", "aarch64"]);
        assert_eq!(values("progress"), ["auto", "tty", "plain", "json"]);
    }
}
