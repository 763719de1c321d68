//! `melangec`: compile melange recipes to BuildKit LLB and build them.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
