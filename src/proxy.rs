//! Toxiproxy control: the lab puts real network latency on the OTLP stream
//! between itself and the collector, and takes it off again.
//!
//! What `--latency-ms N` means: a `latency` toxic on the proxy's
//! **downstream** stream (collector to lab), so every chunk the collector
//! sends back reaches the lab N ms later. A unary OTLP export waits for its
//! response, so each export round trip grows by N ms. Toxiproxy delays each
//! chunk relative to its own arrival, not cumulatively, so a response split
//! in several frames still costs N once.
//!
//! The failure-mode scenarios put a [`Fault`] on top: jitter on the same
//! toxic, a black hole or a bandwidth limit on the **upstream** stream (the
//! lab's requests), or the whole proxy disabled.
//!
//! `toxiproxy_rust` is a blocking client (blocking `reqwest`, which must not
//! run on an async runtime thread), and it panics on transport errors, so
//! every call here runs on a blocking thread and panics are caught and turned
//! into errors that name the flag. A re-run never fails on a leftover: the
//! proxy is reset (toxics removed, proxy enabled) before the toxic is added,
//! and again when the lab is done, on error too.

use std::{
    net::{SocketAddr, TcpStream},
    panic::{AssertUnwindSafe, catch_unwind},
    time::{Duration, Instant},
};

use toxiproxy_rust::{client::Client, proxy::Proxy};

use crate::{LabError, config::ConfigError, config::ProxyConfig};

/// The stream the latency toxic sits on (see the module docs).
pub const LATENCY_STREAM: &str = "downstream";
/// The stream that carries the lab's export requests to the collector:
/// where a black hole or a bandwidth limit bites.
pub const REQUEST_STREAM: &str = "upstream";
/// How long the lab waits for the Toxiproxy API to accept connections.
const API_WAIT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// What the proxy does to the OTLP stream, on top of the configured latency.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Nothing more: latency only.
    None,
    /// The latency varies by up to this many ms either way.
    Jitter(u32),
    /// Requests are swallowed and the connection held open (a `timeout`
    /// toxic with timeout 0 on the request stream): the collector is there
    /// but never answers.
    BlackHole,
    /// The proxy is disabled: connections are refused.
    Refused,
    /// The request stream is limited to this many KB/s.
    Bandwidth(u32),
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::Jitter(ms) => write!(f, "jitter +/-{ms} ms"),
            Fault::BlackHole => write!(f, "black hole ({REQUEST_STREAM} timeout toxic, timeout 0)"),
            Fault::Refused => f.write_str("refused (proxy disabled)"),
            Fault::Bandwidth(kbps) => write!(f, "bandwidth {kbps} KB/s on {REQUEST_STREAM}"),
        }
    }
}

/// The proxy, while the lab may have changed it. [`ProxyControl::clear`]
/// resets it; if it is dropped without, the destructor does.
#[derive(Debug)]
pub struct ProxyControl {
    config: Option<ProxyConfig>,
}

impl ProxyControl {
    /// Waits for the API and resets the proxy (toxics removed, enabled), so
    /// a leftover from an earlier run never gets in the way.
    pub async fn take(config: &ProxyConfig) -> Result<ProxyControl, LabError> {
        let owned = config.clone();
        blocking(move || reset(&owned).map(|_| ())).await?;
        Ok(ProxyControl { config: Some(config.clone()) })
    }

    fn config(&self) -> &ProxyConfig {
        self.config.as_ref().expect("present until cleared")
    }

    /// Resets the proxy, then puts the configured latency and `fault` on it,
    /// and checks that Toxiproxy really installed them.
    pub async fn set(&self, fault: Fault) -> Result<(), LabError> {
        let config = self.config().clone();
        blocking(move || {
            let proxy = reset(&config)?;
            apply(&config, &proxy, fault)
        })
        .await
    }

    /// Removes the lab's toxics and re-enables the proxy.
    pub async fn clear(mut self) -> Result<(), LabError> {
        let config = self.config.take().expect("cleared once");
        blocking(move || reset(&config).map(|_| ())).await
    }
}

