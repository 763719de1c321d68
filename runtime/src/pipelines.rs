//! `melangec pipelines`: what `uses:` can name, and each pipeline's inputs.

use std::fmt::Write as _;

use melangec_compiler::library::Origin;
use melangec_compiler::PipelineLibrary;

/// One line per pipeline: name, where it comes from, what it does.
pub fn list(lib: &PipelineLibrary) -> String {
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
pub fn show(lib: &PipelineLibrary, name: &str) -> Result<String, String> {
    let def = lib
        .find(name)
        .ok_or_else(|| format!("no pipeline named {name:?}; `melangec pipelines` lists them"))?;
    let parsed = def
        .parse()
        .map_err(|d| format!("{} does not load: {}", def.file.name(), d.first_line()))?;
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
