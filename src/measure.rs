//! The measurement: what one run is, how the export round trip is probed,
//! and how repeats are summarised.
//!
//! One run, under one processor:
//! 1. a fresh tracer provider is installed, and a root span opened;
//! 2. inside it the query is planned and every partition executed to
//!    completion (`execute_ms`);
//! 3. the last `Arc` of the plan is dropped on the calling thread, a runtime
//!    worker as in the program of upstream issue #27 (`drop_ms`): with
//!    datafusion-tracing 53.0.0 this closes every node span. The drop runs
//!    inside the root span, so in Jaeger the root outlasts its children by
//!    the drop time;
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
pub(crate) static RUN_LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

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
    /// Where the plan was dropped (`caller` unless a scenario says).
    pub drop_on: DropOn,
    /// Node spans exported (the run's root span excluded).
    pub spans: usize,
    /// Every span exported, the root span included.
    pub spans_total: usize,
    /// Node spans that ended, exported or not: what the program produced.
    pub spans_ended: usize,
    /// Spans whose export failed or timed out.
    pub export_errors: usize,
    /// Export calls made.
    pub export_calls: usize,
    pub execute_ms: f64,
    /// How long the caller waited for the drop.
    pub drop_ms: f64,
    /// With `drop_on = blocking-thread`: how long that thread was busy
    /// dropping (null otherwise).
    pub drop_thread_ms: Option<f64>,
    /// `spans_ended x export_rtt_ms` under Simple, 0 otherwise.
    pub predicted_drop_ms: f64,
    pub flush_ms: f64,
    /// Time the program's own threads spent waiting in export calls (the
    /// Batch processor's background thread not counted).
    pub export_blocked_ms: f64,
    /// Average payload of a span handed to the exporter: bytes of its name,
    /// attribute keys and values, and events (null when none was).
    pub span_bytes: Option<usize>,
    /// Worst lateness of a 1 ms ticker on the run's runtime during execute
    /// and drop: how long that runtime could not run other work.
    pub stall_ms: f64,
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
    /// Nearest-rank 95th percentile.
    pub p95: f64,
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
        // Nearest rank: the smallest value with at least 95% at or below it.
        let rank = ((sorted.len() as f64) * 0.95).ceil() as usize;
        let p95 = sorted[rank.clamp(1, sorted.len()) - 1];
        Stats { median, p95, min: sorted[0], max: sorted[sorted.len() - 1] }
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
    /// `drop_ms / predicted_drop_ms` under Simple: how well the model holds
    /// when the cost lands in the drop (the affected release).
    pub drop_to_predicted: Option<Stats>,
    /// Under Simple: `(drop_ms + execute_ms - the none runs' median
    /// execute_ms) / predicted_drop_ms`, the whole cost against the model,
    /// wherever it lands (the fixed release pays it during execution).
    pub cost_to_predicted: Option<Stats>,
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

/// Runs the whole measurement that `config` describes: open a session,
/// measure every processor, close it.
pub async fn experiment(config: &Config) -> Result<Report, LabError> {
    let session = Session::open(config).await?;
    let runs = session.measure(RunOptions::default()).await;
    let report = runs.map(|runs| session.report(runs));
    // Clear the proxy whatever happened; report the first error.
    let closed = session.close().await;
    let report = report?;
    closed?;
    Ok(report)
}

/// How a run drops the plan's last reference.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropOn {
    /// On the calling thread, a runtime worker: issue #27's program.
    #[default]
    Caller,
    /// Handed to `spawn_blocking`, the reporter's workaround: the caller
    /// returns, a blocking-pool thread pays the exports.
    BlockingThread,
}

/// What a scenario may vary about a run; the default is the lab's run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunOptions {
    pub drop_on: DropOn,
    /// `BatchSpanProcessor` queue size; `None` keeps the SDK default (and
    /// `OTEL_BSP_MAX_QUEUE_SIZE`).
    pub max_queue_size: Option<usize>,
}

