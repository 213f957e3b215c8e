//! The real binary: bad input gives one line that names the flag and exit
//! status 2, within a bound; good input gives the table and the JSON file.

use std::{
    net::TcpListener,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

/// Runs `drop-lab` with `args`, killing it if it outlives `bound`.
fn drop_lab(args: &[&str], bound: Duration) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_drop-lab"));
    command.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, _) in std::env::vars() {
        if key.starts_with("DROP_LAB_") || key.starts_with("OTEL_") {
            command.env_remove(key);
        }
    }
    let mut child = command.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > bound {
            child.kill().unwrap();
            panic!("drop-lab {args:?} still running after {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Asserts exit status 2 and a single stderr line naming `flag`.
fn rejects(args: &[&str], flag: &str) {
    let out = drop_lab(args, Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line, got:\n{stderr}");
    assert!(stderr.contains(flag), "{args:?}: '{flag}' not named in: {stderr}");
}

#[test]
fn an_unknown_query_is_rejected_by_name() {
    rejects(&["--query", "nope"], "--query");
}

#[test]
fn invalid_sql_is_rejected_naming_sql() {
    rejects(&["--sql", "SELEC nonsense FROM nowhere"], "--sql");
    rejects(&["--sql", "SELECT missing_column FROM my_table"], "--sql");
}

#[test]
fn a_malformed_endpoint_is_rejected() {
    rejects(&["--otlp-endpoint", "not a url"], "--otlp-endpoint");
    rejects(&["--otlp-endpoint", "localhost:4317"], "--otlp-endpoint");
}

#[test]
fn negative_non_numeric_and_absurd_latencies_are_rejected() {
    for bad in ["-5", "abc", "60001", "2.5"] {
        rejects(&["--simulated-latency-ms", bad], "--simulated-latency-ms");
    }
}

#[test]
fn an_unknown_scenario_is_rejected() {
    rejects(&["--scenario", "nope"], "--scenario");
}

/// A scenario that changes the network needs Toxiproxy, and says so.
#[test]
fn a_network_scenario_without_toxiproxy_is_rejected() {
    rejects(&["--scenario", "outage", "--simulated-latency-ms", "1"], "--scenario");
}

/// `drop-lab scenarios` lists every scenario, one line each.
#[test]
fn scenarios_lists_every_scenario() {
    let out = drop_lab(&["scenarios"], Duration::from_secs(30));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["outage", "jitter", "bandwidth", "overflow", "offthread", "stall"] {
        assert_eq!(stdout.lines().filter(|l| l.starts_with(name)).count(), 1, "{name} in:\n{stdout}");
    }
}

#[test]
fn zero_repeats_are_rejected() {
    rejects(&["--repeat", "0"], "--repeat");
}

#[test]
fn an_unknown_processor_is_rejected() {
    rejects(&["--processors", "simple,fast"], "--processors");
}

/// Nothing listens: the probe fails within the export timeout.
#[test]
fn an_unreachable_endpoint_fails_within_the_timeout() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let start = Instant::now();
    rejects(&["--otlp-endpoint", &endpoint, "--otlp-timeout-ms", "500"], "--otlp-endpoint");
    // 500 ms of export timeout, plus process start and planning.
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
}

/// Something accepts connections but never answers: the export timeout
/// still bounds the wait.
#[test]
fn a_silent_endpoint_fails_within_the_timeout() {
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let start = Instant::now();
    rejects(&["--otlp-endpoint", &endpoint, "--otlp-timeout-ms", "500"], "--otlp-endpoint");
    assert!(start.elapsed() < Duration::from_secs(10), "took {:?}", start.elapsed());
    drop(silent);
}

/// `drop-lab queries` lists every named query with its node count.
#[test]
fn queries_lists_the_named_queries_with_their_node_counts() {
    let out = drop_lab(&["queries"], Duration::from_secs(30));
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let seed = stdout.lines().find(|l| l.starts_with("seed ")).expect("a seed line");
    assert_eq!(seed.split_whitespace().nth(1), Some("6"), "{seed}");
    for name in ["join", "report"] {
        assert!(stdout.lines().any(|l| l.starts_with(name)), "{name} missing from:\n{stdout}");
    }
}

/// A simulated run prints the table and writes the documented JSON fields.
#[test]
fn a_simulated_run_prints_the_table_and_writes_the_json_schema() {
    let dir = std::env::temp_dir().join(format!("drop-lab-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("run.json");
    let out = drop_lab(
        &["--query", "seed", "--simulated-latency-ms", "10", "--json", json.to_str().unwrap()],
        Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for row in ["none", "simple", "batch"] {
        assert!(stdout.lines().any(|l| l.starts_with(row)), "no {row} row in:\n{stdout}");
    }

    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(v["lab"]["datafusion_tracing"], "53.0.0");
    assert_eq!(v["query"]["name"], "seed");
    assert_eq!(v["query"]["plan_nodes"], 6);
    assert_eq!(v["target"]["kind"], "simulated");
    let runs = v["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    for run in runs {
        for key in [
            "processor", "latency_ms", "export_rtt_ms", "spans", "execute_ms", "drop_ms",
            "predicted_drop_ms", "flush_ms", "spans_in_backend", "trace_id",
        ] {
            assert!(run.get(key).is_some(), "run lacks {key}: {run}");
        }
        assert!(run["spans_in_backend"].is_null());
        assert_eq!(run["latency_ms"], 10);
    }
    let simple = runs.iter().find(|r| r["processor"] == "simple").unwrap();
    assert_eq!(simple["spans"], 6);
    assert!(simple["drop_ms"].as_f64().unwrap() >= 0.9 * 6.0 * 10.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The compose file always passes `DROP_LAB_SCENARIO`; empty means the plain
/// comparison.
#[test]
fn an_empty_scenario_variable_runs_the_plain_comparison() {
    let out = Command::new(env!("CARGO_BIN_EXE_drop-lab"))
        .args(["--processors", "none", "--simulated-latency-ms", "0"])
        .env("DROP_LAB_SCENARIO", "")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).lines().any(|l| l.starts_with("none")));
}
