//! The measurement: what one run is, how the export round trip is probed,
//! and how repeats are summarised.
//!
//! One run, under one processor:
//! 1. a fresh tracer provider is installed, and a root span opened;
//! 2. inside it the query is planned and every partition executed to
//!    completion (`execute_ms`);
//! 3. the last `Arc` of the plan is dropped on the calling thread, a runtime
//!    worker as in the program of upstream issue #27 (`drop_ms`): with
//!    datafusion-tracing 53.0.0 this closes every node span;
//! 4. the root span closes (under Simple, one more round trip, deliberately
//!    outside the timed drop), the provider is removed and shut down on a
//!    blocking thread, which flushes whatever is queued (`flush_ms`).
//!
//! The model the runs are compared with: under Simple each span end waits for
//! one export round trip, so `predicted_drop_ms = spans x export_rtt_ms`;
//! under Batch a span end is a channel send, so the prediction is 0.

use std::{sync::Arc, time::Duration, time::Instant};

use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
use opentelemetry_sdk::trace::{SdkTracerProvider, SimpleSpanProcessor};
use serde::Serialize;
use tracing::Instrument;

use crate::{
    LabError,
    config::{Config, ConfigError, ProcessorKind, TargetConfig},
    export::{ExportCounts, Target},
    jaeger, proxy, telemetry, versions,
    workload::{self, Workload},
};

/// The name of each run's root span in Jaeger.
pub const ROOT_SPAN: &str = "drop_lab.run";

/// Round-trip samples taken after one warm-up export (which also opens the
/// connection).
const RTT_SAMPLES: usize = 5;

/// Measured runs never overlap: the tracing layer is process-wide, and two
/// runs sharing the cores would disturb each other's timings.
static RUN_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One measured run. Times in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub processor: ProcessorKind,
    /// 0-based repetition index.
    pub repeat: u32,
    /// Latency the lab injected (simulated wait or Toxiproxy toxic).
    pub latency_ms: u64,
    /// The probed round trip of one single-span export to the target.
    pub export_rtt_ms: f64,
    /// Node spans exported (the run's root span excluded).
    pub spans: usize,
    /// Every span exported, the root span included.
    pub spans_total: usize,
    /// Spans whose export failed or timed out.
    pub export_errors: usize,
    /// Export calls made.
    pub export_calls: usize,
    pub execute_ms: f64,
    pub drop_ms: f64,
    pub predicted_drop_ms: f64,
    pub flush_ms: f64,
    /// Node spans of this run's trace found in Jaeger; null when no backend
    /// was queried.
    pub spans_in_backend: Option<usize>,
    /// The run's trace id (null under `none`).
    pub trace_id: Option<String>,
    /// Jaeger UI link to the trace, when a backend was queried.
    pub trace_url: Option<String>,
    pub rows: usize,
}

/// Median, min and max of one quantity over repeats.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Stats {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Stats {
        assert!(!values.is_empty(), "statistics of nothing");
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let mid = sorted.len() / 2;
        let median = if sorted.len() % 2 == 1 { sorted[mid] } else { (sorted[mid - 1] + sorted[mid]) / 2.0 };
        Stats { median, min: sorted[0], max: sorted[sorted.len() - 1] }
    }
}

