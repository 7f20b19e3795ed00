//! The `learning-passport` command line.

fn main() -> std::process::ExitCode {
    learning_passport::cli::main()
}
