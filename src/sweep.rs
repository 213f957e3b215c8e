//! Beyond one latency and one query: the same measurement swept over
//! latencies and plan sizes, and releases of datafusion-tracing compared
//! side by side, each written as JSON, CSV, a Markdown table and SVG charts.
//!
//! A sweep is a list of ordinary [`Report`]s, one per (query, latency); its
//! rows (one per report and processor) are what the tables, the charts and
//! the comparison read. Comparing releases needs one binary per release
//! (Cargo holds one 53.x in a lockfile), so `compare` works on the rows of
//! sweeps that each binary wrote, and says which release each row came from.

use std::{fs, path::Path};

use serde::{Deserialize, Serialize};

use crate::{
    LabError,
    chart::{self, Series, Style},
    config::{Config, ConfigError, ProcessorKind, QuerySpec, TargetConfig},
    measure::{self, Report},
};

/// One processor of one report, flattened: a row of the CSV and Markdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub datafusion_tracing: String,
    pub query: String,
    pub plan_nodes: usize,
    pub latency_ms: u64,
    pub export_rtt_ms: f64,
    pub processor: ProcessorKind,
    pub runs: usize,
    pub spans: usize,
    pub execute_ms: f64,
    pub drop_ms: f64,
    pub drop_min_ms: f64,
    pub drop_max_ms: f64,
    pub predicted_drop_ms: f64,
    pub export_blocked_ms: f64,
    pub flush_ms: f64,
    /// Simple only: (drop + execute beyond the baseline's) / predicted,
    /// median over repeats; where the cost lands does not matter to it.
    pub cost_to_predicted: Option<f64>,
    pub cost_to_predicted_min: Option<f64>,
    pub cost_to_predicted_max: Option<f64>,
}

/// What `sweep.json` holds.
#[derive(Debug, Serialize)]
pub struct Sweep {
    pub rows: Vec<Row>,
    pub reports: Vec<Report>,
}

/// Runs `config` for every query and latency: with Toxiproxy the latency
/// goes on the proxy, without it the simulated exporter waits that long.
pub async fn sweep(config: &Config, queries: &[QuerySpec], latencies: &[u64]) -> Result<Sweep, LabError> {
    if queries.is_empty() {
        return Err(ConfigError::new("--queries", "name at least one query").into());
    }
    if latencies.is_empty() {
        return Err(ConfigError::new("--latencies", "name at least one latency").into());
    }
    if matches!(config.target, TargetConfig::Otlp { .. }) && config.proxy.is_none() && latencies.iter().any(|&l| l > 0) {
        return Err(ConfigError::new("--latencies", "over OTLP the lab sets latency through Toxiproxy: add --toxiproxy-url").into());
    }
    let mut reports = Vec::new();
    for query in queries {
        for &latency in latencies {
            let mut cfg = config.clone();
            cfg.query = query.clone();
            let latency = std::time::Duration::from_millis(latency);
            match (&mut cfg.target, &mut cfg.proxy) {
                (TargetConfig::Simulated { latency: l }, _) => *l = latency,
                (TargetConfig::Otlp { .. }, Some(proxy)) => proxy.latency = latency,
                (TargetConfig::Otlp { .. }, None) => {}
            }
            reports.push(measure::experiment(&cfg).await?);
        }
    }
    let rows = reports.iter().flat_map(rows_of).collect();
    Ok(Sweep { rows, reports })
}

/// The rows of one report.
pub fn rows_of(report: &Report) -> Vec<Row> {
    report
        .summary
        .iter()
        .map(|s| {
            let blocked: Vec<f64> =
                report.runs.iter().filter(|r| r.processor == s.processor).map(|r| r.export_blocked_ms).collect();
            Row {
                datafusion_tracing: report.lab.datafusion_tracing.to_owned(),
                query: report.query.name.clone(),
                plan_nodes: report.query.plan_nodes,
                latency_ms: report.target.latency_ms,
                export_rtt_ms: report.target.export_rtt_ms,
                processor: s.processor,
                runs: s.runs,
                spans: s.spans,
                execute_ms: s.execute_ms.median,
                drop_ms: s.drop_ms.median,
                drop_min_ms: s.drop_ms.min,
                drop_max_ms: s.drop_ms.max,
                predicted_drop_ms: s.predicted_drop_ms.median,
                export_blocked_ms: measure::Stats::of(&blocked).median,
                flush_ms: s.flush_ms.median,
                cost_to_predicted: s.cost_to_predicted.map(|c| c.median),
                cost_to_predicted_min: s.cost_to_predicted.map(|c| c.min),
                cost_to_predicted_max: s.cost_to_predicted.map(|c| c.max),
            }
        })
        .collect()
}

