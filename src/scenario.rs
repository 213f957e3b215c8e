//! Failure modes, as named scenarios in the spirit of HotROD's `--fix-*`
//! flags: latency is only the friendliest way a collector can be bad. Each
//! scenario measures, in one session, what each span processor does when the
//! collector is worse than slow, or what a usual workaround really costs,
//! and prints one table.
//!
//! Scenarios that change the network (`outage`, `jitter`, `bandwidth`) need
//! Toxiproxy (`--toxiproxy-url`); the others run against any target,
//! the in-process simulated exporter included. Every scenario leaves the
//! proxy clean (toxics removed, proxy enabled), on failure too: the session
//! owns the proxy and resets it when it closes or is dropped.

use std::{sync::Arc, time::Instant};

use serde::Serialize;

use crate::{
    LabError,
    config::{Config, ConfigError, ProcessorKind, TargetConfig},
    export::ExportCounts,
    jaeger,
    measure::{self, DropOn, Report, Run, RunOptions, Session, Stats},
    proxy::Fault,
    report::render_grid,
    telemetry,
    workload::Workload,
};

/// A named failure mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scenario {
    /// The collector black-holed, then refusing connections.
    Outage,
    /// Latency with jitter: p50/p95/max of the drop over repeats.
    Jitter,
    /// A bandwidth limit, with spans made large by batch previews.
    Bandwidth,
    /// A tiny Batch queue and a burst of queries: spans are dropped.
    Overflow,
    /// Dropping the plan on a blocking thread: who pays.
    Offthread,
    /// How long the runtime could not run other work.
    Stall,
}

/// One line per scenario, for `drop-lab scenarios` and `make help` (the
/// Makefile reads these lines, so each entry stays on one line).
#[rustfmt::skip]
pub static SCENARIOS: &[(Scenario, &str, &str)] = &[
    (Scenario::Outage, "outage", "collector black-holed (timeout toxic), then refused (proxy disabled), then restored"),
    (Scenario::Jitter, "jitter", "latency with jitter: p50/p95/max of drop_ms per processor over --repeat runs"),
    (Scenario::Bandwidth, "bandwidth", "a bandwidth limit on the requests, spans grown by batch previews: export time vs span size"),
    (Scenario::Overflow, "overflow", "a burst of queries into a tiny BatchSpanProcessor queue: spans created, exported, dropped"),
    (Scenario::Offthread, "offthread", "the plan dropped on a spawned blocking thread: caller time and thread-busy time"),
    (Scenario::Stall, "stall", "a ticker on the run's runtime: how long it could not run other work"),
];

/// Looks a scenario up by name.
pub fn find(name: &str) -> Option<Scenario> {
    SCENARIOS.iter().find(|(_, n, _)| *n == name).map(|(s, ..)| *s)
}

impl Scenario {
    pub fn name(self) -> &'static str {
        SCENARIOS.iter().find(|(s, ..)| *s == self).map(|(_, name, _)| *name).unwrap_or("?")
    }

    pub fn about(self) -> &'static str {
        SCENARIOS.iter().find(|(s, ..)| *s == self).map(|(.., about)| *about).unwrap_or("?")
    }

    fn needs_proxy(self) -> bool {
        matches!(self, Scenario::Outage | Scenario::Jitter | Scenario::Bandwidth)
    }
}

/// Knobs of the scenarios, with the defaults the README's tables use.
#[derive(Debug, Clone, Copy)]
pub struct ScenarioConfig {
    /// `jitter`: the latency varies by up to this many ms either way.
    pub jitter_ms: u32,
    /// `bandwidth`: the request stream's limit, KB/s.
    pub bandwidth_kbps: u32,
    /// `bandwidth`: preview rows recorded per node span, one phase each.
    pub preview_rows: &'static [usize],
    /// `overflow`: queries in the burst.
    pub burst: usize,
    /// `overflow`: the small queue (`OTEL_BSP_MAX_QUEUE_SIZE` overrides it).
    pub queue_size: usize,
}

impl Default for ScenarioConfig {
    fn default() -> Self {
        ScenarioConfig { jitter_ms: 50, bandwidth_kbps: 64, preview_rows: &[0, 100, 1000], burst: 8, queue_size: 16 }
    }
}

/// A burst of queries under one Batch provider (`overflow`).
#[derive(Debug, Clone, Serialize)]
pub struct Burst {
    pub queries: usize,
    pub max_queue_size: usize,
    /// Every span that ended, roots included: what the program produced.
    pub spans_created: usize,
    pub spans_exported: usize,
    pub spans_failed: usize,
    /// Created but neither exported nor failed: dropped by the full queue.
    pub spans_dropped: usize,
    /// Spans of the burst's traces found in Jaeger (roots included); null
    /// without a backend.
    pub spans_in_backend: Option<usize>,
    pub burst_ms: f64,
    pub flush_ms: f64,
    pub trace_ids: Vec<String>,
}

