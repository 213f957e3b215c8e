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

use toxiproxy_rust::client::Client;

use crate::{LabError, config::ConfigError, config::ProxyConfig};

/// The stream the latency toxic sits on (see the module docs).
pub const LATENCY_STREAM: &str = "downstream";
/// How long the lab waits for the Toxiproxy API to accept connections.
const API_WAIT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A latency toxic the lab installed. Call [`LatencyToxic::clear`]; if it is
/// dropped without, the proxy is reset from the destructor.
#[derive(Debug)]
pub struct LatencyToxic {
    config: Option<ProxyConfig>,
}

impl LatencyToxic {
    /// Resets the proxy and, for a latency above zero, adds the toxic.
    pub async fn apply(config: &ProxyConfig) -> Result<LatencyToxic, LabError> {
        let owned = config.clone();
        blocking(move || reset(&owned).map(|_| ())).await?;
        // From here on something may be installed: the guard owns cleanup.
        let toxic = LatencyToxic { config: Some(config.clone()) };
        let owned = config.clone();
        blocking(move || add_latency(&owned)).await?;
        Ok(toxic)
    }

    /// Removes the lab's toxics and re-enables the proxy.
    pub async fn clear(mut self) -> Result<(), LabError> {
        let config = self.config.take().expect("cleared once");
        blocking(move || reset(&config).map(|_| ())).await
    }
}

impl Drop for LatencyToxic {
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

fn reset(config: &ProxyConfig) -> Result<toxiproxy_rust::proxy::Proxy, ConfigError> {
    wait_for_api(config.api)?;
    let client = Client::new(config.api);
    client.find_and_reset_proxy(&config.proxy).map_err(|e| {
        let known = client.all().map(|all| all.into_keys().collect::<Vec<_>>().join(", ")).unwrap_or_default();
        ConfigError::new("--proxy", format!("Toxiproxy at {} has no usable proxy '{}' (known: {known}): {e}", config.api_text, config.proxy))
    })
}

fn add_latency(config: &ProxyConfig) -> Result<(), ConfigError> {
    let proxy = Client::new(config.api).find_proxy(&config.proxy).map_err(|e| ConfigError::new("--proxy", e))?;
    let latency_ms = config.latency.as_millis() as u32;
    if latency_ms == 0 {
        return Ok(());
    }
    proxy.with_latency(LATENCY_STREAM.to_owned(), latency_ms, 0, 1.0);
    // The client ignores the HTTP status of a toxic creation: check that
    // the toxic is really there, with our latency.
    let toxics = proxy
        .toxics()
        .map_err(|e| ConfigError::new("--toxiproxy-url", format!("cannot list toxics: {e}")))?;
    let installed = toxics.iter().any(|t| {
        t.r#type == "latency" && t.stream == LATENCY_STREAM && t.attributes.get("latency") == Some(&latency_ms)
    });
    if installed {
        Ok(())
    } else {
        Err(ConfigError::new(
            "--latency-ms",
            format!("Toxiproxy did not install a {latency_ms} ms latency toxic on '{}'", config.proxy),
        ))
    }
}
