//! Sweeps and the release comparison, hermetic: a sweep over simulated
//! latencies grows Simple's drop with the latency and the plan size as the
//! model says, and writes every output; the comparison puts two releases
//! side by side with exact output.

mod common;

use std::time::Duration;

use common::config;
use drop_lab::{
    config::{ProcessorKind, QuerySpec, TargetConfig},
    sweep::{self, Row},
    workload,
};

fn named(name: &str) -> QuerySpec {
    QuerySpec::Named(workload::find_query(name).unwrap())
}

/// Over latencies 0, 10 and 20 ms and two plan sizes, Simple's drop is at
/// least 0.9 x spans x latency at every point, Batch's stays under 20 ms,
/// and the directory holds the JSON, CSV, Markdown and both charts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_follows_the_model_and_writes_every_output() {
    let target = TargetConfig::Simulated { latency: Duration::ZERO };
    let cfg = config("seed", &[ProcessorKind::None, ProcessorKind::Simple, ProcessorKind::Batch], target);
    let result = sweep::sweep(&cfg, &[named("seed"), named("join")], &[0, 10, 20]).await.unwrap();

    assert_eq!(result.rows.len(), 2 * 3 * 3, "queries x latencies x processors");
    for row in &result.rows {
        match row.processor {
            ProcessorKind::Simple => {
                let floor = 0.9 * row.spans as f64 * row.latency_ms as f64;
                assert!(row.drop_ms >= floor, "{} at {} ms: drop {:.1} < {floor:.1}", row.query, row.latency_ms, row.drop_ms);
                assert!(row.cost_to_predicted.is_some());
            }
            ProcessorKind::Batch => assert!(row.drop_ms < 20.0, "{} at {} ms: Batch drop {:.1}", row.query, row.latency_ms, row.drop_ms),
            ProcessorKind::None => assert_eq!(row.spans, 0),
        }
    }

    let dir = std::env::temp_dir().join(format!("drop-lab-sweep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let written = sweep::write_sweep(&result, &dir).unwrap();
    assert_eq!(written.len(), 5, "{written:?}");
    let csv = std::fs::read_to_string(dir.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().next(), Some(sweep::CSV_HEADER));
    assert_eq!(csv.lines().count(), 1 + result.rows.len());
    for chart in ["drop-vs-latency.svg", "drop-vs-nodes.svg"] {
        let svg = std::fs::read_to_string(dir.join(chart)).unwrap();
        assert!(svg.starts_with("<svg") && svg.contains("spans x RTT"), "{chart}");
    }
    let key = |r: &Row| (r.query.clone(), r.latency_ms, r.processor, r.spans);
    let read: Vec<_> = sweep::read_rows(&dir.join("sweep.json")).unwrap().iter().map(key).collect();
    assert_eq!(read, result.rows.iter().map(key).collect::<Vec<_>>(), "compare can read the sweep's rows back");
    std::fs::remove_dir_all(&dir).unwrap();
}

fn row(release: &str, processor: ProcessorKind, execute_ms: f64, drop_ms: f64) -> Row {
    Row {
        datafusion_tracing: release.into(),
        query: "seed".into(),
        plan_nodes: 6,
        latency_ms: 100,
        export_rtt_ms: 101.5,
        processor,
        runs: 1,
        spans: 6,
        execute_ms,
        drop_ms,
        drop_min_ms: drop_ms,
        drop_max_ms: drop_ms,
        predicted_drop_ms: 609.0,
        export_blocked_ms: 710.5,
        flush_ms: 0.1,
        cost_to_predicted: Some(1.0),
        cost_to_predicted_min: Some(1.0),
        cost_to_predicted_max: Some(1.0),
    }
}

/// The comparison refuses inputs of one release, and otherwise lists each
/// condition's rows release after release.
#[test]
fn compare_puts_the_releases_side_by_side() {
    let dir = std::env::temp_dir().join(format!("drop-lab-compare-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let write = |name: &str, rows: Vec<Row>| {
        let path = dir.join(name);
        std::fs::write(&path, serde_json::json!({ "rows": rows, "reports": [] }).to_string()).unwrap();
        path
    };
    let affected = write("affected.json", vec![row("53.0.0", ProcessorKind::Simple, 1.5, 611.0)]);
    let fixed = write("fixed.json", vec![row("53.0.2", ProcessorKind::Simple, 611.7, 0.1)]);

    let err = sweep::write_compare(&[affected.clone(), affected.clone()], &dir).unwrap_err();
    assert!(err.to_string().contains("one release only"), "{err}");

    sweep::write_compare(&[fixed, affected], &dir).unwrap();
    let md = std::fs::read_to_string(dir.join("compare.md")).unwrap();
    let lines: Vec<&str> = md.lines().skip(2).collect();
    assert_eq!(
        lines,
        [
            "| 53.0.0 | seed | 6 | 100 | 101.5 | simple | 6 | 1.5 | 611.0 [611.0-611.0] | 609.0 | 710.5 | 0.1 | 1.00 [1.00-1.00] |",
            "| 53.0.2 | seed | 6 | 100 | 101.5 | simple | 6 | 611.7 | 0.1 [0.1-0.1] | 609.0 | 710.5 | 0.1 | 1.00 [1.00-1.00] |",
        ]
    );
    let svg = std::fs::read_to_string(dir.join("compare.svg")).unwrap();
    for text in [">53.0.0 simple<", ">53.0.2 simple<", ">execute_ms<", ">drop_ms<"] {
        assert!(svg.contains(text), "{text} missing from compare.svg");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
