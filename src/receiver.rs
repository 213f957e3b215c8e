//! An in-process OTLP/gRPC collector for hermetic tests: a real tonic
//! `TraceService` on 127.0.0.1:0 that holds every export request for a set
//! delay before answering, and counts what it received.
//!
//! It speaks the same protocol as Jaeger's OTLP receiver, so the exporter,
//! the channel and the processors under test are the real ones; only the
//! network latency is injected here instead of by Toxiproxy. It is a test
//! fixture, never a stand-in for the end-to-end stack.
//!
//! It runs on a runtime of its own so that a test may block any other thread
//! (that is what a `SimpleSpanProcessor` does) without stopping the server.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use opentelemetry_proto::tonic::collector::trace::v1::{
    ExportTraceServiceRequest, ExportTraceServiceResponse,
    trace_service_server::{TraceService, TraceServiceServer},
};
use tokio::sync::oneshot;
use tonic::{Request, Response, Status, transport::Server, transport::server::TcpIncoming};

use crate::export::ExportRuntime;

#[derive(Debug, Default)]
struct State {
    requests: AtomicUsize,
    spans: AtomicUsize,
    /// Per trace id (lowercase hex): spans with a parent, spans without.
    traces: Mutex<HashMap<String, (usize, usize)>>,
}

struct Service {
    delay: Duration,
    state: Arc<State>,
}

#[tonic::async_trait]
impl TraceService for Service {
    async fn export(
        &self,
        request: Request<ExportTraceServiceRequest>,
    ) -> Result<Response<ExportTraceServiceResponse>, Status> {
        // The injected collector latency: every request is answered late.
        tokio::time::sleep(self.delay).await;
        let request = request.into_inner();
        let mut traces = self.state.traces.lock().unwrap_or_else(|p| p.into_inner());
        let spans = request.resource_spans.iter().flat_map(|r| &r.scope_spans).flat_map(|s| &s.spans);
        for span in spans {
            self.state.spans.fetch_add(1, Ordering::Relaxed);
            let entry = traces.entry(hex(&span.trace_id)).or_default();
            if span.parent_span_id.is_empty() {
                entry.1 += 1;
            } else {
                entry.0 += 1;
            }
        }
        self.state.requests.fetch_add(1, Ordering::Relaxed);
        Ok(Response::new(ExportTraceServiceResponse { partial_success: None }))
    }
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    addr: SocketAddr,
    state: Arc<State>,
    shutdown: Option<oneshot::Sender<()>>,
    _runtime: ExportRuntime,
}

impl Receiver {
    /// Starts a receiver on 127.0.0.1 (a free port) that answers each
    /// export request after `delay`.
    pub fn start(delay: Duration) -> std::io::Result<Receiver> {
        let runtime = ExportRuntime::new()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State::default());
        let service = Service { delay, state: Arc::clone(&state) };
        let (shutdown, stopped) = oneshot::channel::<()>();
        let listener = {
            let _enter = runtime.handle().enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        runtime.handle().spawn(async move {
            let served = Server::builder()
                .add_service(TraceServiceServer::new(service))
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                })
                .await;
            if let Err(e) = served {
                eprintln!("drop-lab receiver: {e}");
            }
        });
        Ok(Receiver { addr, state, shutdown: Some(shutdown), _runtime: runtime })
    }

    /// `http://127.0.0.1:PORT`, for `--otlp-endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Export requests answered so far.
    pub fn requests(&self) -> usize {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Spans received so far, all traces.
    pub fn spans(&self) -> usize {
        self.state.spans.load(Ordering::Relaxed)
    }

    /// Spans received for one trace: (with a parent, without).
    pub fn trace_spans(&self, trace_id: &str) -> (usize, usize) {
        let traces = self.state.traces.lock().unwrap_or_else(|p| p.into_inner());
        traces.get(trace_id).copied().unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