/// One measured condition of a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Phase {
    pub label: String,
    /// What the proxy did, on top of the latency.
    pub fault: String,
    pub runs: Vec<Run>,
    pub burst: Option<Burst>,
}

/// What a scenario measured: the session's report (lab, query, target) and
/// a phase per condition, plus the table as printed.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioReport {
    pub scenario: Scenario,
    pub about: &'static str,
    #[serde(flatten)]
    pub session: Report,
    pub phases: Vec<Phase>,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub notes: Vec<String>,
}

/// Runs `scenario` in a session of `config`.
pub async fn run(scenario: Scenario, config: &Config, knobs: ScenarioConfig) -> Result<ScenarioReport, LabError> {
    if scenario.needs_proxy() && config.proxy.is_none() {
        return Err(ConfigError::new(
            "--scenario",
            format!("'{}' changes the network: it needs --toxiproxy-url and --latency-ms", scenario.name()),
        )
        .into());
    }
    let session = Session::open(config).await?;
    let measured = measure(scenario, &session, knobs).await;
    let info = session.report(Vec::new());
    // Clear the proxy whatever happened; report the first error.
    let closed = session.close().await;
    let (phases, notes) = measured?;
    closed?;
    let (columns, rows) = table(scenario, &phases);
    Ok(ScenarioReport {
        scenario,
        about: scenario.about(),
        session: info,
        phases,
        columns,
        rows,
        notes,
    })
}

async fn measure(scenario: Scenario, session: &Session, knobs: ScenarioConfig) -> Result<(Vec<Phase>, Vec<String>), LabError> {
    let config = session.config();
    let mut notes = Vec::new();
    let phases = match scenario {
        Scenario::Outage => {
            let timeout = match &config.target {
                TargetConfig::Otlp { timeout, .. } => timeout.as_millis(),
                TargetConfig::Simulated { .. } => 0,
            };
            notes.push(format!(
                "black hole: every export waits --otlp-timeout-ms ({timeout} ms), so Simple's drop is about spans x {timeout} ms"
            ));
            notes.push(
                "refused: every export fails, yet opentelemetry-otlp retries an unavailable collector with backoff \
                 (100 ms, doubling, up to 100 ms jitter) inside the timeout, so Simple still waits per span"
                    .to_owned(),
            );
            notes.push("lost: node spans that ended but were not exported; the program finished all the same".to_owned());
            let mut phases = Vec::new();
            for (label, fault) in [
                ("healthy", Fault::None),
                ("black-holed", Fault::BlackHole),
                ("refused", Fault::Refused),
                ("restored", Fault::None),
            ] {
                phases.push(faulted(session, label, fault, RunOptions::default()).await?);
            }
            phases
        }
        Scenario::Jitter => {
            notes.push(format!("latency {} ms +/- {} ms per response", config.injected_latency().as_millis(), knobs.jitter_ms));
            notes.push(
                "predicted: from the round trip probed before the jitter was on; Toxiproxy jitters each chunk of a \
                 response, and the response is as late as its latest chunk"
                    .to_owned(),
            );
            vec![faulted(session, "jitter", Fault::Jitter(knobs.jitter_ms), RunOptions::default()).await?]
        }
        Scenario::Bandwidth => {
            let proxy = session.proxy().expect("checked: the scenario needs a proxy");
            proxy.set(Fault::Bandwidth(knobs.bandwidth_kbps)).await?;
            let mut phases = Vec::new();
            for &rows in knobs.preview_rows {
                let workload = Workload::with_preview(config.query.clone(), rows)?;
                let runs = session.measure_workload(&workload, RunOptions::default()).await?;
                phases.push(Phase {
                    label: format!("preview {rows} rows"),
                    fault: Fault::Bandwidth(knobs.bandwidth_kbps).to_string(),
                    runs,
                    burst: None,
                });
            }
            proxy.set(Fault::None).await?;
            notes.push("bytes/span: names, attribute keys and values of each span handed to the exporter".to_owned());
            phases
        }
        Scenario::Overflow => {
            let small = std::env::var("OTEL_BSP_MAX_QUEUE_SIZE")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(knobs.queue_size);
            let mut phases = Vec::new();
            for (label, queue) in [("tiny queue", small), ("default queue", 2048)] {
                let burst = burst(session, knobs.burst, queue).await?;
                phases.push(Phase { label: label.to_owned(), fault: Fault::None.to_string(), runs: Vec::new(), burst: Some(burst) });
            }
            notes.push(format!(
                "{} back-to-back '{}' queries under one BatchSpanProcessor, collector RTT {:.1} ms",
                knobs.burst,
                config.query.name(),
                session.export_rtt_ms()
            ));
            notes.push("dropped = created - exported - failed: spans the full queue refused, lost without an error".to_owned());
            phases
        }
        Scenario::Offthread => {
            let options = RunOptions { drop_on: DropOn::BlockingThread, ..RunOptions::default() };
            let caller = session.measure(RunOptions::default()).await?;
            let offthread = session.measure(options).await?;
            notes.push("caller ms: until the drop returned to the caller; thread busy ms: the thread that dropped".to_owned());
            vec![
                Phase { label: "on the caller".to_owned(), fault: Fault::None.to_string(), runs: caller, burst: None },
                Phase { label: "spawn_blocking".to_owned(), fault: Fault::None.to_string(), runs: offthread, burst: None },
            ]
        }
        Scenario::Stall => {
            let multi = session.measure(RunOptions::default()).await?;
            let current = on_current_thread_runtime(session).await?;
            notes.push(format!(
                "stall ms: worst lateness of a {} ms ticker on the run's runtime during execute and drop",
                measure::TICK.as_millis()
            ));
            vec![
                Phase { label: "multi-thread (2 workers)".to_owned(), fault: Fault::None.to_string(), runs: multi, burst: None },
                Phase { label: "current-thread".to_owned(), fault: Fault::None.to_string(), runs: current, burst: None },
            ]
        }
    };
    Ok((phases, notes))
}

