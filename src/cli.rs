//! The command line. Raw flags only: [`crate::config`] validates them and
//! turns them into typed options. Every flag can also come from a
//! `DROP_LAB_*` environment variable, which is how the compose stack and the
//! Makefile configure the lab.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, ProcessorKind};

/// Measure what an OpenTelemetry span processor costs a DataFusion plan
/// instrumented by datafusion-tracing: per processor, the time to execute the
/// query, to drop the plan, and to flush the spans.
#[derive(Debug, Parser)]
#[command(name = "drop-lab", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Running without a subcommand is `drop-lab run`.
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the named queries with their instrumented plan-node counts.
    Queries,
    /// List the failure-mode scenarios (`--scenario NAME`), one line each.
    Scenarios,
    /// Run the measurement (the default).
    Run(RunArgs),
    /// Run the measurement over several latencies and queries; write JSON,
    /// CSV, Markdown and SVG charts into a directory.
    Sweep(SweepArgs),
    /// Put the sweeps of several datafusion-tracing releases side by side:
    /// CSV, Markdown and a grouped-bar SVG.
    Compare(CompareArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Latencies to sweep, comma-separated (on the proxy with
    /// --toxiproxy-url, else the simulated exporter's wait).
    #[arg(long, env = "DROP_LAB_LATENCIES", value_delimiter = ',', default_value = "0,25,50,100,200",
          value_name = "MS,...", value_parser = config::parse_latency_ms)]
    pub latencies: Vec<u64>,

    /// Named queries to sweep (the plan-size axis), comma-separated.
    #[arg(long, env = "DROP_LAB_QUERIES", value_delimiter = ',', default_value = "seed,join,report", value_name = "NAME,...")]
    pub queries: Vec<String>,

    /// Directory for sweep.json, sweep.csv, sweep.md and the charts.
    #[arg(long, env = "DROP_LAB_OUT", value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    /// The sweep.json of each release.
    #[arg(required = true, num_args = 2.., value_name = "SWEEP_JSON")]
    pub inputs: Vec<PathBuf>,

    /// Directory for compare.csv, compare.md and compare.svg.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// Named query to run (`drop-lab queries` lists them).
    #[arg(long, env = "DROP_LAB_QUERY", default_value = "seed", value_name = "NAME")]
    pub query: String,

    /// Any SQL over the lab's tables, instead of a named query.
    #[arg(long, env = "DROP_LAB_SQL", value_name = "SQL", conflicts_with = "query")]
    pub sql: Option<String>,

    /// Span processors to compare, comma-separated.
    #[arg(
        long,
        env = "DROP_LAB_PROCESSORS",
        value_enum,
        value_delimiter = ',',
        default_value = "none,simple,batch",
        value_name = "LIST"
    )]
    pub processors: Vec<ProcessorKind>,

    /// Measured runs per processor (median, min and max are reported).
    #[arg(long, env = "DROP_LAB_REPEAT", default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,

    /// Export over OTLP/gRPC to this collector (e.g. http://127.0.0.1:4317)
    /// instead of the in-process simulated exporter.
    #[arg(long, env = "DROP_LAB_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// Bound on each OTLP export, retries included.
    #[arg(long, env = "DROP_LAB_OTLP_TIMEOUT_MS", default_value = "5000", value_name = "MS",
          allow_hyphen_values = true, value_parser = config::parse_timeout_ms)]
    pub otlp_timeout_ms: u64,

    /// Without --otlp-endpoint: how long the in-process exporter waits per export call.
    #[arg(long, env = "DROP_LAB_SIMULATED_LATENCY_MS", default_value = "50", value_name = "MS",
          allow_hyphen_values = true, value_parser = config::parse_latency_ms)]
    pub simulated_latency_ms: u64,

    /// Toxiproxy API (e.g. http://127.0.0.1:8474): with --latency-ms, the lab
    /// puts that latency on the OTLP proxy before the runs and removes it after.
    #[arg(long, env = "DROP_LAB_TOXIPROXY_URL", value_name = "URL", requires = "otlp_endpoint")]
    pub toxiproxy_url: Option<String>,

    /// Name of the Toxiproxy proxy that carries OTLP to the collector.
    #[arg(long, env = "DROP_LAB_PROXY", default_value = "otlp", value_name = "NAME")]
    pub proxy: String,

    /// Latency added by Toxiproxy to every response from the collector.
    #[arg(long, env = "DROP_LAB_LATENCY_MS", value_name = "MS", requires = "toxiproxy_url",
          allow_hyphen_values = true, value_parser = config::parse_latency_ms)]
    pub latency_ms: Option<u64>,

    /// Jaeger query API (e.g. http://127.0.0.1:16686): after each run the lab
    /// counts that run's spans in Jaeger.
    #[arg(long, env = "DROP_LAB_JAEGER_URL", value_name = "URL")]
    pub jaeger_url: Option<String>,

    /// Jaeger UI address used in the printed links (defaults to --jaeger-url).
    #[arg(long, env = "DROP_LAB_JAEGER_UI_URL", value_name = "URL")]
    pub jaeger_ui_url: Option<String>,

    /// How long to wait for a run's spans to show up in Jaeger.
    #[arg(long, env = "DROP_LAB_JAEGER_WAIT_MS", default_value = "10000", value_name = "MS",
          allow_hyphen_values = true, value_parser = config::parse_timeout_ms)]
    pub jaeger_wait_ms: u64,

    /// Run a failure-mode scenario instead of the plain comparison
    /// (`drop-lab scenarios` lists them; empty means none).
    #[arg(long, env = "DROP_LAB_SCENARIO", value_name = "NAME")]
    pub scenario: Option<String>,

    /// Write the results as JSON to this file.
    #[arg(long, env = "DROP_LAB_JSON", value_name = "FILE")]
    pub json: Option<PathBuf>,
}
