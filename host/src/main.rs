//! The `covenant` binary; the work lives in the library.

fn main() -> std::process::ExitCode {
    covenant::cli::main()
}