/// Puts `fault` on the proxy, measures every processor, takes it off.
async fn faulted(session: &Session, label: &str, fault: Fault, options: RunOptions) -> Result<Phase, LabError> {
    let proxy = session.proxy().expect("checked: the scenario needs a proxy");
    proxy.set(fault).await?;
    let runs = session.measure(options).await;
    // Back to latency only before anything else, even after an error.
    let restored = proxy.set(Fault::None).await;
    let runs = runs?;
    restored?;
    Ok(Phase { label: label.to_owned(), fault: fault.to_string(), runs, burst: None })
}

/// The session's rounds on a current-thread runtime of their own, the
/// runtime of the seed's program, on a thread of its own.
async fn on_current_thread_runtime(session: &Session) -> Result<Vec<Run>, LabError> {
    // The caller's runtime worker waits for the other thread: hand its
    // other tasks to another worker first.
    tokio::task::block_in_place(|| {
        std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(anyhow::Error::from)?;
                    runtime.block_on(session.measure(RunOptions::default()))
                })
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the current-thread runtime's thread panicked").into()))
        })
    })
}

/// `queries` runs of the session's query, back to back, under one Batch
/// provider whose queue holds `queue` spans.
pub async fn burst(session: &Session, queries: usize, queue: usize) -> Result<Burst, LabError> {
    let counts = Arc::new(ExportCounts::default());
    let tally = Arc::new(telemetry::SpanTally::default());
    let provider = telemetry::provider(ProcessorKind::Batch, &tally, Some(queue), || {
        session.target().exporter(Arc::clone(&counts))
    })?
    .expect("Batch has a provider");
    let _serial = measure::RUN_LOCK.lock().await;
    telemetry::install(Some(&provider));
    let start = Instant::now();
    let mut result = Ok(());
    for i in 0..queries {
        let root = tracing::info_span!(measure::ROOT_SPAN, processor = "batch", scenario = "overflow", burst_query = i);
        if let Err(e) = measure::execute_and_drop(session.workload(), &root, DropOn::Caller).await {
            result = Err(e);
            break;
        }
    }
    let burst_ms = measure::ms(start.elapsed());
    telemetry::install(None);
    let flush = measure::shutdown(Some(provider)).await?;
    result?;

    let trace_ids = tally.root_trace_ids();
    let spans_created = tally.ended();
    let (spans_exported, spans_failed) = (counts.exported(), counts.failed());
    let spans_in_backend = match &session.config().jaeger {
        Some(jaeger) => Some(jaeger::count_traces(jaeger, &trace_ids, spans_exported).await?.total()),
        None => None,
    };
    Ok(Burst {
        queries,
        max_queue_size: queue,
        spans_created,
        spans_exported,
        spans_failed,
        spans_dropped: spans_created.saturating_sub(spans_exported + spans_failed),
        spans_in_backend,
        burst_ms,
        flush_ms: measure::ms(flush),
        trace_ids,
    })
}

