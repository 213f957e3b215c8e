//! The `drop-lab` binary: parse the command line, hand off to the library,
//! report an error on one line with its exit status (2 for bad input).

use std::process::ExitCode;

use clap::{Parser, error::ErrorKind};
use drop_lab::cli::Cli;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => e.exit(),
        Err(e) => {
            // clap's message names the flag on its first line; the rest is
            // usage advice that would make the error span several lines.
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("drop-lab: {}", first.trim());
            return ExitCode::from(2);
        }
    };
    match drop_lab::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("drop-lab: error: {e:#}");
            e.exit_code()
        }
    }
}
