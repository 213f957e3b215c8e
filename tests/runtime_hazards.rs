//! Simple + tonic can hang for good: `block_on` on a runtime worker may wait
//! on a task that only that worker would run (upstream opentelemetry-rust
//! #2188, #2539, #3542). The lab runs exports on a runtime of their own (see
//! `export.rs`); these tests run Simple over real gRPC many times on the
//! runtimes where the hazard bites, each under a bound from the physics.

mod common;

use std::{sync::mpsc, time::Duration};

use common::{config, over_grpc};
use drop_lab::{config::ProcessorKind, measure::experiment, receiver::Receiver};

const RUNS: u32 = 10;
const DELAY: Duration = Duration::from_millis(5);

/// Runs `RUNS` Simple runs of the seed query on a runtime from `builder`, on
/// a thread of its own, and fails if they have not all finished within the
/// bound: a deadlock shows up as a timeout, not as a hung test.
fn simple_over_grpc_finishes(mut builder: tokio::runtime::Builder) {
    let receiver = Receiver::start(DELAY).unwrap();
    let mut cfg = config("seed", &[ProcessorKind::Simple], over_grpc(&receiver));
    cfg.repeat = RUNS;

    // Physics: 6 round trips (probe) + RUNS x 7 spans x DELAY of export, plus
    // planning and executing a 100 000-row query RUNS times. Allow each run
    // a whole second of CPU on top, and 10 s to start: a working run takes
    // well under a second in all.
    let bound = DELAY * (6 + RUNS * 7) + Duration::from_secs(1) * RUNS + Duration::from_secs(10);

    let (done, finished) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = builder.enable_all().build().unwrap();
        let _ = done.send(runtime.block_on(experiment(&cfg)).map_err(|e| e.to_string()));
    });
    let report = match finished.recv_timeout(bound) {
        Ok(report) => report.unwrap(),
        Err(_) => panic!("Simple over gRPC did not finish {RUNS} runs within {bound:?}: deadlocked"),
    };
    assert_eq!(report.runs.len(), RUNS as usize);
    for run in &report.runs {
        assert_eq!((run.spans, run.export_errors), (6, 0), "run #{}", run.repeat);
    }
}

/// The runtime of the seed and of many tests: one thread for everything.
#[test]
fn simple_over_grpc_never_deadlocks_on_a_current_thread_runtime() {
    simple_over_grpc_finishes(tokio::runtime::Builder::new_current_thread());
}

/// One worker: a blocked worker leaves nobody to drive tonic's tasks.
#[test]
fn simple_over_grpc_never_deadlocks_on_a_one_worker_runtime() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(1);
    simple_over_grpc_finishes(builder);
}

/// Two workers, where the hazard is a task parked in the blocked worker's
/// LIFO slot.
#[test]
fn simple_over_grpc_never_deadlocks_on_a_two_worker_runtime() {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(2);
    simple_over_grpc_finishes(builder);
}
