//! Output: the table a person reads in the terminal, the JSON file a program
//! reads (schema in the README), and the list of named queries. Rendering is
//! pure (report in, text out) so tests can assert on it.

use std::{fmt::Write as _, fs::File, io::BufWriter, path::Path};

use crate::{
    LabError,
    config::{ConfigError, QuerySpec},
    measure::{Report, Stats, Summary},
    workload::{self, Workload},
};

/// The table for one report.
pub fn render_table(report: &Report) -> String {
    let mut out = String::new();
    let lab = &report.lab;
    let target = &report.target;
    let _ = writeln!(
        out,
        "drop-lab {} | datafusion {} | datafusion-tracing {} | opentelemetry_sdk {}",
        lab.version, lab.datafusion, lab.datafusion_tracing, lab.opentelemetry_sdk
    );
    let _ = writeln!(out, "query    {} ({} instrumented plan nodes)", report.query.name, report.query.plan_nodes);
    let where_to = match &target.endpoint {
        Some(endpoint) => format!("OTLP/gRPC {endpoint}"),
        None => "in-process simulated exporter".to_owned(),
    };
    let _ = writeln!(
        out,
        "target   {where_to}, {} ms injected ({}), export RTT {:.1} ms (median of {})",
        target.latency_ms,
        target.latency_injected_by,
        target.export_rtt_ms,
        target.export_rtt_samples_ms.len()
    );
    let repeats = report.summary.first().map_or(0, |s| s.runs);
    if repeats > 1 {
        let _ = writeln!(out, "runs     {repeats} per processor: median [min-max]");
    }
    out.push('\n');

    let header = ["processor", "spans", "execute ms", "drop ms", "predicted drop ms", "flush ms", "in backend"];
    let rows: Vec<Vec<String>> = report
        .summary
        .iter()
        .map(|s| {
            vec![
                s.processor.to_string(),
                s.spans.to_string(),
                stat_cell(&s.execute_ms, s.runs),
                stat_cell(&s.drop_ms, s.runs),
                stat_cell(&s.predicted_drop_ms, s.runs),
                stat_cell(&s.flush_ms, s.runs),
                backend_cell(report, s),
            ]
        })
        .collect();
    out.push_str(&render_grid(&header, &rows));

    for s in &report.summary {
        if let (Some(ratio), Some(cost)) = (&s.drop_to_predicted, &s.cost_to_predicted) {
            let _ = writeln!(
                out,
                "\n{}: drop / predicted = {}; (drop + execute beyond none's) / predicted = {}",
                s.processor,
                stat_ratio(ratio, s.runs),
                stat_ratio(cost, s.runs)
            );
        }
    }
    for s in &report.summary {
        if s.export_errors > 0 {
            let _ = writeln!(out, "\n!! {}: {} span exports FAILED or timed out", s.processor, s.export_errors);
        }
        if s.runs_missing_spans > 0 {
            let _ = writeln!(
                out,
                "\n!! {}: in {} of {} runs Jaeger did NOT hold every exported span",
                s.processor, s.runs_missing_spans, s.runs
            );
        }
    }

    if let Some(backend) = &report.backend {
        let _ = writeln!(out, "\nJaeger traces (one per run):");
        for run in report.runs.iter().filter(|r| r.trace_url.is_some()) {
            let _ = writeln!(
                out,
                "  {:<6} #{}  {}",
                run.processor.as_str(),
                run.repeat + 1,
                run.trace_url.as_deref().unwrap_or_default()
            );
        }
        let _ = writeln!(out, "  search: {}", backend.search_url);
    }
    out
}

/// A text table: the first column left-aligned, the others right-aligned,
/// two spaces apart, no trailing blanks.
pub fn render_grid<S: AsRef<str>>(header: &[S], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| rows.iter().filter_map(|r| r.get(i)).map(String::len).chain([header[i].as_ref().len()]).max().unwrap_or(0))
        .collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (i, cell) in cells.enumerate() {
            if i == 0 {
                let _ = write!(l, "{cell:<w$}", w = widths[0]);
            } else {
                let _ = write!(l, "  {cell:>w$}", w = widths[i]);
            }
        }
        l.trim_end().to_owned()
    };
    let mut out = String::new();
    let _ = writeln!(out, "{}", line(&mut header.iter().map(AsRef::as_ref)));
    for row in rows {
        let _ = writeln!(out, "{}", line(&mut row.iter().map(String::as_str)));
    }
    out
}

fn stat_cell(stats: &Stats, runs: usize) -> String {
    if runs > 1 {
        format!("{:.1} [{:.1}-{:.1}]", stats.median, stats.min, stats.max)
    } else {
        format!("{:.1}", stats.median)
    }
}

fn stat_ratio(stats: &Stats, runs: usize) -> String {
    if runs > 1 {
        format!("{:.2} [{:.2}-{:.2}]", stats.median, stats.min, stats.max)
    } else {
        format!("{:.2}", stats.median)
    }
}

fn backend_cell(report: &Report, summary: &Summary) -> String {
    let runs: Vec<_> = report.runs.iter().filter(|r| r.processor == summary.processor).collect();
    if runs.iter().all(|r| r.spans_in_backend.is_none()) {
        return "-".to_owned();
    }
    let found: usize = runs.iter().filter_map(|r| r.spans_in_backend).sum();
    let exported: usize = runs.iter().map(|r| r.spans).sum();
    if found == exported {
        format!("{found}/{exported}")
    } else {
        format!("{found}/{exported} MISSING")
    }
}

/// Writes the report as pretty JSON.
pub fn write_json(report: &impl serde::Serialize, path: &Path) -> Result<(), LabError> {
    let fail = |e: &dyn std::fmt::Display| ConfigError::new("--json", format!("cannot write '{}': {e}", path.display()));
    let file = File::create(path).map_err(|e| fail(&e))?;
    serde_json::to_writer_pretty(BufWriter::new(file), report).map_err(|e| fail(&e))?;
    Ok(())
}

/// `drop-lab queries`: each named query with its plan-node count.
pub async fn print_queries() -> Result<(), LabError> {
    println!("{:<8} {:>5}  about", "query", "nodes");
    for query in workload::QUERIES {
        let workload = Workload::new(QuerySpec::Named(query))?;
        let nodes = workload::plan_nodes(&workload.plan().await?);
        println!("{:<8} {:>5}  {}", query.name, nodes, query.about);
    }
    Ok(())
}