/// The CSV header: the [`Row`] fields, in order.
pub const CSV_HEADER: &str = "datafusion_tracing,query,plan_nodes,latency_ms,export_rtt_ms,processor,runs,spans,\
execute_ms,drop_ms,drop_min_ms,drop_max_ms,predicted_drop_ms,export_blocked_ms,flush_ms,\
cost_to_predicted,cost_to_predicted_min,cost_to_predicted_max";

fn opt(v: Option<f64>) -> String {
    v.map_or(String::new(), |v| format!("{v:.3}"))
}

/// The rows as CSV (no field needs quoting: names are plain words).
pub fn csv(rows: &[Row]) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{:.3},{},{},{},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{},{},{}\n",
            r.datafusion_tracing,
            r.query,
            r.plan_nodes,
            r.latency_ms,
            r.export_rtt_ms,
            r.processor,
            r.runs,
            r.spans,
            r.execute_ms,
            r.drop_ms,
            r.drop_min_ms,
            r.drop_max_ms,
            r.predicted_drop_ms,
            r.export_blocked_ms,
            r.flush_ms,
            opt(r.cost_to_predicted),
            opt(r.cost_to_predicted_min),
            opt(r.cost_to_predicted_max),
        ));
    }
    out
}

/// The rows as a Markdown table (medians over repeats, drop with its range).
pub fn markdown(rows: &[Row]) -> String {
    let mut out = String::from(
        "| datafusion-tracing | query | nodes | latency ms | RTT ms | processor | spans | execute ms | drop ms [min-max] | predicted ms | blocked in export ms | flush ms | cost / predicted [min-max] |\n\
         |---|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in rows {
        let ratio = match (r.cost_to_predicted, r.cost_to_predicted_min, r.cost_to_predicted_max) {
            (Some(m), Some(lo), Some(hi)) => format!("{m:.2} [{lo:.2}-{hi:.2}]"),
            _ => "-".to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.1} | {} | {} | {:.1} | {:.1} [{:.1}-{:.1}] | {:.1} | {:.1} | {:.1} | {} |\n",
            r.datafusion_tracing,
            r.query,
            r.plan_nodes,
            r.latency_ms,
            r.export_rtt_ms,
            r.processor,
            r.spans,
            r.execute_ms,
            r.drop_ms,
            r.drop_min_ms,
            r.drop_max_ms,
            r.predicted_drop_ms,
            r.export_blocked_ms,
            r.flush_ms,
            ratio
        ));
    }
    out
}

/// `drop_ms` against latency for `query`, one line per processor, and the
/// Simple prediction (spans x RTT) dashed.
pub fn latency_chart(rows: &[Row], query: &str) -> String {
    let of: Vec<&Row> = rows.iter().filter(|r| r.query == query).collect();
    let mut series = per_processor(&of, |r| r.latency_ms as f64, |r| r.drop_ms);
    series.push(prediction(&of, |r| r.latency_ms as f64));
    let release = of.first().map_or("", |r| r.datafusion_tracing.as_str());
    chart::line_chart(
        &format!("Plan drop time against collector latency ({query}, datafusion-tracing {release})"),
        "latency added to each export round trip (ms)",
        "drop_ms: time to drop the plan (ms)",
        &series,
    )
}

/// `drop_ms` against plan nodes at `latency_ms`, one line per processor,
/// and the Simple prediction dashed.
pub fn nodes_chart(rows: &[Row], latency_ms: u64) -> String {
    let mut of: Vec<&Row> = rows.iter().filter(|r| r.latency_ms == latency_ms).collect();
    of.sort_by_key(|r| r.plan_nodes);
    let mut series = per_processor(&of, |r| r.plan_nodes as f64, |r| r.drop_ms);
    series.push(prediction(&of, |r| r.plan_nodes as f64));
    let release = of.first().map_or("", |r| r.datafusion_tracing.as_str());
    chart::line_chart(
        &format!("Plan drop time against plan size ({latency_ms} ms latency, datafusion-tracing {release})"),
        "instrumented plan nodes (one span each)",
        "drop_ms: time to drop the plan (ms)",
        &series,
    )
}

fn per_processor(rows: &[&Row], x: fn(&Row) -> f64, y: fn(&Row) -> f64) -> Vec<Series> {
    [ProcessorKind::None, ProcessorKind::Simple, ProcessorKind::Batch]
        .into_iter()
        .filter_map(|kind| {
            let points: Vec<(f64, f64)> = rows.iter().filter(|r| r.processor == kind).map(|r| (x(r), y(r))).collect();
            (!points.is_empty()).then(|| Series { label: kind.to_string(), points, style: Style::Measured })
        })
        .collect()
}

