//! The `custos-hub` command (`cli.rs` holds it).

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    custos_hub::cli::main()
}
