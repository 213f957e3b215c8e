#!/usr/bin/env python3
"""e2e_check.py: grade the lab's JSON results with the physics, and check the
span counts against Jaeger's own query API rather than the lab's word.

Usage: e2e_check.py JAEGER_URL RESULT.json...

For every result file (one lab invocation: one query at one latency), and
every report of a sweep (make compare):
  * Simple, affected release (53.0.0): drop_ms >= 0.9 x spans x latency_ms
    when the latency is non-zero (each node span's end waits for one export
    round trip, and a round trip through the proxy is at least the injected
    latency);
  * Simple, fixed release: drop_ms < 20 ms, and execute_ms >= 0.9 x spans x
    latency_ms (the spans close at stream end: the cost moved, it did not
    vanish); a comparison must hold the affected release too;
  * Batch: drop_ms < 20 ms at every latency (a span end is a channel send);
  * Simple and Batch: spans == the query's plan_nodes (>= under a fixed
    release, which may open a node's span more than once),
    spans_in_backend == spans (the lab's claim), and Jaeger's
    GET /api/traces/{trace_id} returns exactly spans node spans plus one
    root span (the independent check);
  * Jaeger's GET /api/traces?service=drop-lab lists every trace id the
    results name.
Scenario files (`make scenario`):
  * outage: black-holed, Simple drop_ms >= 0.9 x spans x the export timeout
    (each export waits it out); refused, Simple drop_ms >= 0.9 x spans x
    100 ms (opentelemetry-otlp's first retry backoff); Batch drop_ms < 20 ms
    in every phase; Jaeger holds no span of a faulted run and every span of
    a healthy or restored one;
  * overflow: the tiny queue dropped spans, created == exported + failed +
    dropped, the default queue dropped none, and Jaeger holds exactly the
    exported spans of the burst's traces.
Prints a line per check; exits 1 if any fails. Standard library only.
"""

import json
import sys
import urllib.error
import urllib.parse
import urllib.request

BATCH_DROP_BOUND_MS = 20.0
SIMPLE_FRACTION = 0.9
HTTP_TIMEOUT_S = 10


def get(url):
    with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
        return json.load(response)


def jaeger_trace(jaeger, trace_id):
    """(node spans, root spans) of one trace, as Jaeger stores it; (0, 0)
    for a trace Jaeger never received (it answers 404)."""
    try:
        body = get(f"{jaeger}/api/traces/{trace_id}")
    except urllib.error.HTTPError as e:
        if e.code == 404:
            return 0, 0
        raise
    spans = [s for t in body.get("data") or [] for s in t.get("spans", [])]
    roots = sum(1 for s in spans if not s.get("references"))
    return len(spans) - roots, roots


FIRST_RETRY_BACKOFF_MS = 100.0
# datafusion-tracing releases that close node spans at plan drop (before
# upstream PR #54).
AFFECTED = {"53.0.0"}


def check_outage(report, check, jaeger):
    timeout = report["target"]["timeout_ms"]
    for phase in report["phases"]:
        label = phase["label"]
        for run in phase["runs"]:
            kind = run["processor"]
            tag = f"outage {label:11} {kind:6}"
            if kind == "none":
                continue
            ended = run["spans_ended"]
            if kind == "batch":
                check(run["drop_ms"] < BATCH_DROP_BOUND_MS, f"{tag}: drop {run['drop_ms']:.3f} ms < 20 ms")
            if label == "black-holed" and kind == "simple":
                bound = SIMPLE_FRACTION * ended * timeout
                check(run["drop_ms"] >= bound, f"{tag}: drop {run['drop_ms']:.1f} ms >= 0.9 x {ended} x {timeout} ms = {bound:.0f}")
            if label == "refused" and kind == "simple":
                bound = SIMPLE_FRACTION * ended * FIRST_RETRY_BACKOFF_MS
                check(run["drop_ms"] >= bound, f"{tag}: drop {run['drop_ms']:.1f} ms >= 0.9 x {ended} x 100 ms backoff = {bound:.0f}")
            children, roots = jaeger_trace(jaeger, run["trace_id"])
            if label in ("black-holed", "refused"):
                check(run["spans"] == 0 and children + roots == 0,
                      f"{tag}: {ended} spans ended, lab exported {run['spans']}, Jaeger holds {children + roots}")
            else:
                check(children == ended and run["spans"] == ended,
                      f"{tag}: {ended} spans ended, Jaeger holds {children} node spans")