fn prediction(rows: &[&Row], x: fn(&Row) -> f64) -> Series {
    let points = rows.iter().filter(|r| r.processor == ProcessorKind::Simple).map(|r| (x(r), r.predicted_drop_ms)).collect();
    Series { label: "spans x RTT".to_owned(), points, style: Style::Predicted }
}

/// Writes `sweep.json`, `sweep.csv`, `sweep.md` and the two charts into
/// `dir`; returns the files written.
pub fn write_sweep(sweep: &Sweep, dir: &Path) -> Result<Vec<String>, LabError> {
    let mut written = Vec::new();
    let mut put = |name: &str, text: String| write_into(dir, name, text, &mut written);
    put("sweep.json", serde_json::to_string_pretty(sweep).map_err(anyhow::Error::from)?)?;
    put("sweep.csv", csv(&sweep.rows))?;
    put("sweep.md", markdown(&sweep.rows))?;
    if let Some(first) = sweep.rows.first() {
        put("drop-vs-latency.svg", latency_chart(&sweep.rows, &first.query))?;
        let top = sweep.rows.iter().map(|r| r.latency_ms).max().unwrap_or(0);
        if sweep.rows.iter().filter(|r| r.latency_ms == top && r.processor == ProcessorKind::Simple).count() > 1 {
            put("drop-vs-nodes.svg", nodes_chart(&sweep.rows, top))?;
        }
    }
    Ok(written)
}

/// Reads the rows of a `sweep.json`.
pub fn read_rows(path: &Path) -> Result<Vec<Row>, LabError> {
    #[derive(Deserialize)]
    struct Rows {
        rows: Vec<Row>,
    }
    let text = fs::read_to_string(path).map_err(|e| ConfigError::new("compare", format!("cannot read '{}': {e}", path.display())))?;
    let rows: Rows = serde_json::from_str(&text)
        .map_err(|e| ConfigError::new("compare", format!("'{}' is not a sweep.json: {e}", path.display())))?;
    Ok(rows.rows)
}

/// The comparison of releases: the rows of every sweep side by side, and
/// grouped bars of execute against drop at `latency_ms` for `query`.
pub fn compare_chart(rows: &[Row], query: &str, latency_ms: u64) -> String {
    let groups: Vec<(String, Vec<f64>)> = rows
        .iter()
        .filter(|r| r.query == query && r.latency_ms == latency_ms && r.processor != ProcessorKind::None)
        .map(|r| (format!("{} {}", r.datafusion_tracing, r.processor), vec![r.execute_ms, r.drop_ms]))
        .collect();
    chart::grouped_bars(
        &format!("Where Simple's export cost lands ({query}, {latency_ms} ms latency)"),
        "median time (ms)",
        &["execute_ms", "drop_ms"],
        &groups,
    )
}

/// Writes `compare.csv`, `compare.md` and `compare.svg` into `dir` from the
/// sweeps at `inputs` (one per release); returns the files written.
pub fn write_compare(inputs: &[std::path::PathBuf], dir: &Path) -> Result<Vec<String>, LabError> {
    let mut rows = Vec::new();
    for input in inputs {
        rows.extend(read_rows(input)?);
    }
    let mut releases: Vec<&str> = rows.iter().map(|r| r.datafusion_tracing.as_str()).collect();
    releases.sort_unstable();
    releases.dedup();
    if releases.len() < 2 {
        return Err(ConfigError::new("compare", format!("the inputs hold one release only ({releases:?}): give one sweep.json per release")).into());
    }
    // Side by side: per query, latency and processor, the releases in turn.
    rows.sort_by(|a, b| {
        (&a.query, a.latency_ms, a.processor, &a.datafusion_tracing).cmp(&(&b.query, b.latency_ms, b.processor, &b.datafusion_tracing))
    });
    let query = rows[0].query.clone();
    let top = rows.iter().filter(|r| r.query == query).map(|r| r.latency_ms).max().unwrap_or(0);
    let mut written = Vec::new();
    for (name, text) in
        [("compare.csv", csv(&rows)), ("compare.md", markdown(&rows)), ("compare.svg", compare_chart(&rows, &query, top))]
    {
        write_into(dir, name, text, &mut written)?;
    }
    Ok(written)
}

/// Writes `text` to `dir/name` and records the path in `written`.
fn write_into(dir: &Path, name: &str, text: String, written: &mut Vec<String>) -> Result<(), LabError> {
    let path = dir.join(name);
    fs::write(&path, text).map_err(|e| ConfigError::new("--out", format!("cannot write '{}': {e}", path.display())))?;
    written.push(path.display().to_string());
    Ok(())
}
