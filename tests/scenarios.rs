//! The failure-mode scenarios' mechanics, hermetic: against the in-process
//! OTLP/gRPC receiver or the simulated exporter, with bounds from the
//! physics. The scenarios themselves run in the compose stack (`make
//! scenario name=...`), where Toxiproxy makes the faults.

mod common;

use std::time::Duration;

use common::{config, ms, over_grpc};
use drop_lab::{
    config::{ProcessorKind, QuerySpec, TargetConfig},
    export::Target,
    measure::{DropOn, RunOptions, Session, run_once},
    receiver::Receiver,
    scenario,
    workload::{self, Workload},
};

fn seed() -> Workload {
    Workload::new(QuerySpec::Named(workload::find_query("seed").unwrap())).unwrap()
}

/// The exporter's bound on one export in the outage tests.
const TIMEOUT: Duration = Duration::from_millis(200);

fn grpc_with_timeout(receiver: &Receiver) -> TargetConfig {
    TargetConfig::Otlp { endpoint: receiver.endpoint().parse().unwrap(), timeout: TIMEOUT }
}

/// `outage`, black-holed: a collector that never answers in time makes
/// every Simple span end wait the whole export timeout, so the drop takes
/// about spans x timeout; the spans are lost, and the program goes on.
/// Batch returns from the drop at once all the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_black_holed_collector_costs_simple_one_timeout_per_span() {
    let receiver = Receiver::start(Duration::from_secs(30)).unwrap();
    let target = Target::new(&grpc_with_timeout(&receiver)).unwrap();
    let workload = seed();

    let simple = run_once(&workload, &target, ProcessorKind::Simple, 0, 0, 0.0, RunOptions::default()).await.unwrap();
    assert_eq!((simple.spans_ended, simple.spans), (6, 0), "six spans ended, none exported");
    assert!(simple.export_errors >= 6, "{} failed exports", simple.export_errors);
    let floor = 0.9 * 6.0 * ms(TIMEOUT);
    assert!(simple.drop_ms >= floor, "Simple drop {:.1} ms < 0.9 x 6 x {TIMEOUT:?}", simple.drop_ms);
    // Each export is bounded by the timeout plus the lab's 500 ms grace.
    let ceiling = 6.0 * (ms(TIMEOUT) + 500.0) + 1000.0;
    assert!(simple.drop_ms <= ceiling, "Simple drop {:.1} ms over the bound {ceiling:.0} ms", simple.drop_ms);

    let batch = run_once(&workload, &target, ProcessorKind::Batch, 0, 0, 0.0, RunOptions::default()).await.unwrap();
    assert!(batch.drop_ms < 20.0, "Batch drop {:.1} ms", batch.drop_ms);
    assert_eq!(batch.spans, 0, "nothing got through");
    assert_eq!(receiver.spans(), 0, "the collector stored nothing");
}

/// `outage`, refused: nobody listens any more, so every export fails, and
/// the spans are lost. It is not free for Simple: opentelemetry-otlp 0.33
/// retries an unavailable collector with exponential backoff (first retry
/// after 100 ms plus up to 100 ms of jitter) inside the export timeout, so
/// each span end waits at least that first backoff, and never more than
/// the timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_collector_costs_simple_the_retry_backoff_per_span() {
    const FIRST_BACKOFF: Duration = Duration::from_millis(100);
    let receiver = Receiver::start(Duration::ZERO).unwrap();
    let target = Target::new(&grpc_with_timeout(&receiver)).unwrap();
    drop(receiver);

    let run = run_once(&seed(), &target, ProcessorKind::Simple, 0, 0, 0.0, RunOptions::default()).await.unwrap();
    assert_eq!((run.spans_ended, run.spans), (6, 0));
    assert!(run.export_errors >= 6);
    let floor = 0.9 * 6.0 * ms(FIRST_BACKOFF);
    assert!(run.drop_ms >= floor, "refused exports took {:.1} ms, under 0.9 x 6 x {FIRST_BACKOFF:?}", run.drop_ms);
    let ceiling = 6.0 * (ms(TIMEOUT) + 500.0);
    assert!(run.drop_ms <= ceiling, "refused exports took {:.1} ms, over 6 x (timeout + grace)", run.drop_ms);
}

