//! Validated, typed options. The command line (or its `DROP_LAB_*`
//! variables) is raw text; everything past this module works with durations,
//! parsed URLs and known queries, and every rejection names the flag at fault
//! so a user can fix it from one line.

use std::{net::SocketAddr, net::ToSocketAddrs, path::PathBuf, time::Duration};

use tonic::codegen::http::Uri;

use crate::{cli::RunArgs, workload};

/// The longest latency or timeout the lab accepts. Anything longer is a typo
/// (seconds for milliseconds), and would make a single run take minutes.
pub const MAX_MS: u64 = 60_000;

/// A rejected input. Displayed as `FLAG: message`, so the flag comes first.
#[derive(Debug, thiserror::Error)]
#[error("{flag}: {message}")]
pub struct ConfigError {
    /// The flag (or file) at fault, as the user typed it: `--otlp-endpoint`.
    pub flag: &'static str,
    pub message: String,
}

impl ConfigError {
    pub fn new(flag: &'static str, message: impl Into<String>) -> Self {
        Self { flag, message: message.into() }
    }
}

/// Which span processor a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProcessorKind {
    /// No OpenTelemetry layer at all: the baseline.
    None,
    /// `SimpleSpanProcessor`: each span end exports before returning.
    Simple,
    /// `BatchSpanProcessor`: span ends queue; a background thread exports.
    Batch,
}

impl ProcessorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessorKind::None => "none",
            ProcessorKind::Simple => "simple",
            ProcessorKind::Batch => "batch",
        }
    }
}

impl std::fmt::Display for ProcessorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a run executes.
#[derive(Debug, Clone)]
pub enum QuerySpec {
    Named(&'static workload::NamedQuery),
    Sql(String),
}

impl QuerySpec {
    pub fn name(&self) -> &str {
        match self {
            QuerySpec::Named(q) => q.name,
            QuerySpec::Sql(_) => "sql",
        }
    }

    pub fn sql(&self) -> &str {
        match self {
            QuerySpec::Named(q) => q.sql,
            QuerySpec::Sql(sql) => sql,
        }
    }

    /// The flag a planning error is blamed on.
    pub fn flag(&self) -> &'static str {
        match self {
            QuerySpec::Named(_) => "--query",
            QuerySpec::Sql(_) => "--sql",
        }
    }
}

/// Where spans are exported.
#[derive(Debug, Clone)]
pub enum TargetConfig {
    /// The in-process exporter: waits `latency` per export call, no network.
    Simulated { latency: Duration },
    /// A real collector over OTLP/gRPC.
    Otlp { endpoint: Uri, timeout: Duration },
}

impl TargetConfig {
    /// `simulated` or `otlp-grpc`, as in the JSON.
    pub fn kind(&self) -> &'static str {
        match self {
            TargetConfig::Simulated { .. } => "simulated",
            TargetConfig::Otlp { .. } => "otlp-grpc",
        }
    }
}

/// Toxiproxy control: which proxy, and the latency the lab puts on it.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    pub api: SocketAddr,
    pub api_text: String,
    pub proxy: String,
    pub latency: Duration,
}

/// Where to check that a run's spans arrived.
#[derive(Debug, Clone)]
pub struct JaegerConfig {
    pub api: Uri,
    pub ui: String,
    pub wait: Duration,
}

/// Everything a measurement needs, validated.
#[derive(Debug, Clone)]
pub struct Config {
    pub query: QuerySpec,
    pub processors: Vec<ProcessorKind>,
    pub repeat: u32,
    pub target: TargetConfig,
    pub proxy: Option<ProxyConfig>,
    pub jaeger: Option<JaegerConfig>,
    pub json: Option<PathBuf>,
    /// A failure-mode scenario to run instead of the plain comparison.
    pub scenario: Option<crate::scenario::Scenario>,
}