def check_overflow(report, check, jaeger):
    for phase in report["phases"]:
        burst = phase["burst"]
        tag = f"overflow {phase['label']:13} queue {burst['max_queue_size']:4}"
        created, exported = burst["spans_created"], burst["spans_exported"]
        failed, dropped = burst["spans_failed"], burst["spans_dropped"]
        check(created == exported + failed + dropped,
              f"{tag}: created {created} == exported {exported} + failed {failed} + dropped {dropped}")
        if burst["max_queue_size"] < created:
            check(dropped > 0, f"{tag}: the full queue dropped {dropped} of {created} spans")
        else:
            check(dropped == 0, f"{tag}: a queue of {burst['max_queue_size']} dropped {dropped}")
        in_jaeger = sum(sum(jaeger_trace(jaeger, t)) for t in burst["trace_ids"])
        check(in_jaeger == exported, f"{tag}: Jaeger holds {in_jaeger} spans of the burst, lab exported {exported}")


def check_report(path, report, check, jaeger):
    """The physics of one report; returns the trace ids it names. Under the
    affected release Simple's cost lands in the drop; under a fixed one it
    lands in execution, and the drop is as short as Batch's."""
    query = report["query"]["name"]
    nodes = report["query"]["plan_nodes"]
    release = report["lab"]["datafusion_tracing"]
    affected = release in AFFECTED
    check(report["target"]["kind"] == "otlp-grpc", f"{path}: {query} target is otlp-grpc")
    trace_ids = []
    for run in report["runs"]:
        kind = run["processor"]
        latency = run["latency_ms"]
        tag = f"{release} {query} {kind:6} {latency:>4} ms #{run['repeat'] + 1}"
        if kind == "none":
            check(run["spans"] == 0 and run["trace_id"] is None, f"{tag}: exports nothing")
            continue
        spans = run["spans"]
        if affected:
            check(spans == nodes, f"{tag}: spans {spans} == plan nodes {nodes}")
        else:
            # 53.0.2 keeps a node's span only until its streams finish: a
            # partition executed after that opens a second span of the node.
            check(spans >= nodes, f"{tag}: spans {spans} >= plan nodes {nodes} (fixed release)")
        bound = SIMPLE_FRACTION * spans * latency
        if kind == "simple" and latency > 0 and affected:
            check(run["drop_ms"] >= bound, f"{tag}: drop {run['drop_ms']:.1f} ms >= 0.9 x {spans} x {latency} = {bound:.1f} ms")
        if kind == "simple" and latency > 0 and not affected:
            check(run["drop_ms"] < BATCH_DROP_BOUND_MS, f"{tag}: drop {run['drop_ms']:.3f} ms < 20 ms (fixed release)")
            check(run["execute_ms"] >= bound,
                  f"{tag}: execute {run['execute_ms']:.1f} ms >= 0.9 x {spans} x {latency} = {bound:.1f} ms (the cost moved)")
        if kind == "batch":
            check(run["drop_ms"] < BATCH_DROP_BOUND_MS, f"{tag}: drop {run['drop_ms']:.3f} ms < {BATCH_DROP_BOUND_MS:.0f} ms")
        check(run["spans_in_backend"] == spans, f"{tag}: lab says {run['spans_in_backend']} in Jaeger")
        children, roots = jaeger_trace(jaeger, run["trace_id"])
        check(children == spans and roots == 1,
              f"{tag}: Jaeger /api/traces/{run['trace_id']} has {children} node spans + {roots} root")
        trace_ids.append(run["trace_id"])
    return trace_ids


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    jaeger = argv[1].rstrip("/")
    failures = 0
    checks = 0

    def check(ok, what):
        nonlocal failures, checks
        checks += 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}")
        if not ok:
            failures += 1

    trace_ids = []
    releases = set()
    for path in argv[2:]:
        with open(path) as f:
            result = json.load(f)
        if "scenario" in result:
            {"outage": check_outage, "overflow": check_overflow}[result["scenario"]](result, check, jaeger)
            continue
        # A sweep (make compare, make sweep) holds one report per condition.
        for report in result["reports"] if "reports" in result else [result]:
            releases.add(report["lab"]["datafusion_tracing"])
            trace_ids += check_report(path, report, check, jaeger)
        if "reports" in result:
            check(len(result["rows"]) == sum(len(r["summary"]) for r in result["reports"]),
                  f"{path}: one row per report and processor")
    if any(r not in AFFECTED for r in releases):
        check(AFFECTED & releases, f"the comparison has the affected release too ({sorted(releases)})")

    # The search API, as the UI's search page uses it.
    params = urllib.parse.urlencode({"service": "drop-lab", "limit": 1000, "lookback": "1h"})
    # Jaeger prints the high half of a trace id without leading zeros.
    listed = {t["traceID"].lstrip("0") for t in get(f"{jaeger}/api/traces?{params}").get("data") or []}
    missing = [t for t in trace_ids if t.lstrip("0") not in listed]
    check(not missing, f"Jaeger search service=drop-lab lists all {len(trace_ids)} run traces"
          + (f" (missing {missing})" if missing else ""))

    # The plain closing line a CI reads: "e2e: N passed, N failed".
    print(f"e2e: {checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
