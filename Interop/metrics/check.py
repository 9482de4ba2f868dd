#!/usr/bin/env python3
"""Checks a `warren up` /metrics page with an independent parser (prometheus_client's): every
metric the daemon documents is there with its type and labels, and the page parses as a whole.

  check.py URL [DASHBOARD.json]   prints "metrics-check: N passed, M failed"

With a dashboard, every metric name its queries use must be on the page.
"""
import json
import re
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

PEER = {"peer", "key"}
EXPECTED = {
    # family name (as the parser names it): (type, label names beyond the sample's own)
    "warren_peer_state": ("gauge", PEER | {"state"}),
    "warren_peer_connected": ("gauge", PEER),
    "warren_peer_path": ("gauge", PEER | {"path"}),
    "warren_peer_data_path": ("gauge", PEER | {"data_path"}),
    "warren_peer_rtt_seconds": ("gauge", PEER),
    "warren_peer_sent_bytes": ("counter", PEER),
    "warren_peer_received_bytes": ("counter", PEER),
    "warren_peer_sent_datagrams": ("counter", PEER),
    "warren_peer_received_datagrams": ("counter", PEER),
    "warren_peer_restarts": ("counter", PEER | {"cause"}),
    "warren_peer_dropped_messages": ("counter", PEER | {"reason"}),
    "warren_peer_last_signal_age_seconds": ("gauge", PEER),
    "warren_backend_envelopes_published": ("counter", {"backend"}),
    "warren_backend_envelopes_publish_failed": ("counter", {"backend"}),
    "warren_backend_envelopes_received": ("counter", {"backend"}),
    "warren_backend_envelopes_refused": ("counter", {"backend", "reason"}),
    "warren_discovery_learned_peers": ("gauge", {"interface"}),
    "warren_discovery_refusals": ("counter", {"interface", "reason"}),
    "process_cpu_seconds": ("counter", set()),
    "process_resident_memory_bytes": ("gauge", set()),
    "process_open_fds": ("gauge", set()),
    "process_start_time_seconds": ("gauge", set()),
}


def main():
    text = urllib.request.urlopen(sys.argv[1], timeout=5).read().decode()
    families = {family.name: family for family in text_string_to_metric_families(text)}
    passed = failed = 0
    for name, (kind, labels) in EXPECTED.items():
        family = families.get(name)
        problem = None
        if family is None:
            problem = "missing"
        elif family.type != kind:
            problem = f"type {family.type}, expected {kind}"
        elif not family.samples:
            problem = "no samples"
        elif any(set(sample.labels) != labels for sample in family.samples):
            problem = f"labels {sorted(set(family.samples[0].labels))}, expected {sorted(labels)}"
        if problem:
            failed += 1
            print(f"FAIL: {name}: {problem}")
        else:
            passed += 1
    print(f"PASS: {passed} metric families with their types and labels ({sum(len(f.samples) for f in families.values())} samples on the page)")
    if len(sys.argv) > 2:
        dashboard = json.load(open(sys.argv[2]))
        expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
        used = {name for expression in expressions for name in re.findall(r"\b(?:warren|process)_[a-z_]+", expression)}
        names = {sample.name for family in families.values() for sample in family.samples}
        missing = sorted(used - names)
        if missing:
            failed += 1
            print(f"FAIL: the dashboard queries metrics the daemon does not export: {missing}")
        else:
            passed += 1
            print(f"PASS: all {len(used)} metrics the dashboard's {len(expressions)} queries use are exported")
    print(f"metrics-check: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
