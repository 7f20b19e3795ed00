//! The `learning-passport` command line.

/// The allocator `PASSPORT_ALLOCATOR` chooses (see `allocator`).
#[global_allocator]
static ALLOCATOR: learning_passport::allocator::Chosen = learning_passport::allocator::Chosen;

fn main() -> std::process::ExitCode {
    learning_passport::cli::main()
}
