//! Records which releases of the crates under test the lock file resolved, so
//! every report can say exactly what it measured. `datafusion-tracing` has no
//! version constant of its own, and the affected/fixed comparison swaps its
//! release with `cargo update --precise`, so the lock file is the truth.

use std::{env, fs, path::Path};

const CRATES: &[(&str, &str)] = &[
    ("datafusion-tracing", "DROP_LAB_DATAFUSION_TRACING_VERSION"),
    ("datafusion", "DROP_LAB_DATAFUSION_VERSION"),
    ("opentelemetry_sdk", "DROP_LAB_OPENTELEMETRY_SDK_VERSION"),
    ("tracing-opentelemetry", "DROP_LAB_TRACING_OPENTELEMETRY_VERSION"),
];

fn main() {
    let lock = Path::new(&env::var("CARGO_MANIFEST_DIR").unwrap()).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock.display());
    let text = fs::read_to_string(&lock).unwrap_or_default();
    for (name, var) in CRATES {
        let version = locked_version(&text, name).unwrap_or_else(|| "unknown".to_owned());
        println!("cargo:rustc-env={var}={version}");
    }
}

/// The version of the first `[[package]]` named `name` in a Cargo.lock.
fn locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines.next()?.trim();
            return version
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}
