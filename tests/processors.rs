//! The lab's central claims, over real OTLP/gRPC against an in-process
//! collector that answers every export `DELAY` late. Bounds come from the
//! physics: under Simple each node span's end waits one export round trip,
//! under Batch it is a channel send.

mod common;

use std::time::Duration;

use common::{config, ms, over_grpc};
use drop_lab::{
    config::{ProcessorKind, QuerySpec},
    export::Target,
    measure::{self, RunOptions, experiment, run_once},
    receiver::Receiver,
    workload::{self, Workload},
};

/// The collector's injected answer delay.
const DELAY: Duration = Duration::from_millis(50);

/// With the affected release (53.0.0), dropping a plan under Simple blocks
/// the caller for at least 0.9 x spans x delay, and for no more than twice
/// what the model (spans x measured round trip) predicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_processor_blocks_the_drop_for_about_spans_times_latency() {
    assert_eq!(drop_lab::versions::DATAFUSION_TRACING, "53.0.0", "the lab must build the affected release");
    let receiver = Receiver::start(DELAY).unwrap();
    let report = experiment(&config("seed", &[ProcessorKind::Simple], over_grpc(&receiver))).await.unwrap();
    let run = &report.runs[0];

    assert_eq!(run.spans, 6, "the seed plan has 6 nodes, one span each");
    let floor = 0.9 * run.spans as f64 * ms(DELAY);
    assert!(run.drop_ms >= floor, "drop took {:.1} ms, less than 0.9 x {} x {:?} = {floor:.1} ms", run.drop_ms, run.spans, DELAY);
    assert!(
        run.drop_ms <= 2.0 * run.predicted_drop_ms,
        "drop took {:.1} ms, over twice the predicted {:.1} ms",
        run.drop_ms,
        run.predicted_drop_ms
    );
    let trace = run.trace_id.as_deref().unwrap();
    assert_eq!(receiver.trace_spans(trace), (6, 1), "every node span and the root arrived");
}

/// Under Batch the drop returns at once (< 20 ms, against 300 ms under
/// Simple), and every span still reaches the collector by the end of the
/// flush.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_processor_returns_from_the_drop_at_once_and_still_delivers_every_span() {
    let receiver = Receiver::start(DELAY).unwrap();
    let report = experiment(&config("seed", &[ProcessorKind::Batch], over_grpc(&receiver))).await.unwrap();
    let run = &report.runs[0];

    assert!(run.drop_ms < 20.0, "Batch drop took {:.1} ms", run.drop_ms);
    assert_eq!(run.spans, 6);
    assert_eq!(run.export_errors, 0);
    let trace = run.trace_id.as_deref().unwrap();
    assert_eq!(receiver.trace_spans(trace), (6, 1), "the flush delivered every span");
    // The flush paid the round trip the drop did not.
    assert!(run.flush_ms >= 0.9 * ms(DELAY), "flush took {:.1} ms", run.flush_ms);
}

/// The baseline: with no OpenTelemetry layer, a run exports nothing at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_processor_exports_nothing() {
    let receiver = Receiver::start(DELAY).unwrap();
    let target = Target::new(&over_grpc(&receiver)).unwrap();
    let workload = Workload::new(QuerySpec::Named(workload::find_query("seed").unwrap())).unwrap();

    let run = run_once(&workload, &target, ProcessorKind::None, 0, 0, 0.0, RunOptions::default()).await.unwrap();

    assert_eq!((run.spans, run.spans_total, run.export_calls), (0, 0, 0));
    assert_eq!(run.trace_id, None);
    assert_eq!(receiver.requests(), 0, "the collector heard nothing");
    assert!(run.drop_ms < 20.0, "a drop with nothing to export took {:.1} ms", run.drop_ms);
}

/// The probed round trip is the collector's delay plus a small transport
/// cost: the number the predictions are built on is the real one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_round_trip_is_probed_as_about_the_collectors_delay() {
    let receiver = Receiver::start(DELAY).unwrap();
    let target = Target::new(&over_grpc(&receiver)).unwrap();

    let samples = measure::probe_rtt(&target).await.unwrap();
    let rtt = measure::Stats::of(&samples).median;

    assert!(rtt >= ms(DELAY), "round trip {rtt:.1} ms is shorter than the delay");
    assert!(rtt <= ms(DELAY) + 50.0, "round trip {rtt:.1} ms: over 50 ms of transport on loopback");
    assert_eq!(receiver.requests(), samples.len() + 1, "one warm-up export, then one per sample");
}

/// Several runs share one process-wide subscriber; each must get its own
/// provider and its own trace, and none may leak spans into another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_run_gets_its_own_trace() {
    let receiver = Receiver::start(Duration::from_millis(1)).unwrap();
    let mut cfg = config("seed", &[ProcessorKind::Simple, ProcessorKind::Batch], over_grpc(&receiver));
    cfg.repeat = 2;
    let report = experiment(&cfg).await.unwrap();

    let traces: std::collections::HashSet<_> = report.runs.iter().map(|r| r.trace_id.clone().unwrap()).collect();
    assert_eq!(traces.len(), 4, "four runs, four traces");
    for run in &report.runs {
        assert_eq!(receiver.trace_spans(run.trace_id.as_deref().unwrap()), (6, 1), "{:?} #{}", run.processor, run.repeat);
    }
}
