//! `custos-hub`, built inside the end-to-end test package so that its tests can start
//! the hub as a process: the same entry point as hub/src/main.rs.

fn main() -> std::process::ExitCode {
    custos_hub::cli::main()
}