/// What every measurement of one lab invocation shares: the workload, the
/// export target and its warm channel, the probed round trip, and the proxy
/// the lab controls. Scenarios measure several times in one session,
/// changing the proxy in between.
pub struct Session {
    config: Config,
    workload: Workload,
    target: Target,
    plan_nodes: usize,
    rtt_samples: Vec<f64>,
    proxy: Option<proxy::ProxyControl>,
}

impl Session {
    /// Plans the query (so a bad one fails before any network), connects the
    /// target, puts the configured latency on the proxy, probes the round
    /// trip.
    pub async fn open(config: &Config) -> Result<Session, LabError> {
        let workload = Workload::new(config.query.clone())?;
        // A plan that is never executed opens no spans.
        let plan_nodes = workload::plan_nodes(&workload.plan().await?);
        let target = Target::new(&config.target).map_err(anyhow::Error::from)?;
        let proxy = match &config.proxy {
            Some(p) => Some(proxy::ProxyControl::take(p).await?),
            None => None,
        };
        // From here on, dropping `session` on an error resets the proxy.
        let mut session = Session { config: config.clone(), workload, target, plan_nodes, rtt_samples: Vec::new(), proxy };
        if let Some(proxy) = &session.proxy {
            proxy.set(proxy::Fault::None).await?;
        }
        session.rtt_samples = probe_rtt(&session.target).await?;
        Ok(session)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn workload(&self) -> &Workload {
        &self.workload
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The proxy the lab controls, when `--toxiproxy-url` was given.
    pub fn proxy(&self) -> Option<&proxy::ProxyControl> {
        self.proxy.as_ref()
    }

    pub fn export_rtt_ms(&self) -> f64 {
        Stats::of(&self.rtt_samples).median
    }

    /// `config.repeat` rounds of one run per processor, each checked in
    /// Jaeger when a backend is configured.
    pub async fn measure(&self, options: RunOptions) -> Result<Vec<Run>, LabError> {
        self.measure_workload(&self.workload, options).await
    }

    /// The same rounds on another workload of the session's query (the
    /// `bandwidth` scenario's, which records batch previews).
    pub async fn measure_workload(&self, workload: &Workload, options: RunOptions) -> Result<Vec<Run>, LabError> {
        let latency_ms = self.config.injected_latency().as_millis() as u64;
        let mut runs = Vec::new();
        // Interleave processors within each repetition so that slow drift of
        // the machine or the network spreads evenly over them.
        for repeat in 0..self.config.repeat {
            for &kind in &self.config.processors {
                let mut run =
                    run_once(workload, &self.target, kind, repeat, latency_ms, self.export_rtt_ms(), options).await?;
                self.check_backend(&mut run).await?;
                runs.push(run);
            }
        }
        Ok(runs)
    }

    /// Fills `spans_in_backend` and `trace_url` from Jaeger, waiting for as
    /// many spans as were exported successfully.
    pub async fn check_backend(&self, run: &mut Run) -> Result<(), LabError> {
        if let (Some(jaeger), Some(trace_id)) = (&self.config.jaeger, &run.trace_id) {
            let found = jaeger::count_trace_spans(jaeger, trace_id, run.spans_total).await?;
            run.spans_in_backend = Some(found.children);
            run.trace_url = Some(jaeger::trace_url(jaeger, trace_id));
        }
        Ok(())
    }

    /// The report of `runs` measured in this session.
    pub fn report(&self, runs: Vec<Run>) -> Report {
        let config = &self.config;
        Report {
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
                plan_nodes: self.plan_nodes,
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
                latency_ms: config.injected_latency().as_millis() as u64,
                latency_injected_by: match (&config.target, &config.proxy) {
                    (TargetConfig::Simulated { .. }, _) => "simulated".to_owned(),
                    (TargetConfig::Otlp { .. }, Some(p)) => format!("toxiproxy:{}/{}", p.proxy, proxy::LATENCY_STREAM),
                    (TargetConfig::Otlp { .. }, None) => "none".to_owned(),
                },
                export_rtt_ms: self.export_rtt_ms(),
                export_rtt_samples_ms: self.rtt_samples.clone(),
            },
            backend: config.jaeger.as_ref().map(|j| BackendInfo {
                kind: "jaeger",
                api: j.api.to_string(),
                ui: j.ui.clone(),
                search_url: jaeger::search_url(j),
            }),
            summary: summarise(&config.processors, &runs),
            runs,
        }
    }

    /// Removes the lab's toxics and re-enables the proxy.
    pub async fn close(mut self) -> Result<(), LabError> {
        match self.proxy.take() {
            Some(proxy) => proxy.clear().await,
            None => Ok(()),
        }
    }
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
    options: RunOptions,
) -> Result<Run, LabError> {
    let _serial = RUN_LOCK.lock().await;
    let counts = Arc::new(ExportCounts::default());
    let tally = Arc::new(telemetry::SpanTally::default());
    let provider =
        telemetry::provider(kind, &tally, options.max_queue_size, || target.exporter(Arc::clone(&counts)))?;
    telemetry::install(provider.as_ref());

    let root = tracing::info_span!(
        ROOT_SPAN,
        processor = kind.as_str(),
        latency_ms,
        query = workload.query().name(),
        datafusion_tracing = versions::DATAFUSION_TRACING,
        repeat,
    );
    let ticker = Ticker::start();
    let measured = execute_and_drop(workload, &root, options.drop_on).await;
    let stall = ticker.stop().await;
    drop(root);
    telemetry::install(None);
    let flush = shutdown(provider).await?;
    let timed = measured?;

    let spans = counts.exported_children();
    let spans_ended = tally.ended_children();
    Ok(Run {
        processor: kind,
        repeat,
        latency_ms,
        export_rtt_ms,
        drop_on: options.drop_on,
        spans,
        spans_total: counts.exported(),
        spans_ended,
        export_errors: counts.failed(),
        export_calls: counts.calls(),
        execute_ms: ms(timed.execute),
        drop_ms: ms(timed.drop),
        drop_thread_ms: timed.drop_thread.map(ms),
        predicted_drop_ms: match kind {
            ProcessorKind::Simple => spans_ended as f64 * export_rtt_ms,
            ProcessorKind::Batch | ProcessorKind::None => 0.0,
        },
        flush_ms: ms(flush),
        export_blocked_ms: ms(counts.blocked()),
        span_bytes: counts.average_span_bytes(),
        stall_ms: ms(stall),
        spans_in_backend: None,
        trace_id: tally.root_trace_id(),
        trace_url: None,
        rows: timed.rows,
    })
}

/// What [`execute_and_drop`] timed.
pub(crate) struct Timed {
    rows: usize,
    execute: Duration,
    /// How long the caller waited for the drop.
    drop: Duration,
    /// With [`DropOn::BlockingThread`]: how long that thread was busy.
    drop_thread: Option<Duration>,
}

/// Plans and executes inside `root`, then drops the plan's last reference
/// as `drop_on` says.
pub(crate) async fn execute_and_drop(workload: &Workload, root: &tracing::Span, drop_on: DropOn) -> Result<Timed, LabError> {
    let (plan, rows, execute) = async {
        let plan = workload.plan().await?;
        let start = Instant::now();
        let rows = workload::execute(Arc::clone(&plan), workload.task_ctx()).await?;
        Ok::<_, LabError>((plan, rows, start.elapsed()))
    }
    .instrument(root.clone())
    .await?;

    // Only the last reference closes the node spans; a second one would
    // make the timed drop measure nothing.
    if Arc::strong_count(&plan) != 1 {
        return Err(anyhow::anyhow!("the plan is still shared after execution; its drop would not close its spans").into());
    }
    // The drop happens inside the root span: tracing-opentelemetry ends a
    // span at its last *exit*, not at its close, so the node spans' end
    // times in Jaeger show when their streams finished, and only the root
    // span, entered here, can show how long the drop held its thread.
    let drop_in_root = {
        let root = root.clone();
        move || {
            let start = Instant::now();
            root.in_scope(|| {
                tracing::info!(target: "drop_lab", "dropping the plan: its node spans close now");
                drop(plan);
            });
            start.elapsed()
        }
    };
    let (drop, drop_thread) = match drop_on {
        DropOn::Caller => (drop_in_root(), None),
        DropOn::BlockingThread => {
            let start = Instant::now();
            let busy = tokio::task::spawn_blocking(drop_in_root);
            // The caller's cost is the hand-off; the thread's is awaited
            // only to report it.
            let caller = start.elapsed();
            (caller, Some(busy.await.map_err(anyhow::Error::from)?))
        }
    };
    Ok(Timed { rows, execute, drop, drop_thread })
}

/// A task on the run's own runtime that wakes every [`TICK`] and records
/// how late it woke: the longest time the runtime could not run other work
/// while the run executed and dropped its plan. On a multi-thread runtime an
/// idle worker picks the ticker up while another is blocked; on a
/// current-thread runtime (the seed's) nobody can.
struct Ticker {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Duration>,
}

/// The ticker's period.
pub const TICK: Duration = Duration::from_millis(1);

impl Ticker {
    fn start() -> Ticker {
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let mut worst = Duration::ZERO;
            loop {
                let asked = Instant::now();
                tokio::select! {
                    () = tokio::time::sleep(TICK) => {}
                    // A tick still pending when the stop arrives counts
                    // too: on a runtime that was blocked it is the one that
                    // measured the stall, and its timer may not have fired.
                    _ = &mut stopped => return worst.max(asked.elapsed().saturating_sub(TICK)),
                }
                worst = worst.max(asked.elapsed().saturating_sub(TICK));
            }
        });
        Ticker { stop, task }
    }

    /// Stops the ticker and returns its worst lateness.
    async fn stop(self) -> Duration {
        let _ = self.stop.send(());
        self.task.await.unwrap_or_default()
    }
}

