//! A readable rendering of an LLB definition: every op in definition order
//! with its digest, name, inputs, and what it does. Golden snapshots use it,
//! and so does `melangec render`.

use std::collections::HashMap;
use std::fmt::Write as _;

use prost::Message;

use melangec_proto::pb;

use super::marshal::digest;

/// Why bytes could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("not an LLB definition: {0}")]
    NotADefinition(prost::DecodeError),
    #[error("op {index} does not decode: {source}")]
    Op {
        index: usize,
        source: prost::DecodeError,
    },
}

/// Decodes and renders `.llb` bytes.
pub fn render_bytes(bytes: &[u8]) -> Result<String, RenderError> {
    let def = pb::Definition::decode(bytes).map_err(RenderError::NotADefinition)?;
    render(&def)
}

pub fn render(def: &pb::Definition) -> Result<String, RenderError> {
    let mut out = String::new();
    let mut number: HashMap<String, usize> = HashMap::new();
    let source = def.source.as_ref();
    let file = source.and_then(|s| s.infos.first());
    writeln!(
        out,
        "definition {} ({} ops)",
        digest(&def.encode_to_vec()),
        def.def.len()
    )
    .ok();
    if let Some(f) = file {
        writeln!(out, "source map: {} ({} bytes)", f.filename, f.data.len()).ok();
    }
    for (i, bytes) in def.def.iter().enumerate() {
        let d = digest(bytes);
        let op = pb::Op::decode(bytes.as_slice())
            .map_err(|source| RenderError::Op { index: i, source })?;
        number.insert(d.clone(), i);
        let meta = def.metadata.get(&d);
        let name = meta.and_then(|m| m.description.get("llb.customname"));
        writeln!(out).ok();
        write!(out, "#{i} {d}").ok();
        if let Some(n) = name {
            write!(out, " \"{n}\"").ok();
        }
        writeln!(out).ok();
        if let Some(locs) = source.and_then(|s| s.locations.get(&d)) {
            for l in &locs.locations {
                for r in &l.ranges {
                    let start = r.start.as_ref().map_or(0, |p| p.line);
                    let end = r.end.as_ref().map_or(start, |p| p.line);
                    let fname = source
                        .and_then(|s| s.infos.get(l.source_index as usize))
                        .map_or("?", |f| f.filename.as_str());
                    writeln!(out, "  from {fname}:{start}-{end}").ok();
                }
            }
        }
        let inputs: Vec<String> = op
            .inputs
            .iter()
            .map(|inp| {
                let n = number
                    .get(&inp.digest)
                    .map_or_else(|| inp.digest.clone(), |n| format!("#{n}"));
                format!("{n}.{}", inp.index)
            })
            .collect();
        if !inputs.is_empty() {
            writeln!(out, "  inputs: {}", inputs.join(" ")).ok();
        }
        if let Some(p) = &op.platform {
            writeln!(out, "  platform: {}/{}", p.os, p.architecture).ok();
        }
        match &op.op {
            None => writeln!(out, "  terminal: result is {}", inputs.join(" ")).unwrap_or(()),
            Some(pb::op::Op::Source(s)) => {
                writeln!(out, "  source {}", s.identifier).ok();
                for (k, v) in &s.attrs {
                    writeln!(out, "    {k} = {v}").ok();
                }
            }
            Some(pb::op::Op::Exec(e)) => render_exec(&mut out, e),
            Some(pb::op::Op::File(f)) => {
                for a in &f.actions {
                    render_action(&mut out, a);
                }
            }
            Some(pb::op::Op::Merge(m)) => {
                let layers: Vec<String> = m.inputs.iter().map(|i| i.input.to_string()).collect();
                writeln!(out, "  merge inputs {}", layers.join(" ")).ok();
            }
            Some(other) => writeln!(out, "  {other:?}").unwrap_or(()),
        }
        if let Some(m) = meta {
            for (k, v) in &m.description {
                if k != "llb.customname" {
                    writeln!(out, "  {k}: {}", v.replace('\n', " ")).ok();
                }
            }
            let caps: Vec<&str> = m.caps.keys().map(String::as_str).collect();
            writeln!(out, "  caps: {}", caps.join(" ")).ok();
        }
    }
    Ok(out)
}

