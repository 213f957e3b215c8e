//! Shared by the test files: building a lab configuration without the CLI.

#![allow(dead_code)]

use std::time::Duration;

use drop_lab::{
    config::{Config, ProcessorKind, QuerySpec, TargetConfig},
    receiver::Receiver,
    workload,
};

/// A configuration that runs the named `query` under `processors`, once each.
pub fn config(query: &str, processors: &[ProcessorKind], target: TargetConfig) -> Config {
    Config {
        query: QuerySpec::Named(workload::find_query(query).expect("a named query")),
        processors: processors.to_vec(),
        repeat: 1,
        target,
        proxy: None,
        jaeger: None,
        json: None,
        scenario: None,
    }
}

/// Export over real OTLP/gRPC to an in-process receiver.
pub fn over_grpc(receiver: &Receiver) -> TargetConfig {
    TargetConfig::Otlp {
        endpoint: receiver.endpoint().parse().expect("the receiver's endpoint is a URL"),
        timeout: Duration::from_secs(5),
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