/// Shuts a provider down on a blocking thread (a Batch shutdown waits for
/// its exporter thread) and returns how long it took.
pub(crate) async fn shutdown(provider: Option<SdkTracerProvider>) -> anyhow::Result<Duration> {
    let Some(provider) = provider else { return Ok(Duration::ZERO) };
    let start = Instant::now();
    tokio::task::spawn_blocking(move || provider.shutdown()).await??;
    Ok(start.elapsed())
}

fn summarise(processors: &[ProcessorKind], runs: &[Run]) -> Vec<Summary> {
    let baseline: Vec<f64> = runs.iter().filter(|r| r.processor == ProcessorKind::None).map(|r| r.execute_ms).collect();
    let baseline_execute = if baseline.is_empty() { 0.0 } else { Stats::of(&baseline).median };
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
            let costs: Vec<f64> = of
                .iter()
                .filter(|r| r.predicted_drop_ms > 0.0)
                .map(|r| (r.drop_ms + (r.execute_ms - baseline_execute).max(0.0)) / r.predicted_drop_ms)
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
                cost_to_predicted: (!costs.is_empty()).then(|| Stats::of(&costs)),
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
        assert_eq!(Stats::of(&[3.0, 1.0, 2.0]), Stats { median: 2.0, p95: 3.0, min: 1.0, max: 3.0 });
        assert_eq!(Stats::of(&[4.0, 1.0, 2.0, 3.0]), Stats { median: 2.5, p95: 4.0, min: 1.0, max: 4.0 });
    }

    #[test]
    fn p95_is_the_nearest_rank() {
        let values: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(Stats::of(&values).p95, 19.0, "19 of 20 values are at or below 19");
        assert_eq!(Stats::of(&[5.0]).p95, 5.0);
    }
}
