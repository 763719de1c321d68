//! `melangec render`: a readable rendering of any `.llb` file.

use std::path::{Path, PathBuf};

use melangec_compiler::render;

use super::{print_out, read_file, Failure};

#[derive(clap::Args)]
pub struct RenderArgs {
    /// The .llb file (`-` for standard input).
    file: PathBuf,
}

pub fn run(args: RenderArgs) -> Result<(), Failure> {
    let path = args.file.as_path();
    let bytes = if path == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .map_err(|e| Failure::Message(format!("cannot read standard input: {e}")))?;
        buf
    } else {
        read_file(path)?
    };
    let text = render::render_bytes(&bytes)?;
    print_out(text.as_bytes())
}
