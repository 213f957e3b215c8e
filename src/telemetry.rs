//! The tracing side: one process-wide subscriber, and a fresh OpenTelemetry
//! tracer provider per measured run.
//!
//! The subscriber is global, not a thread-local default, because DataFusion
//! executes partitions on spawned tasks, on whichever runtime worker picks
//! them up: a span created there must see the same subscriber. Its
//! OpenTelemetry layer sits in a `reload` slot, so each run installs its own
//! provider's tracer and removes it afterwards (`none` leaves the slot empty).
//! Runs are serialised by [`crate::measure`], so the slot holds one run's
//! tracer at a time.
//!
//! The `reload` slot has one cost: tracing-opentelemetry finds a span's
//! OpenTelemetry context by downcasting the subscriber to its layer, and a
//! `reload` layer does not forward downcasts, so `Span::context()` returns an
//! empty context here. The run's trace id is therefore read where the SDK
//! itself sees the spans, by a [`SpanTally`] processor that every provider
//! carries in front of the processor under test.

use std::{
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry::{
    Context, KeyValue,
    trace::{SpanId, TraceId, TracerProvider as _},
};
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SimpleSpanProcessor, Span, SpanData, SpanProcessor},
};
use tracing::level_filters::LevelFilter;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::{Registry, filter::Targets, layer::SubscriberExt, reload};

use crate::{config::ProcessorKind, export::LabExporter, versions};

/// The service name runs are exported under; search for it in Jaeger.
pub const SERVICE_NAME: &str = "drop-lab";

type OtelLayer = OpenTelemetryLayer<Registry, SdkTracer>;

static OTEL_SLOT: OnceLock<reload::Handle<Option<OtelLayer>, Registry>> = OnceLock::new();

fn slot() -> &'static reload::Handle<Option<OtelLayer>, Registry> {
    OTEL_SLOT.get_or_init(|| {
        let (layer, handle) = reload::Layer::new(None);
        // datafusion-tracing's node spans are INFO. The exporter's own stack
        // (tonic, h2, hyper, tower) must never be traced by the layer that
        // exports through it: at best that is noise in Jaeger, at worst a
        // feedback loop where each export creates spans to export.
        let filter = Targets::new()
            .with_default(LevelFilter::INFO)
            .with_target("h2", LevelFilter::OFF)
            .with_target("hyper", LevelFilter::OFF)
            .with_target("hyper_util", LevelFilter::OFF)
            .with_target("tonic", LevelFilter::OFF)
            .with_target("tower", LevelFilter::OFF)
            .with_target("reqwest", LevelFilter::OFF)
            .with_target("opentelemetry", LevelFilter::OFF)
            .with_target("opentelemetry_sdk", LevelFilter::OFF)
            .with_target("opentelemetry_otlp", LevelFilter::OFF);
        let subscriber = tracing_subscriber::registry().with(layer).with(filter);
        tracing::subscriber::set_global_default(subscriber)
            .expect("drop-lab installs the global tracing subscriber, and nothing else may");
        handle
    })
}

/// Points the process-wide OpenTelemetry layer at `provider`, or removes the
/// layer (`None`). Spans already open keep the tracer they were created with.
pub fn install(provider: Option<&SdkTracerProvider>) {
    let layer = provider.map(|p| OpenTelemetryLayer::new(p.tracer("drop-lab")));
    slot().reload(layer).expect("the subscriber holding the slot is global and never dropped");
}

/// The resource every provider shares.
pub fn resource(service_name: &'static str) -> Resource {
    Resource::builder()
        .with_service_name(service_name)
        .with_attribute(KeyValue::new("drop_lab.version", versions::DROP_LAB))
        .with_attribute(KeyValue::new("datafusion_tracing.version", versions::DATAFUSION_TRACING))
        .build()
}

/// A fresh provider for one run, or `None` for the `none` baseline.
/// `Batch` reads the standard `OTEL_BSP_*` variables through the SDK's
/// default configuration. `tally` sees every span end first.
pub fn provider(
    kind: ProcessorKind,
    tally: &Arc<SpanTally>,
    max_queue_size: Option<usize>,
    exporter: impl FnOnce() -> anyhow::Result<LabExporter>,
) -> anyhow::Result<Option<SdkTracerProvider>> {
    let builder = SdkTracerProvider::builder()
        .with_resource(resource(SERVICE_NAME))
        .with_sampler(Sampler::AlwaysOn)
        .with_span_processor(TallyProcessor(Arc::clone(tally)));
    let provider = match kind {
        ProcessorKind::None => return Ok(None),
        ProcessorKind::Simple => builder.with_span_processor(SimpleSpanProcessor::new(exporter()?)),
        ProcessorKind::Batch => {
            // BatchConfigBuilder::default() reads the OTEL_BSP_* variables.
            let mut config = BatchConfigBuilder::default();
            if let Some(size) = max_queue_size {
                // build() caps the export batch size at the queue size.
                config = config.with_max_queue_size(size);
            }
            builder.with_span_processor(BatchSpanProcessor::builder(exporter()?).with_batch_config(config.build()).build())
        }
    };
    Ok(Some(provider.build()))
}

/// What a run's provider saw end, whatever became of each span afterwards:
/// how many spans ended, and the trace id of the root span (the one without
/// a parent). The exporter's counts say what was *exported*; these say what
/// the program produced, which is what a lost span is measured against.
#[derive(Debug, Default)]
pub struct SpanTally {
    ended: AtomicUsize,
    root_trace_ids: Mutex<Vec<TraceId>>,
}

impl SpanTally {
    /// Spans that ended, root spans included.
    pub fn ended(&self) -> usize {
        self.ended.load(Ordering::Relaxed)
    }

    /// Spans that ended with a parent: the plans' node spans.
    pub fn ended_children(&self) -> usize {
        self.ended() - self.root_trace_ids.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    /// The trace id of the last root span that ended, as lowercase hex.
    pub fn root_trace_id(&self) -> Option<String> {
        self.root_trace_ids().pop()
    }

    /// The trace ids of every root span that ended, in order.
    pub fn root_trace_ids(&self) -> Vec<String> {
        self.root_trace_ids.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|id| id.to_string()).collect()
    }
}

/// Feeds a [`SpanTally`]. It is registered before the processor under test,
/// so it runs before a `SimpleSpanProcessor` blocks, and costs a counter
/// increment per span.
#[derive(Debug)]
struct TallyProcessor(Arc<SpanTally>);

impl SpanProcessor for TallyProcessor {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        self.0.ended.fetch_add(1, Ordering::Relaxed);
        if span.parent_span_id == SpanId::INVALID {
            self.0.root_trace_ids.lock().unwrap_or_else(|p| p.into_inner()).push(span.span_context.trace_id());
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}
