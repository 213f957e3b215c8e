//! drop-lab: shows, with real OTLP traffic, how an OpenTelemetry span processor
//! can block a DataFusion program, and how to avoid it.
//!
//! `datafusion-tracing` wraps every physical plan node in an `InstrumentedExec`
//! that owns one span. Before upstream PR #54 (release 53.0.2) those spans
//! closed when the plan was dropped. With `tracing-opentelemetry` and a
//! `SimpleSpanProcessor`, every span end exports synchronously on the calling
//! thread, so dropping a plan of N nodes costs about N collector round trips.
//! A `BatchSpanProcessor` queues the spans and exports them on a thread of its
//! own, so the drop returns at once. The lab measures both, next to a baseline
//! with no OpenTelemetry layer at all.
//!
//! The crate is a library with a thin binary. Its modules, one concern each:
//!
//! - [`cli`]: the command line (clap), one doc line per flag.
//! - [`config`]: turns raw flags into validated, typed options; every error
//!   names the flag it is about.
//! - [`workload`]: in-memory tables, the named queries, planning with the
//!   `datafusion-tracing` instrumentation rule, execution.
//! - [`export`]: the exporters the lab measures (OTLP/gRPC or simulated), the
//!   runtime they run on so that a blocked caller can never deadlock them,
//!   and the counting wrapper.
//! - [`telemetry`]: the process-wide subscriber and a fresh tracer provider per
//!   run, for the `none`, `simple` and `batch` processors.
//! - [`measure`]: one measured run (execute, drop, flush), the export round-trip
//!   probe, repeats and their statistics.
//! - [`proxy`]: Toxiproxy control, which puts real latency on the OTLP stream.
//! - [`jaeger`]: asks Jaeger's query API which spans of a run arrived.
//! - [`report`]: the terminal table and the JSON results file.
//! - [`scenario`]: failure modes (outage, jitter, bandwidth, overflow,
//!   off-thread drop, runtime stall), each a named scenario with its table.
//! - [`sweep`]: the measurement over latencies and plan sizes, and releases
//!   compared side by side, as CSV, Markdown and charts.
//! - [`chart`]: the SVG charts, drawn by the lab itself.
//! - [`receiver`]: an in-process OTLP/gRPC collector with an injected delay,
//!   for hermetic tests (never a replacement for the real stack).

pub mod chart;
pub mod cli;
pub mod config;
pub mod export;
pub mod jaeger;
pub mod measure;
pub mod proxy;
pub mod receiver;
pub mod report;
pub mod scenario;
pub mod sweep;
pub mod telemetry;
pub mod workload;

use std::process::ExitCode;

use cli::{Cli, Command};
use config::{Config, ConfigError};

/// Versions of the crates under test, as resolved in `Cargo.lock` (see `build.rs`).
pub mod versions {
    /// The `datafusion-tracing` release this binary was built against.
    pub const DATAFUSION_TRACING: &str = env!("DROP_LAB_DATAFUSION_TRACING_VERSION");
    /// The `datafusion` release this binary was built against.
    pub const DATAFUSION: &str = env!("DROP_LAB_DATAFUSION_VERSION");
    /// The `opentelemetry_sdk` release this binary was built against.
    pub const OPENTELEMETRY_SDK: &str = env!("DROP_LAB_OPENTELEMETRY_SDK_VERSION");
    /// The `tracing-opentelemetry` release this binary was built against.
    pub const TRACING_OPENTELEMETRY: &str = env!("DROP_LAB_TRACING_OPENTELEMETRY_VERSION");
    /// drop-lab itself.
    pub const DROP_LAB: &str = env!("CARGO_PKG_VERSION");
}

/// Runs the parsed command line. Errors carry their exit status: 2 for bad
/// input (a flag, a file, an unreachable target), 1 for anything else.
pub fn run(cli: Cli) -> Result<(), LabError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("drop-lab-main")
        .build()
        .map_err(|e| LabError::Runtime(e.into()))?;
    match cli.command {
        Some(Command::Queries) => runtime.block_on(report::print_queries()),
        Some(Command::Scenarios) => {
            print!("{}", scenario::list());
            Ok(())
        }
        Some(Command::Run(args)) => runtime.block_on(run_experiment(Config::from_args(args)?)),
        Some(Command::Sweep(args)) => runtime.block_on(run_sweep(args)),
        Some(Command::Compare(args)) => {
            ensure_dir(&args.out)?;
            for file in sweep::write_compare(&args.inputs, &args.out)? {
                println!("wrote {file}");
            }
            Ok(())
        }
        None => runtime.block_on(run_experiment(Config::from_args(cli.run)?)),
    }
}

async fn run_experiment(config: Config) -> Result<(), LabError> {
    if let Some(name) = config.scenario {
        let report = scenario::run(name, &config, scenario::ScenarioConfig::default()).await?;
        print!("{}", scenario::render(&report));
        return write_json(&report, config.json.as_deref());
    }
    let report = measure::experiment(&config).await?;
    print!("{}", report::render_table(&report));
    write_json(&report, config.json.as_deref())
}

async fn run_sweep(args: cli::SweepArgs) -> Result<(), LabError> {
    let queries = args
        .queries
        .iter()
        .map(|name| {
            workload::find_query(name)
                .map(config::QuerySpec::Named)
                .ok_or_else(|| ConfigError::new("--queries", format!("no query named '{name}'")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    ensure_dir(&args.out)?;
    let config = Config::from_args(args.run)?;
    let sweep = sweep::sweep(&config, &queries, &args.latencies).await?;
    print!("{}", sweep::markdown(&sweep.rows));
    for file in sweep::write_sweep(&sweep, &args.out)? {
        println!("wrote {file}");
    }
    Ok(())
}

fn ensure_dir(dir: &std::path::Path) -> Result<(), LabError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ConfigError::new("--out", format!("cannot create '{}': {e}", dir.display())).into())
}

fn write_json(report: &impl serde::Serialize, path: Option<&std::path::Path>) -> Result<(), LabError> {
    if let Some(path) = path {
        report::write_json(report, path)?;
        println!("results written to {}", path.display());
    }
    Ok(())
}

/// Every way the lab can fail, sorted by whose fault it is.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    /// Bad input: the message names the flag, variable or file.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Something went wrong while measuring.
    #[error(transparent)]
    Runtime(#[from] anyhow::Error),
}

impl LabError {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            LabError::Config(_) => ExitCode::from(2),
            LabError::Runtime(_) => ExitCode::from(1),
        }
    }
}
