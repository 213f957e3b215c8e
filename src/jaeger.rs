//! Asks Jaeger which spans of a run arrived. The lab's own export counts say
//! what left the process; only the backend can say what was stored, so a run
//! is checked against Jaeger's query API (`GET /api/traces/{trace_id}`, the
//! HTTP API the Jaeger UI itself uses).
//!
//! Ingestion is asynchronous, so the lab polls for a bounded time
//! (`--jaeger-wait-ms`) until every exported span is there, and reports
//! whatever it found when the bound runs out.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Deserialize;

use crate::{config::JaegerConfig, telemetry::SERVICE_NAME};

/// How often Jaeger is asked again while spans are still arriving.
const POLL_EVERY: Duration = Duration::from_millis(200);
/// Bound on one HTTP request to the query API.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Spans of one trace found in Jaeger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Found {
    /// Spans with a parent: the plan's node spans.
    pub children: usize,
    /// Spans without one: the run's root span.
    pub roots: usize,
}

impl Found {
    pub fn total(&self) -> usize {
        self.children + self.roots
    }
}

#[derive(Debug, Deserialize)]
struct TracesResponse {
    #[serde(default)]
    data: Vec<Trace>,
}

#[derive(Debug, Deserialize)]
struct Trace {
    #[serde(default)]
    spans: Vec<JaegerSpan>,
}

#[derive(Debug, Deserialize)]
struct JaegerSpan {
    #[serde(default)]
    references: Vec<serde_json::Value>,
}

/// Counts the spans of `trace_id` in Jaeger, polling until `expected_total`
/// are there or the configured wait runs out.
pub async fn count_trace_spans(config: &JaegerConfig, trace_id: &str, expected_total: usize) -> anyhow::Result<Found> {
    count_traces(config, &[trace_id.to_owned()], expected_total).await
}

/// Counts the spans of several traces in Jaeger, summed, polling until
/// `expected_total` are there in all or the configured wait runs out.
pub async fn count_traces(config: &JaegerConfig, trace_ids: &[String], expected_total: usize) -> anyhow::Result<Found> {
    let client = reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build()?;
    let deadline = Instant::now() + config.wait;
    loop {
        let mut found = Found::default();
        for id in trace_ids {
            let one = fetch(&client, &format!("{}/api/traces/{id}", base(config))).await?;
            found.children += one.children;
            found.roots += one.roots;
        }
        if found.total() >= expected_total || Instant::now() >= deadline {
            return Ok(found);
        }
        tokio::time::sleep(POLL_EVERY.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

async fn fetch(client: &reqwest::Client, url: &str) -> anyhow::Result<Found> {
    let response = client.get(url).send().await.with_context(|| format!("--jaeger-url: GET {url}"))?;
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        // Not ingested yet.
        return Ok(Found::default());
    }
    let body: TracesResponse = response
        .error_for_status()
        .with_context(|| format!("--jaeger-url: GET {url}"))?
        .json()
        .await
        .with_context(|| format!("--jaeger-url: GET {url}: not a Jaeger traces response"))?;
    let mut found = Found::default();
    for span in body.data.iter().flat_map(|t| &t.spans) {
        if span.references.is_empty() {
            found.roots += 1;
        } else {
            found.children += 1;
        }
    }
    Ok(found)
}

fn base(config: &JaegerConfig) -> String {
    config.api.to_string().trim_end_matches('/').to_owned()
}

/// The Jaeger UI page of one trace.
pub fn trace_url(config: &JaegerConfig, trace_id: &str) -> String {
    format!("{}/trace/{trace_id}", config.ui)
}

/// The Jaeger UI search for the lab's recent runs.
pub fn search_url(config: &JaegerConfig) -> String {
    format!("{}/search?service={SERVICE_NAME}&operation=drop_lab.run&limit=20&lookback=1h", config.ui)
}
