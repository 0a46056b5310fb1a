use std::process::ExitCode;

fn main() -> ExitCode {
    romgate::cli::main()
}
