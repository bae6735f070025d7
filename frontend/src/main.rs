//! The `stagecraft` binary: the CLI, and the gateway frontend that the
//! image runs as its entrypoint.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