fn render_exec(out: &mut String, e: &pb::ExecOp) {
    let Some(meta) = &e.meta else { return };
    let (script, args) = match meta.args.as_slice() {
        [sh, c, script] if c == "-c" => (Some(script), format!("{sh} -c")),
        args => (None, args.join(" ")),
    };
    writeln!(
        out,
        "  exec {args}  cwd={} user={}",
        meta.cwd,
        if meta.user.is_empty() {
            "root"
        } else {
            &meta.user
        }
    )
    .ok();
    if let Some(script) = script {
        for line in script.lines() {
            writeln!(out, "    | {line}").ok();
        }
    }
    writeln!(out, "  env:").ok();
    for v in &meta.env {
        writeln!(out, "    {v}").ok();
    }
    for m in &e.mounts {
        let kind = match pb::MountType::try_from(m.mount_type) {
            Ok(pb::MountType::Cache) => format!(
                "cache id={} sharing={}",
                m.cache_opt.as_ref().map_or("", |c| c.id.as_str()),
                match m.cache_opt.as_ref().map_or(0, |c| c.sharing) {
                    1 => "private",
                    2 => "locked",
                    _ => "shared",
                }
            ),
            Ok(pb::MountType::Bind) if m.input < 0 => "scratch".to_owned(),
            Ok(pb::MountType::Bind) => format!("input {}", m.input),
            other => format!("{other:?}"),
        };
        let output = if m.output >= 0 {
            format!(" -> output {}", m.output)
        } else {
            String::new()
        };
        let ro = if m.readonly { " ro" } else { "" };
        writeln!(out, "  mount {} <- {kind}{ro}{output}", m.dest).ok();
    }
}

fn render_action(out: &mut String, a: &pb::FileAction) {
    let base = if a.input < 0 {
        "scratch".to_owned()
    } else {
        format!("input {}", a.input)
    };
    let result = if a.output >= 0 {
        format!(" -> output {}", a.output)
    } else {
        String::new()
    };
    match &a.action {
        Some(pb::file_action::Action::Mkdir(m)) => {
            writeln!(
                out,
                "  mkdir {} mode={:o} parents={} ts={} on {base}{result}",
                m.path, m.mode, m.make_parents, m.timestamp
            )
            .ok();
        }
        Some(pb::file_action::Action::Mkfile(m)) => {
            writeln!(
                out,
                "  mkfile {} mode={:o} {} bytes ts={} on {base}{result}",
                m.path,
                m.mode,
                m.data.len(),
                m.timestamp
            )
            .ok();
        }
        Some(pb::file_action::Action::Copy(c)) if c.attempt_unpack_docker_compatibility => {
            writeln!(
                out,
                "  unpack input {}:{} -> {} on {base}{result}",
                a.secondary_input, c.src, c.dest
            )
            .ok();
        }
        Some(pb::file_action::Action::Rm(r)) => {
            writeln!(out, "  rm {} on {base}{result}", r.path).ok();
        }
        Some(pb::file_action::Action::Copy(c)) => {
            let pattern = match (c.allow_wildcard, c.allow_empty_wildcard) {
                (true, true) => " pattern (may match nothing)",
                (true, false) => " pattern",
                _ => "",
            };
            writeln!(
                out,
                "  copy input {}:{}{pattern} -> {} contents={} create-parents={} on {base}{result}",
                a.secondary_input, c.src, c.dest, c.dir_copy_contents, c.create_dest_path
            )
            .ok();
        }
        Some(other) => {
            writeln!(out, "  {other:?} on {base}{result}").ok();
        }
        None => {}
    }
}