impl Config {
    pub fn from_args(args: RunArgs) -> Result<Config, ConfigError> {
        let query = match args.sql {
            Some(sql) if sql.trim().is_empty() => {
                return Err(ConfigError::new("--sql", "the query is empty"));
            }
            Some(sql) => QuerySpec::Sql(sql),
            None => QuerySpec::Named(workload::find_query(&args.query).ok_or_else(|| {
                ConfigError::new(
                    "--query",
                    format!(
                        "no query named '{}' (known: {})",
                        args.query,
                        workload::QUERIES.iter().map(|q| q.name).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?),
        };

        let mut processors = Vec::new();
        for p in args.processors {
            if !processors.contains(&p) {
                processors.push(p);
            }
        }
        if processors.is_empty() {
            return Err(ConfigError::new("--processors", "name at least one of none, simple, batch"));
        }

        let target = match args.otlp_endpoint {
            Some(url) => TargetConfig::Otlp {
                endpoint: parse_http_url("--otlp-endpoint", &url)?,
                timeout: Duration::from_millis(args.otlp_timeout_ms),
            },
            None => TargetConfig::Simulated { latency: Duration::from_millis(args.simulated_latency_ms) },
        };

        let proxy = match (args.toxiproxy_url, args.latency_ms) {
            (Some(url), Some(latency_ms)) => {
                let uri = parse_http_url("--toxiproxy-url", &url)?;
                let authority = uri.authority().map(|a| a.to_string()).unwrap_or_default();
                let api = authority
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut addrs| addrs.next())
                    .ok_or_else(|| {
                        ConfigError::new("--toxiproxy-url", format!("cannot resolve '{authority}'"))
                    })?;
                if args.proxy.is_empty() {
                    return Err(ConfigError::new("--proxy", "the proxy name is empty"));
                }
                Some(ProxyConfig {
                    api,
                    api_text: url,
                    proxy: args.proxy,
                    latency: Duration::from_millis(latency_ms),
                })
            }
            (Some(_), None) => {
                return Err(ConfigError::new(
                    "--latency-ms",
                    "required with --toxiproxy-url (use 0 for no added latency)",
                ));
            }
            (None, _) => None,
        };

        let jaeger = match args.jaeger_url {
            Some(url) => {
                let api = parse_http_url("--jaeger-url", &url)?;
                let ui = match args.jaeger_ui_url {
                    Some(ui) => {
                        parse_http_url("--jaeger-ui-url", &ui)?;
                        ui.trim_end_matches('/').to_owned()
                    }
                    None => url.trim_end_matches('/').to_owned(),
                };
                Some(JaegerConfig { api, ui, wait: Duration::from_millis(args.jaeger_wait_ms) })
            }
            None => None,
        };

        if let Some(path) = &args.json {
            let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
            if let Some(dir) = parent {
                if !dir.is_dir() {
                    return Err(ConfigError::new(
                        "--json",
                        format!("directory '{}' does not exist", dir.display()),
                    ));
                }
            }
        }

        // Empty is no scenario: the compose file passes the variable always.
        let scenario = match args.scenario.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(crate::scenario::find(name).ok_or_else(|| {
                ConfigError::new(
                    "--scenario",
                    format!(
                        "no scenario named '{name}' (known: {})",
                        crate::scenario::SCENARIOS.iter().map(|(_, n, _)| *n).collect::<Vec<_>>().join(", ")
                    ),
                )
            })?),
        };

        Ok(Config {
            query,
            processors,
            repeat: args.repeat,
            target,
            proxy,
            jaeger,
            json: args.json,
            scenario,
        })
    }

    /// The latency the lab itself injected, in ms: the simulated exporter's
    /// wait, or the Toxiproxy toxic's latency; 0 when it injected none.
    pub fn injected_latency(&self) -> Duration {
        match (&self.target, &self.proxy) {
            (TargetConfig::Simulated { latency }, _) => *latency,
            (TargetConfig::Otlp { .. }, Some(proxy)) => proxy.latency,
            (TargetConfig::Otlp { .. }, None) => Duration::ZERO,
        }
    }
}

/// An `http://host:port` URL. The lab speaks plaintext only: a lab stack on
/// loopback or a compose network has no certificates, and leaving TLS out
/// keeps the build small.
fn parse_http_url(flag: &'static str, text: &str) -> Result<Uri, ConfigError> {
    let uri: Uri = text
        .parse()
        .map_err(|e| ConfigError::new(flag, format!("'{text}' is not a URL: {e}")))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(other) => {
            return Err(ConfigError::new(flag, format!("'{text}': scheme '{other}' is not supported, use http://")));
        }
        None => return Err(ConfigError::new(flag, format!("'{text}' has no scheme, use http://HOST:PORT"))),
    }
    match uri.authority() {
        Some(a) if !a.host().is_empty() && a.port_u16().is_some() => Ok(uri),
        _ => Err(ConfigError::new(flag, format!("'{text}' needs a host and a port, e.g. http://127.0.0.1:4317"))),
    }
}

/// Parses a latency in whole milliseconds, from 0 to [`MAX_MS`].
pub fn parse_latency_ms(text: &str) -> Result<u64, String> {
    parse_ms(text, 0, "a latency")
}

/// Parses a timeout in whole milliseconds, from 1 to [`MAX_MS`].
pub fn parse_timeout_ms(text: &str) -> Result<u64, String> {
    parse_ms(text, 1, "a timeout")
}

fn parse_ms(text: &str, min: u64, what: &str) -> Result<u64, String> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        if n < 0 {
            return Err(format!("{what} cannot be negative"));
        }
        let n = n as u64;
        if n < min {
            return Err(format!("{what} must be at least {min} ms"));
        }
        if n > MAX_MS {
            return Err(format!("{what} over {MAX_MS} ms (60 s) is not plausible; did you mean seconds?"));
        }
        return Ok(n);
    }
    Err(format!("{what} must be a whole number of milliseconds, from {min} to {MAX_MS}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_parser_rejects_negative_non_numeric_and_absurd_values() {
        assert_eq!(parse_latency_ms("0"), Ok(0));
        assert_eq!(parse_latency_ms("200"), Ok(200));
        assert_eq!(parse_latency_ms("-5").unwrap_err(), "a latency cannot be negative");
        assert!(parse_latency_ms("abc").unwrap_err().contains("whole number"));
        assert!(parse_latency_ms("1.5").unwrap_err().contains("whole number"));
        assert!(parse_latency_ms("60001").unwrap_err().contains("60000 ms"));
        assert!(parse_timeout_ms("0").unwrap_err().contains("at least 1 ms"));
    }

    #[test]
    fn urls_must_be_plain_http_with_host_and_port() {
        assert!(parse_http_url("--otlp-endpoint", "http://127.0.0.1:4317").is_ok());
        for bad in ["127.0.0.1:4317", "https://collector:4317", "http://collector", "not a url"] {
            let err = parse_http_url("--otlp-endpoint", bad).unwrap_err();
            assert_eq!(err.flag, "--otlp-endpoint", "{bad}");
        }
    }
}
