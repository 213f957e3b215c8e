//! The exporters the lab measures, and the runtime they run on.
//!
//! # Why a runtime of their own
//!
//! `SimpleSpanProcessor::on_end` calls `futures_executor::block_on(export)`
//! on whatever thread ends the span; `BatchSpanProcessor` does the same on its
//! background thread. The OTLP/gRPC exporter is built on tonic, whose channel
//! needs Tokio tasks to make progress: a buffer worker spawned when the
//! channel is created, hyper's connection task, timers. If those tasks live on
//! the runtime whose worker is now blocked in `block_on`, the export waits on
//! work that only the blocked thread would run, and hangs for good. That is
//! upstream opentelemetry-rust #2188, #2539 and #3542: it bites on a
//! `current_thread` runtime, on a one-worker runtime, and on any runtime when
//! the task is parked in the blocked worker's LIFO slot.
//!
//! The lab's arrangement cannot deadlock by construction: the tonic channel
//! is created inside a dedicated [`ExportRuntime`] (one worker thread that
//! nothing else uses), and [`LabExporter::export`] only *spawns* the real
//! export onto that runtime and waits for its `JoinHandle`. A blocked caller
//! thus waits on a thread it does not block, and the wait itself is bounded by
//! a deadline. The caller still pays the full round trip, which is exactly
//! what the lab wants to show.
//!
//! The same channel serves every run of a lab process: a long-lived program
//! exports over a warm connection, so connection setup is paid once (in the
//! round-trip probe) and not inside a measured drop.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry::trace::SpanId;
use opentelemetry_otlp::{WithExportConfig, WithTonicConfig};
use opentelemetry_sdk::{
    Resource,
    error::{OTelSdkError, OTelSdkResult},
    trace::{SpanData, SpanExporter},
};
use tokio::runtime::{Handle, Runtime};
use tonic::transport::{Channel, Endpoint};

use crate::config::TargetConfig;

/// The name opentelemetry_sdk gives the `BatchSpanProcessor`'s thread.
const BATCH_THREAD: &str = "OpenTelemetry.Traces.BatchProcessor";

/// Grace added to an export's own timeout before the lab gives up on it: the
/// exporter's timeout should fire first, this one only guarantees a bound.
const DEADLINE_GRACE: Duration = Duration::from_millis(500);

/// A Tokio runtime with one worker thread that runs nothing but exports.
pub struct ExportRuntime {
    runtime: Option<Runtime>,
}

impl ExportRuntime {
    pub fn new() -> std::io::Result<ExportRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("drop-lab-export")
            .enable_all()
            .build()?;
        Ok(ExportRuntime { runtime: Some(runtime) })
    }

    pub fn handle(&self) -> &Handle {
        self.runtime.as_ref().expect("runtime lives until drop").handle()
    }
}

impl Drop for ExportRuntime {
    fn drop(&mut self) {
        // Dropping a runtime from inside another runtime's task panics;
        // shutting it down in the background is allowed anywhere.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl fmt::Debug for ExportRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ExportRuntime")
    }
}

/// Where the spans go: built once per lab process from [`TargetConfig`].
#[derive(Debug)]
pub struct Target {
    config: TargetConfig,
    channel: Option<Channel>,
    runtime: ExportRuntime,
}

impl Target {
    pub fn new(config: &TargetConfig) -> std::io::Result<Target> {
        let runtime = ExportRuntime::new()?;
        let channel = match config {
            TargetConfig::Simulated { .. } => None,
            TargetConfig::Otlp { endpoint, timeout } => {
                // connect_lazy spawns the channel's worker on the current
                // runtime: make that the export runtime.
                let _enter = runtime.handle().enter();
                Some(
                    Endpoint::from(endpoint.clone())
                        .timeout(*timeout)
                        .connect_timeout(*timeout)
                        .connect_lazy(),
                )
            }
        };
        Ok(Target { config: config.clone(), channel, runtime })
    }

    pub fn config(&self) -> &TargetConfig {
        &self.config
    }

    /// A fresh exporter for one provider, counting into `counts`.
    pub fn exporter(&self, counts: Arc<ExportCounts>) -> anyhow::Result<LabExporter> {
        let (inner, deadline) = match (&self.config, &self.channel) {
            (TargetConfig::Simulated { latency }, _) => (Inner::Simulated(*latency), *latency + DEADLINE_GRACE),
            (TargetConfig::Otlp { timeout, .. }, Some(channel)) => {
                let exporter = opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_channel(channel.clone())
                    .with_timeout(*timeout)
                    .build()?;
                (Inner::Otlp(exporter), *timeout + DEADLINE_GRACE)
            }
            (TargetConfig::Otlp { .. }, None) => unreachable!("an OTLP target always has a channel"),
        };
        Ok(LabExporter { inner: Arc::new(inner), runtime: self.runtime.handle().clone(), deadline, counts })
    }
}

