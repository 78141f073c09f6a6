//! `moat`, the AI security control plane: the command line. Thin: it parses
//! arguments and configuration, opens the store and calls the service layer
//! (`moat-server`), which checks permissions and writes the audit log.
//!
//! Exit codes: 0 success, 1 failure (including `moat inventory --overdue` finding
//! overdue assets and `moat audit verify` finding a problem), 2 usage error.

mod attack;
mod bom;
mod cli;
mod commands;
mod config;
mod context;
mod data;
mod demo_upstream;
mod endpoint;
mod files;
mod gateway;
mod guard;
mod output;
mod scan;
mod sign;

use std::process::ExitCode;

use clap::Parser as _;

use crate::context::UsageError;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("MOAT_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    // Worker threads: one a core unless MOAT_WORKER_THREADS says otherwise (a gateway
    // sharing its machine with the model server may do better with fewer).
    if let Some(n) = std::env::var("MOAT_WORKER_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| *n > 0)
    {
        rt.worker_threads(n);
    }
    let rt = match rt.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&anyhow::Error::new(e).context("cannot start the runtime")),
    };
    match rt.block_on(commands::run(cli)) {
        Ok(code) => code,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> ExitCode {
    use std::io::Write as _;
    let usage = e.downcast_ref::<UsageError>().is_some()
        || matches!(
            e.downcast_ref::<moat_server::ServiceError>(),
            Some(moat_server::ServiceError::Invalid(_))
        );
    let _ = writeln!(std::io::stderr(), "moat: error: {e:#}");
    ExitCode::from(if usage { 2 } else { 1 })
}
