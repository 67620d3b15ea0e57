//! The `covenant` binary; the work lives in the library.

/// Reading a log allocates a few short strings per event and frees them a
/// batch later, on two threads; mimalloc does that several times faster
/// than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    covenant::cli::main()
}
