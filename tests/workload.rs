//! The workload's promises: the seed query is the seed's, and the named
//! queries span the plan sizes the lab needs (about 6, 15 and 40+ nodes,
//! issue #27's reporter had about 40).

mod common;

use std::time::Duration;

use common::config;
use drop_lab::{
    config::{ProcessorKind, QuerySpec, TargetConfig},
    measure::experiment,
    workload::{self, Workload},
};

async fn nodes(name: &str) -> usize {
    let workload = Workload::new(QuerySpec::Named(workload::find_query(name).unwrap())).unwrap();
    workload::plan_nodes(&workload.plan().await.unwrap())
}

/// The seed's query yields the seed's 6 spans, one per instrumented node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_query_yields_six_spans() {
    assert_eq!(nodes("seed").await, 6);
    let target = TargetConfig::Simulated { latency: Duration::from_millis(1) };
    let report = experiment(&config("seed", &[ProcessorKind::Simple], target)).await.unwrap();
    assert_eq!(report.runs[0].spans, 6);
    assert_eq!(report.runs[0].rows, 1, "one sum");
}

/// The larger queries give mid-size and issue-#27-size plans, and every
/// node of them opens exactly one span.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_queries_cover_small_medium_and_large_plans() {
    let join = nodes("join").await;
    let report = nodes("report").await;
    assert!((12..=20).contains(&join), "join has {join} nodes");
    assert!(report >= 40, "report has {report} nodes");

    let target = TargetConfig::Simulated { latency: Duration::ZERO };
    for (name, expected) in [("join", join), ("report", report)] {
        let run = &experiment(&config(name, &[ProcessorKind::Batch], target.clone())).await.unwrap().runs[0];
        assert_eq!(run.spans, expected, "{name}: one span per node");
        assert!(run.rows > 0, "{name} returns rows");
    }
}
