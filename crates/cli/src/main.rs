//! `outpost`: the headless Outpost client for clinic nodes, scripts and backups.
//!
//! Every command opens the profile (`--profile DIR` or `OUTPOST_PROFILE`), unlocks it
//! non-interactively (`OUTPOST_PASSPHRASE` or `--passphrase-file`), does one thing and locks.
//! Exit codes: 0 ok, 1 user error (one line on stderr), 2 usage.

mod alerts;
mod call;
mod cli;
mod clinical;
mod run;
mod sync;
mod update;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("outpost: cannot start: {e}");
            return std::process::ExitCode::from(1);
        }
    };
    match runtime.block_on(run::run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One line, no patient data: store and core errors are written to be shown.
            eprintln!("outpost: {e}");
            std::process::ExitCode::from(1)
        }
    }
}
