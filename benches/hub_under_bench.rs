//! `custos-hub`, built inside the benchmark package so that the sync and load benchmarks can start
//! the hub as a process: the same entry point as hub/src/main.rs.

fn main() -> std::process::ExitCode {
    custos_hub::cli::main()
}