/// All runs of one processor, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub processor: ProcessorKind,
    pub runs: usize,
    pub spans: usize,
    pub execute_ms: Stats,
    pub drop_ms: Stats,
    pub predicted_drop_ms: Stats,
    pub flush_ms: Stats,
    /// `drop_ms / predicted_drop_ms` under Simple: how well the model holds.
    pub drop_to_predicted: Option<Stats>,
    /// Runs where Jaeger did not hold every exported span.
    pub runs_missing_spans: usize,
    pub export_errors: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct LabInfo {
    pub version: &'static str,
    pub datafusion: &'static str,
    pub datafusion_tracing: &'static str,
    pub opentelemetry_sdk: &'static str,
    pub tracing_opentelemetry: &'static str,
    pub target_partitions: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueryInfo {
    pub name: String,
    pub sql: String,
    pub plan_nodes: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct TargetInfo {
    /// `simulated` or `otlp-grpc`.
    pub kind: &'static str,
    pub endpoint: Option<String>,
    pub timeout_ms: Option<u64>,
    pub latency_ms: u64,
    /// Where the latency was injected: `simulated` (in-process wait),
    /// `toxiproxy:<proxy>/downstream`, or `none`.
    pub latency_injected_by: String,
    pub export_rtt_ms: f64,
    pub export_rtt_samples_ms: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BackendInfo {
    pub kind: &'static str,
    pub api: String,
    pub ui: String,
    pub search_url: String,
}

/// Everything one invocation measured: what the JSON file holds.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub lab: LabInfo,
    pub query: QueryInfo,
    pub target: TargetInfo,
    pub backend: Option<BackendInfo>,
    pub runs: Vec<Run>,
    pub summary: Vec<Summary>,
}

/// Runs the whole measurement that `config` describes.
pub async fn experiment(config: &Config) -> Result<Report, LabError> {
    let workload = Workload::new(config.query.clone())?;
    // Planning first checks the query before anything touches the network.
    // A plan that is never executed opens no spans.
    let plan_nodes = workload::plan_nodes(&workload.plan().await?);
    let target = Target::new(&config.target).map_err(anyhow::Error::from)?;

    let toxic = match &config.proxy {
        Some(p) => Some(proxy::LatencyToxic::apply(p).await?),
        None => None,
    };
    let result = measure_all(config, &workload, &target, plan_nodes).await;
    // Remove the toxic whatever happened; report the first error.
    let cleared = match toxic {
        Some(toxic) => toxic.clear().await,
        None => Ok(()),
    };
    let report = result?;
    cleared?;
    Ok(report)
}

async fn measure_all(config: &Config, workload: &Workload, target: &Target, plan_nodes: usize) -> Result<Report, LabError> {
    let samples = probe_rtt(target).await?;
    let export_rtt_ms = Stats::of(&samples).median;
    let latency_ms = config.injected_latency().as_millis() as u64;

    let mut runs = Vec::new();
    // Interleave processors within each repetition so that slow drift of
    // the machine or the network spreads evenly over them.
    for repeat in 0..config.repeat {
        for &kind in &config.processors {
            let mut run = run_once(workload, target, kind, repeat, latency_ms, export_rtt_ms).await?;
            if let (Some(jaeger), Some(trace_id)) = (&config.jaeger, &run.trace_id) {
                let found = jaeger::count_trace_spans(jaeger, trace_id, run.spans_total).await?;
                run.spans_in_backend = Some(found.children);
                run.trace_url = Some(jaeger::trace_url(jaeger, trace_id));
            }
            runs.push(run);
        }
    }

    Ok(Report {
        lab: LabInfo {
            version: versions::DROP_LAB,
            datafusion: versions::DATAFUSION,
            datafusion_tracing: versions::DATAFUSION_TRACING,
            opentelemetry_sdk: versions::OPENTELEMETRY_SDK,
            tracing_opentelemetry: versions::TRACING_OPENTELEMETRY,
            target_partitions: workload::TARGET_PARTITIONS,
        },
        query: QueryInfo {
            name: config.query.name().to_owned(),
            sql: config.query.sql().to_owned(),
            plan_nodes,
        },
        target: TargetInfo {
            kind: config.target.kind(),
            endpoint: match &config.target {
                TargetConfig::Otlp { endpoint, .. } => Some(endpoint.to_string()),
                TargetConfig::Simulated { .. } => None,
            },
            timeout_ms: match &config.target {
                TargetConfig::Otlp { timeout, .. } => Some(timeout.as_millis() as u64),
                TargetConfig::Simulated { .. } => None,
            },
            latency_ms,
            latency_injected_by: match (&config.target, &config.proxy) {
                (TargetConfig::Simulated { .. }, _) => "simulated".to_owned(),
                (TargetConfig::Otlp { .. }, Some(p)) => format!("toxiproxy:{}/{}", p.proxy, proxy::LATENCY_STREAM),
                (TargetConfig::Otlp { .. }, None) => "none".to_owned(),
            },
            export_rtt_ms,
            export_rtt_samples_ms: samples,
        },
        backend: config.jaeger.as_ref().map(|j| BackendInfo {
            kind: "jaeger",
            api: j.api.to_string(),
            ui: j.ui.clone(),
            search_url: jaeger::search_url(j),
        }),
        summary: summarise(&config.processors, &runs),
        runs,
    })
}

/// Measures the target's export round trip: the time a `SimpleSpanProcessor`
/// blocks to end one span, which is the per-span cost the model predicts.
/// One warm-up export opens the connection, then the median of
/// [`RTT_SAMPLES`] is taken. Probe spans go out under the service
/// `drop-lab-probe`, apart from the runs.
///
/// A target that does not answer is bad input: the error names the flag.
pub async fn probe_rtt(target: &Target) -> Result<Vec<f64>, LabError> {
    let counts = Arc::new(ExportCounts::default());
    let provider = SdkTracerProvider::builder()
        .with_span_processor(SimpleSpanProcessor::new(target.exporter(Arc::clone(&counts))?))
        .with_resource(telemetry::resource("drop-lab-probe"))
        .build();
    let probe_counts = Arc::clone(&counts);
    // Simple blocks the calling thread for each export: do it on a thread
    // that may block.
    let samples = tokio::task::spawn_blocking(move || {
        let tracer = provider.tracer("drop-lab-probe");
        let mut samples = Vec::with_capacity(RTT_SAMPLES);
        for i in 0..=RTT_SAMPLES {
            let mut span = tracer.start("export-rtt-probe");
            let start = Instant::now();
            span.end();
            let elapsed = start.elapsed();
            if probe_counts.failed() > 0 {
                break;
            }
            if i > 0 {
                samples.push(ms(elapsed));
            }
        }
        let _ = provider.shutdown();
        samples
    })
    .await
    .map_err(anyhow::Error::from)?;

    if counts.failed() > 0 || samples.len() < RTT_SAMPLES {
        let reason = counts.last_error().unwrap_or_else(|| "no answer".to_owned());
        return Err(match target.config() {
            TargetConfig::Otlp { endpoint, timeout } => ConfigError::new(
                "--otlp-endpoint",
                format!(
                    "no OTLP collector answered at {endpoint} within --otlp-timeout-ms {}: {reason}",
                    timeout.as_millis()
                ),
            )
            .into(),
            TargetConfig::Simulated { .. } => anyhow::anyhow!("simulated export failed: {reason}").into(),
        });
    }
    Ok(samples)
}

/// One measured run (see the module docs).
pub async fn run_once(
    workload: &Workload,
    target: &Target,
    kind: ProcessorKind,
    repeat: u32,
    latency_ms: u64,
    export_rtt_ms: f64,
) -> Result<Run, LabError> {
    let _serial = RUN_LOCK.lock().await;
    let counts = Arc::new(ExportCounts::default());
    let tally = Arc::new(telemetry::SpanTally::default());
    let provider = telemetry::provider(kind, &tally, || target.exporter(Arc::clone(&counts)))?;
    telemetry::install(provider.as_ref());

    let root = tracing::info_span!(
        ROOT_SPAN,
        processor = kind.as_str(),
        latency_ms,
        query = workload.query().name(),
        datafusion_tracing = versions::DATAFUSION_TRACING,
        repeat,
    );

    let executed = async {
        let plan = workload.plan().await?;
        let start = Instant::now();
        let rows = workload::execute(Arc::clone(&plan), workload.task_ctx()).await?;
        Ok::<_, LabError>((plan, rows, start.elapsed()))
    }
    .instrument(root.clone())
    .await;

    let measured = executed.and_then(|(plan, rows, execute)| {
        // Only the last reference closes the node spans; a second one would
        // make the timed drop measure nothing.
        if Arc::strong_count(&plan) != 1 {
            return Err(anyhow::anyhow!("the plan is still shared after execution; its drop would not close its spans").into());
        }
        let start = Instant::now();
        drop(plan);
        Ok((rows, execute, start.elapsed()))
    });
    drop(root);
    telemetry::install(None);
    let flush = shutdown(provider).await?;
    let (rows, execute, dropped) = measured?;

    let spans = counts.exported_children();
    Ok(Run {
        processor: kind,
        repeat,
        latency_ms,
        export_rtt_ms,
        spans,
        spans_total: counts.exported(),
        export_errors: counts.failed(),
        export_calls: counts.calls(),
        execute_ms: ms(execute),
        drop_ms: ms(dropped),
        predicted_drop_ms: match kind {
            ProcessorKind::Simple => spans as f64 * export_rtt_ms,
            ProcessorKind::Batch | ProcessorKind::None => 0.0,
        },
        flush_ms: ms(flush),
        spans_in_backend: None,
        trace_id: tally.root_trace_id(),
        trace_url: None,
        rows,
    })
}

/// Shuts a provider down on a blocking thread (a Batch shutdown waits for
/// its exporter thread) and returns how long it took.
async fn shutdown(provider: Option<SdkTracerProvider>) -> anyhow::Result<Duration> {
    let Some(provider) = provider else { return Ok(Duration::ZERO) };
    let start = Instant::now();
    tokio::task::spawn_blocking(move || provider.shutdown()).await??;
    Ok(start.elapsed())
}

fn summarise(processors: &[ProcessorKind], runs: &[Run]) -> Vec<Summary> {
    processors
        .iter()
        .filter_map(|&kind| {
            let of: Vec<&Run> = runs.iter().filter(|r| r.processor == kind).collect();
            if of.is_empty() {
                return None;
            }
            let stats = |f: fn(&Run) -> f64| Stats::of(&of.iter().map(|r| f(r)).collect::<Vec<_>>());
            let ratios: Vec<f64> = of
                .iter()
                .filter(|r| r.predicted_drop_ms > 0.0)
                .map(|r| r.drop_ms / r.predicted_drop_ms)
                .collect();
            Some(Summary {
                processor: kind,
                runs: of.len(),
                spans: of.iter().map(|r| r.spans).max().unwrap_or(0),
                execute_ms: stats(|r| r.execute_ms),
                drop_ms: stats(|r| r.drop_ms),
                predicted_drop_ms: stats(|r| r.predicted_drop_ms),
                flush_ms: stats(|r| r.flush_ms),
                drop_to_predicted: (!ratios.is_empty()).then(|| Stats::of(&ratios)),
                runs_missing_spans: of.iter().filter(|r| r.spans_in_backend.is_some_and(|n| n != r.spans)).count(),
                export_errors: of.iter().map(|r| r.export_errors).sum(),
            })
        })
        .collect()
}

/// Milliseconds, with microsecond resolution.
pub fn ms(d: Duration) -> f64 {
    (d.as_micros() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(Stats::of(&[3.0, 1.0, 2.0]), Stats { median: 2.0, min: 1.0, max: 3.0 });
        assert_eq!(Stats::of(&[4.0, 1.0, 2.0, 3.0]), Stats { median: 2.5, min: 1.0, max: 4.0 });
    }
}