impl Drop for ProxyControl {
    fn drop(&mut self) {
        if let Some(config) = self.config.take() {
            // Last resort on an early return or a panic: a plain thread may
            // block even when the destructor runs on an async worker.
            let _ = std::thread::spawn(move || reset(&config)).join();
        }
    }
}

async fn blocking(f: impl FnOnce() -> Result<(), ConfigError> + Send + 'static) -> Result<(), LabError> {
    tokio::task::spawn_blocking(move || {
        catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "the Toxiproxy client panicked".to_owned());
            Err(ConfigError::new("--toxiproxy-url", text))
        })
    })
    .await
    .map_err(|e| LabError::Runtime(e.into()))?
    .map_err(LabError::from)
}

/// Waits, within [`API_WAIT`], until the API accepts TCP connections.
fn wait_for_api(api: SocketAddr) -> Result<(), ConfigError> {
    let deadline = Instant::now() + API_WAIT;
    loop {
        match TcpStream::connect_timeout(&api, CONNECT_TIMEOUT) {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() >= deadline => {
                return Err(ConfigError::new(
                    "--toxiproxy-url",
                    format!("no Toxiproxy API at {api} after {} s: {e}", API_WAIT.as_secs()),
                ));
            }
            // A refused connection answers at once: pace the retries.
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn reset(config: &ProxyConfig) -> Result<Proxy, ConfigError> {
    wait_for_api(config.api)?;
    let client = Client::new(config.api);
    client.find_and_reset_proxy(&config.proxy).map_err(|e| {
        let known = client.all().map(|all| all.into_keys().collect::<Vec<_>>().join(", ")).unwrap_or_default();
        ConfigError::new("--proxy", format!("Toxiproxy at {} has no usable proxy '{}' (known: {known}): {e}", config.api_text, config.proxy))
    })
}

fn apply(config: &ProxyConfig, proxy: &Proxy, fault: Fault) -> Result<(), ConfigError> {
    let latency_ms = config.latency.as_millis() as u32;
    let jitter_ms = match fault {
        Fault::Jitter(ms) => ms,
        _ => 0,
    };
    // (toxic type, stream, attribute, value): checked after creation.
    let mut wanted: Vec<(&str, &str, &str, u32)> = Vec::new();
    if latency_ms > 0 || jitter_ms > 0 {
        proxy.with_latency(LATENCY_STREAM.to_owned(), latency_ms, jitter_ms, 1.0);
        wanted.push(("latency", LATENCY_STREAM, "latency", latency_ms));
    }
    match fault {
        Fault::None | Fault::Jitter(_) => {}
        Fault::BlackHole => {
            proxy.with_timeout(REQUEST_STREAM.to_owned(), 0, 1.0);
            wanted.push(("timeout", REQUEST_STREAM, "timeout", 0));
        }
        Fault::Bandwidth(kbps) => {
            proxy.with_bandwidth(REQUEST_STREAM.to_owned(), kbps, 1.0);
            wanted.push(("bandwidth", REQUEST_STREAM, "rate", kbps));
        }
        Fault::Refused => {
            proxy
                .disable()
                .map_err(|e| ConfigError::new("--toxiproxy-url", format!("cannot disable proxy '{}': {e}", config.proxy)))?;
        }
    }
    // The client ignores the HTTP status of a toxic creation: check that
    // every toxic is really there, with our values.
    let toxics = proxy
        .toxics()
        .map_err(|e| ConfigError::new("--toxiproxy-url", format!("cannot list toxics: {e}")))?;
    for (kind, stream, attribute, value) in wanted {
        let installed = toxics
            .iter()
            .any(|t| t.r#type == kind && t.stream == stream && t.attributes.get(attribute) == Some(&value));
        if !installed {
            return Err(ConfigError::new(
                "--toxiproxy-url",
                format!("Toxiproxy did not install the {kind} toxic ({attribute} {value}) on '{}'", config.proxy),
            ));
        }
    }
    Ok(())
}