#[derive(Debug)]
enum Inner {
    /// The seed's approach: wait a fixed time per export call, no network.
    Simulated(Duration),
    Otlp(opentelemetry_otlp::SpanExporter),
}

impl Inner {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        match self {
            Inner::Simulated(latency) => {
                tokio::time::sleep(*latency).await;
                Ok(())
            }
            Inner::Otlp(exporter) => exporter.export(batch).await,
        }
    }
}

/// The exporter every provider in the lab gets: it runs the real export on
/// the [`ExportRuntime`] (see the module docs) and counts what it exported.
#[derive(Debug)]
pub struct LabExporter {
    inner: Arc<Inner>,
    runtime: Handle,
    deadline: Duration,
    counts: Arc<ExportCounts>,
}

impl SpanExporter for LabExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let spans = batch.len();
        let bytes: usize = batch.iter().map(payload_bytes).sum();
        let roots = batch.iter().filter(|s| s.parent_span_id == SpanId::INVALID).count();
        let inner = Arc::clone(&self.inner);
        let deadline = self.deadline;
        let task = self.runtime.spawn(async move { tokio::time::timeout(deadline, inner.export(batch)).await });
        let counts = Arc::clone(&self.counts);
        // Who waits: the Batch processor's own thread, or one of the
        // program's (Simple's caller, or a Batch shutdown's flush).
        let background = std::thread::current().name() == Some(BATCH_THREAD);
        async move {
            let started = std::time::Instant::now();
            let result = match task.await {
                Ok(Ok(result)) => result,
                Ok(Err(_elapsed)) => Err(OTelSdkError::Timeout(deadline)),
                Err(join) => Err(OTelSdkError::InternalFailure(join.to_string())),
            };
            counts.record(spans, roots, &result);
            counts.bytes.fetch_add(bytes, Ordering::Relaxed);
            if !background {
                counts.blocked_ns.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
            }
            result
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        match &*self.inner {
            Inner::Otlp(exporter) => exporter.shutdown_with_timeout(timeout),
            Inner::Simulated(_) => Ok(()),
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        // Called once while the provider is built, before any export holds a
        // second reference to `inner`.
        if let Some(Inner::Otlp(exporter)) = Arc::get_mut(&mut self.inner) {
            exporter.set_resource(resource);
        }
    }
}

/// What one provider's exporter did. Root spans (no parent) are counted
/// apart: a run's own root span ends after the timed drop, so the drop is
/// about the others, the plan's node spans.
#[derive(Debug, Default)]
pub struct ExportCounts {
    exported: AtomicUsize,
    exported_roots: AtomicUsize,
    failed: AtomicUsize,
    calls: AtomicUsize,
    blocked_ns: AtomicU64,
    bytes: AtomicUsize,
    last_error: Mutex<Option<String>>,
}

impl ExportCounts {
    fn record(&self, spans: usize, roots: usize, result: &OTelSdkResult) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(()) => {
                self.exported.fetch_add(spans, Ordering::Relaxed);
                self.exported_roots.fetch_add(roots, Ordering::Relaxed);
            }
            Err(e) => {
                self.failed.fetch_add(spans, Ordering::Relaxed);
                *self.last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.to_string());
            }
        }
    }

    /// Spans exported successfully, root spans included.
    pub fn exported(&self) -> usize {
        self.exported.load(Ordering::Relaxed)
    }

    /// Spans exported successfully that have a parent: the plan's node spans.
    pub fn exported_children(&self) -> usize {
        self.exported() - self.exported_roots.load(Ordering::Relaxed)
    }

    /// Spans whose export failed or timed out.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::Relaxed)
    }

    /// Time threads other than the Batch processor's spent waiting for
    /// exports: what the program itself paid.
    pub fn blocked(&self) -> Duration {
        Duration::from_nanos(self.blocked_ns.load(Ordering::Relaxed))
    }

    /// The average payload of a span handed to the exporter, exported or
    /// not (see [`payload_bytes`]).
    pub fn average_span_bytes(&self) -> Option<usize> {
        let spans = self.exported() + self.failed();
        (spans > 0).then(|| self.bytes.load(Ordering::Relaxed) / spans)
    }

    /// Export calls made (one per span under Simple, one per batch under Batch).
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// What a span carries: its name, attribute keys and values, and events,
/// in bytes of text (numbers as 8). Not the encoded OTLP size, but what
/// grows with it: a batch preview is one long string attribute.
pub fn payload_bytes(span: &SpanData) -> usize {
    fn value(v: &opentelemetry::Value) -> usize {
        match v {
            opentelemetry::Value::String(s) => s.as_str().len(),
            opentelemetry::Value::Array(a) => a.to_string().len(),
            _ => 8,
        }
    }
    let pair = |kv: &opentelemetry::KeyValue| kv.key.as_str().len() + value(&kv.value);
    let attributes: usize = span.attributes.iter().map(pair).sum();
    let events: usize = span.events.iter().map(|e| e.name.len() + e.attributes.iter().map(pair).sum::<usize>()).sum();
    span.name.len() + attributes + events
}