/// `overflow`: a burst into a BatchSpanProcessor with a tiny queue in front
/// of a slow collector loses spans, and the lab accounts for every one:
/// created = exported + failed + dropped, and the collector holds exactly
/// the exported ones. The physics caps what can get out: one batch of at
/// most `queue` spans per collector round trip during the burst, plus the
/// queue drained at shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_batch_queue_drops_spans_and_the_lab_counts_them() {
    const DELAY: Duration = Duration::from_millis(200);
    const QUEUE: usize = 8;
    const QUERIES: usize = 4;
    let receiver = Receiver::start(DELAY).unwrap();
    let session = Session::open(&config("report", &[ProcessorKind::Batch], over_grpc(&receiver))).await.unwrap();
    let before = receiver.spans();

    let burst = scenario::burst(&session, QUERIES, QUEUE).await.unwrap();
    session.close().await.unwrap();

    let nodes = workload::plan_nodes(&Workload::new(QuerySpec::Named(workload::find_query("report").unwrap())).unwrap().plan().await.unwrap());
    assert_eq!(burst.spans_created, QUERIES * (nodes + 1), "every node span and every root ended");
    assert!(burst.spans_dropped > 0, "a {QUEUE}-span queue took {} spans without loss", burst.spans_created);
    assert_eq!(burst.spans_exported + burst.spans_failed + burst.spans_dropped, burst.spans_created, "nothing hidden");
    assert_eq!(receiver.spans() - before, burst.spans_exported, "the collector holds what the lab says it exported");
    let round_trips = (burst.burst_ms / ms(DELAY)).ceil() as usize;
    let cap = QUEUE * (round_trips + 2);
    assert!(burst.spans_exported <= cap, "{} exported, more than {QUEUE} x ({round_trips} + 2)", burst.spans_exported);
}

/// `offthread`: handing the drop to `spawn_blocking` returns the caller at
/// once, but a thread stays busy for about spans x latency under Simple.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offthread_drop_frees_the_caller_but_keeps_a_thread_busy() {
    const LATENCY: Duration = Duration::from_millis(20);
    let target = TargetConfig::Simulated { latency: LATENCY };
    let session = Session::open(&config("seed", &[ProcessorKind::Simple, ProcessorKind::Batch], target)).await.unwrap();

    let runs = session.measure(RunOptions { drop_on: DropOn::BlockingThread, ..RunOptions::default() }).await.unwrap();
    session.close().await.unwrap();

    let simple = runs.iter().find(|r| r.processor == ProcessorKind::Simple).unwrap();
    let busy = simple.drop_thread_ms.expect("the blocking thread's time");
    assert!(simple.drop_ms < 20.0, "the caller waited {:.1} ms", simple.drop_ms);
    assert!(busy >= 0.9 * 6.0 * ms(LATENCY), "the thread was busy {busy:.1} ms, less than 0.9 x 6 x {LATENCY:?}");
    let batch = runs.iter().find(|r| r.processor == ProcessorKind::Batch).unwrap();
    assert!(batch.drop_thread_ms.unwrap() < 20.0, "Batch kept the thread {:?} ms", batch.drop_thread_ms);
}

/// `stall`: on a current-thread runtime (the seed's), a Simple drop stops
/// the whole runtime for about spans x latency: a ticker on it wakes that
/// late. Under Batch the ticker stays on time.
#[test]
fn a_simple_drop_stalls_a_current_thread_runtime() {
    const LATENCY: Duration = Duration::from_millis(20);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let target = TargetConfig::Simulated { latency: LATENCY };
    let report = runtime
        .block_on(drop_lab::measure::experiment(&config("seed", &[ProcessorKind::Simple, ProcessorKind::Batch], target)))
        .unwrap();

    let simple = report.runs.iter().find(|r| r.processor == ProcessorKind::Simple).unwrap();
    let floor = 0.9 * 6.0 * ms(LATENCY);
    assert!(simple.stall_ms >= floor, "the runtime stalled {:.1} ms, less than 0.9 x 6 x {LATENCY:?}", simple.stall_ms);
    let batch = report.runs.iter().find(|r| r.processor == ProcessorKind::Batch).unwrap();
    assert!(batch.stall_ms < 20.0, "Batch stalled the runtime {:.1} ms", batch.stall_ms);
}

/// `bandwidth`: batch previews make spans large. Every preview row of the
/// seed's table prints its two 14-character strings, and at least three of
/// the seed's six nodes output 100 rows or more, so 100 preview rows add at
/// least 3 x 100 x 28 / 6 = 1400 bytes to the average span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_make_spans_larger() {
    let target = Target::new(&TargetConfig::Simulated { latency: Duration::ZERO }).unwrap();
    let query = QuerySpec::Named(workload::find_query("seed").unwrap());
    let mut bytes = Vec::new();
    for rows in [0, 100] {
        let workload = Workload::with_preview(query.clone(), rows).unwrap();
        let run = run_once(&workload, &target, ProcessorKind::Simple, 0, 0, 0.0, RunOptions::default()).await.unwrap();
        bytes.push(run.span_bytes.expect("spans were exported"));
    }
    assert!(bytes[1] >= bytes[0] + 1400, "average span: {} bytes without preview, {} with 100 rows", bytes[0], bytes[1]);
}
