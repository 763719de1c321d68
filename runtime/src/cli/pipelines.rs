//! `melangec pipelines`: what `uses:` can name, and each pipeline's inputs.

use std::fmt::Write as _;
use std::path::PathBuf;

use melangec_compiler::library::Origin;
use melangec_compiler::PipelineLibrary;

use super::{print_out, Failure};

#[derive(clap::Args)]
pub struct PipelinesArgs {
    #[command(subcommand)]
    action: Option<PipelinesAction>,
    /// First directory searched for `uses:` pipelines.
    #[arg(long, global = true, value_name = "DIR")]
    pipeline_dir: Option<PathBuf>,
    /// Further directories searched for `uses:` pipelines, in order.
    #[arg(long, value_delimiter = ',', global = true, value_name = "DIR,...")]
    pipeline_dirs: Vec<PathBuf>,
}

#[derive(clap::Subcommand)]
enum PipelinesAction {
    /// Print a pipeline's description, needs and inputs.
    Show {
        /// The name as `uses:` gives it, such as `go/build`.
        name: String,
    },
}

pub fn run(args: PipelinesArgs) -> Result<(), Failure> {
    let mut dirs: Vec<PathBuf> = args.pipeline_dir.into_iter().collect();
    dirs.extend(args.pipeline_dirs);
    let library = melangec::pipelines::library(&dirs)?;
    let text = match args.action {
        None => list(&library),
        Some(PipelinesAction::Show { name }) => show(&library, &name)?,
    };
    print_out(text.as_bytes())
}

/// One line per pipeline: name, where it comes from, what it does.
fn list(lib: &PipelineLibrary) -> String {
    let names = lib.names();
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let mut out = String::new();
    for name in names {
        let origin = match lib.origin(name) {
            Some(Origin::Dir(dir)) => dir,
            _ => "built-in".to_owned(),
        };
        let summary = lib
            .find(name)
            .and_then(|d| d.parse().ok())
            .map(|d| d.name.value.clone())
            .unwrap_or_default();
        let _ = writeln!(out, "{name:width$}  {summary}  [{origin}]");
    }
    out
}

/// Description, needs and inputs of one pipeline.
fn show(lib: &PipelineLibrary, name: &str) -> Result<String, Failure> {
    let def = lib.find(name).ok_or_else(|| {
        Failure::Message(format!(
            "no pipeline named {name:?}; `melangec pipelines` lists them"
        ))
    })?;
    let parsed = def.parse().map_err(Failure::Diagnostics)?;
    let mut out = String::new();
    let _ = writeln!(out, "{name}: {}", parsed.name.value);
    let _ = writeln!(out, "from {}", def.file.name());
    if !parsed.needs.is_empty() {
        let needs: Vec<&str> = parsed.needs.iter().map(|n| n.value.as_str()).collect();
        let _ = writeln!(out, "needs: {}", needs.join(" "));
    }
    if parsed.inputs.is_empty() {
        out.push_str("no inputs\n");
        return Ok(out);
    }
    out.push_str("inputs:\n");
    for (input, spec) in &parsed.inputs {
        let status = if spec.required {
            "required".to_owned()
        } else {
            match &spec.default {
                Some(d) if !d.value.is_empty() => format!("default {:?}", d.value),
                _ => "default empty".to_owned(),
            }
        };
        let _ = writeln!(out, "  {} ({status})", input.value);
        for line in spec.description.value.trim().lines() {
            let _ = writeln!(out, "      {line}");
        }
    }
    Ok(out)
}