/// The printed table of each scenario.
fn table(scenario: Scenario, phases: &[Phase]) -> (Vec<String>, Vec<Vec<String>>) {
    let f1 = |v: f64| format!("{v:.1}");
    let count = |n: Option<usize>| n.map_or("-".to_owned(), |n| n.to_string());
    // Most scenarios print a row per run, labelled by its phase.
    let per_run = |cells: &dyn Fn(&Run) -> Vec<String>| -> Vec<Vec<String>> {
        phases
            .iter()
            .flat_map(|p| p.runs.iter().map(move |r| [vec![p.label.clone(), r.processor.to_string()], cells(r)].concat()))
            .collect()
    };
    let (columns, rows): (&[&str], Vec<Vec<String>>) = match scenario {
        Scenario::Outage => (
            &["phase", "processor", "spans ended", "exported", "lost", "in Jaeger", "drop ms", "flush ms"],
            per_run(&|r| {
                vec![
                    r.spans_ended.to_string(),
                    r.spans.to_string(),
                    (r.spans_ended - r.spans.min(r.spans_ended)).to_string(),
                    count(r.spans_in_backend),
                    f1(r.drop_ms),
                    f1(r.flush_ms),
                ]
            }),
        ),
        Scenario::Jitter => (
            &["processor", "runs", "drop p50 ms", "drop p95 ms", "drop max ms", "predicted ms"],
            phases
                .iter()
                .flat_map(|phase| {
                    processors_of(&phase.runs).into_iter().map(move |kind| {
                        let of: Vec<&Run> = phase.runs.iter().filter(|r| r.processor == kind).collect();
                        let drops = Stats::of(&of.iter().map(|r| r.drop_ms).collect::<Vec<_>>());
                        vec![
                            kind.to_string(),
                            of.len().to_string(),
                            f1(drops.median),
                            f1(drops.p95),
                            f1(drops.max),
                            f1(of[0].predicted_drop_ms),
                        ]
                    })
                })
                .collect(),
        ),
        Scenario::Bandwidth => (
            &["phase", "processor", "spans", "bytes/span", "drop ms", "drop ms/span", "flush ms"],
            per_run(&|r| {
                let per_span = if r.spans_ended > 0 { r.drop_ms / r.spans_ended as f64 } else { 0.0 };
                vec![r.spans.to_string(), count(r.span_bytes), f1(r.drop_ms), f1(per_span), f1(r.flush_ms)]
            }),
        ),
        Scenario::Overflow => (
            &["phase", "queue", "queries", "created", "exported", "dropped", "failed", "in Jaeger", "burst ms", "flush ms"],
            phases
                .iter()
                .filter_map(|phase| {
                    let b = phase.burst.as_ref()?;
                    Some(vec![
                        phase.label.clone(),
                        b.max_queue_size.to_string(),
                        b.queries.to_string(),
                        b.spans_created.to_string(),
                        b.spans_exported.to_string(),
                        b.spans_dropped.to_string(),
                        b.spans_failed.to_string(),
                        count(b.spans_in_backend),
                        f1(b.burst_ms),
                        f1(b.flush_ms),
                    ])
                })
                .collect(),
        ),
        Scenario::Offthread => (
            &["phase", "processor", "spans", "caller ms", "thread busy ms", "predicted ms", "in Jaeger"],
            per_run(&|r| {
                vec![
                    r.spans.to_string(),
                    f1(r.drop_ms),
                    f1(r.drop_thread_ms.unwrap_or(r.drop_ms)),
                    f1(r.predicted_drop_ms),
                    count(r.spans_in_backend),
                ]
            }),
        ),
        Scenario::Stall => (
            &["runtime", "processor", "spans", "execute ms", "drop ms", "stall ms"],
            per_run(&|r| vec![r.spans.to_string(), f1(r.execute_ms), f1(r.drop_ms), f1(r.stall_ms)]),
        ),
    };
    (columns.iter().map(|c| (*c).to_owned()).collect(), rows)
}

fn processors_of(runs: &[Run]) -> Vec<ProcessorKind> {
    let mut kinds = Vec::new();
    for r in runs {
        if !kinds.contains(&r.processor) {
            kinds.push(r.processor);
        }
    }
    kinds
}

/// The scenario's report as text: header, table, notes.
pub fn render(report: &ScenarioReport) -> String {
    let mut out = String::new();
    let s = &report.session;
    out.push_str(&format!("scenario {}: {}\n", report.scenario.name(), report.about));
    out.push_str(&format!(
        "query    {} ({} plan nodes) | datafusion-tracing {} | {} | latency {} ms | export RTT {:.1} ms\n\n",
        s.query.name, s.query.plan_nodes, s.lab.datafusion_tracing, s.target.kind, s.target.latency_ms, s.target.export_rtt_ms
    ));
    out.push_str(&render_grid(&report.columns, &report.rows));
    for note in &report.notes {
        out.push_str(&format!("\n- {note}"));
    }
    out.push('\n');
    out
}

/// `drop-lab scenarios`: one line each.
pub fn list() -> String {
    SCENARIOS.iter().map(|(_, name, about)| format!("{name:<10} {about}\n")).collect()
}

