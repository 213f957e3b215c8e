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

use std::sync::OnceLock;

use opentelemetry::{KeyValue, trace::TracerProvider as _};
use opentelemetry_sdk::{
    Resource,
    trace::{BatchSpanProcessor, Sampler, SdkTracer, SdkTracerProvider, SimpleSpanProcessor},
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
/// default configuration.
pub fn provider(kind: ProcessorKind, exporter: impl FnOnce() -> anyhow::Result<LabExporter>) -> anyhow::Result<Option<SdkTracerProvider>> {
    let builder = SdkTracerProvider::builder().with_resource(resource(SERVICE_NAME)).with_sampler(Sampler::AlwaysOn);
    let provider = match kind {
        ProcessorKind::None => return Ok(None),
        ProcessorKind::Simple => builder.with_span_processor(SimpleSpanProcessor::new(exporter()?)),
        ProcessorKind::Batch => builder.with_span_processor(BatchSpanProcessor::builder(exporter()?).build()),
    };
    Ok(Some(provider.build()))
}
