#!/usr/bin/env python3
"""Checks deploy/kubernetes/signal-cluster.yaml against itself and against `warren signal`
(no API server needed): every option the Deployment passes exists in `warren signal --help`; the
ports the probes, the Service and the options name agree; the files the options read are the
Secret's items under the volume's mount; the selectors match the pod's labels.

  manifests.py MANIFEST WARREN_BINARY
Prints one line per check and "manifests: N passed, M failed".
"""
import subprocess
import sys

import yaml

manifest, warren = sys.argv[1], sys.argv[2]
documents = {d["kind"]: d for d in yaml.safe_load_all(open(manifest)) if d}
help_text = subprocess.run([warren, "signal", "--help"], capture_output=True, text=True, check=True).stdout
passed = failed = 0


def check(condition, text):
    global passed, failed
    if condition:
        passed += 1
        print(f"PASS: {text}")
    else:
        failed += 1
        print(f"FAIL: {text}")


check(set(documents) == {"Secret", "Deployment", "Service"}, f"a Secret, a Deployment and a Service ({sorted(documents)})")
deployment, service, secret = documents["Deployment"], documents["Service"], documents["Secret"]
check(deployment["spec"]["replicas"] == 3, "three replicas")
pod = deployment["spec"]["template"]
container = pod["spec"]["containers"][0]
args = container["args"]
check(args[0] == "signal", "the container runs `warren signal`")
options = dict(a[2:].split("=", 1) for a in args[1:])
unknown = [o for o in options if f"--{o} " not in help_text and f"--{o}\n" not in help_text]
check(not unknown, f"every option exists in `warren signal --help` (unknown: {unknown})")
ports = {p["name"]: p["containerPort"] for p in container["ports"]}
check(options["listen"].endswith(f":{ports['grpc']}"), f"--listen {options['listen']} is the grpc port {ports['grpc']}")
check(options["metrics"].endswith(f":{ports['metrics']}") and not options["metrics"].startswith("127."),
      f"--metrics {options['metrics']} is the metrics port, reachable by the kubelet")
check(container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "metrics"}, "readiness: GET /ready on the metrics port")
check(container["livenessProbe"]["httpGet"]["port"] == "metrics", "liveness on the metrics port")
check(options["cluster"].startswith("postgres://") and ":" not in options["cluster"].split("@")[0][len("postgres://"):],
      "--cluster is a postgres:// URL without a password")
mount = container["volumeMounts"][0]
volume = next(v for v in pod["spec"]["volumes"] if v["name"] == mount["name"])
files = {f"{mount['mountPath']}/{item['path']}": item["key"] for item in volume["secret"]["items"]}
check(volume["secret"]["secretName"] == secret["metadata"]["name"], "the volume is the Secret")
for option in ["key-file", "cluster-password-file"]:
    path = options[option]
    check(path in files and files[path] in secret["stringData"], f"--{option} {path} is the Secret's {files.get(path)}")
labels = pod["metadata"]["labels"]
check(all(labels.get(k) == v for k, v in deployment["spec"]["selector"]["matchLabels"].items()), "the Deployment's selector matches its pods")
check(all(labels.get(k) == v for k, v in service["spec"]["selector"].items()), "the Service's selector matches the pods")
check(all(p["targetPort"] in ports for p in service["spec"]["ports"]), "the Service's target ports are the container's")
check(len({d["metadata"]["namespace"] for d in documents.values()}) == 1, "one namespace")
print(f"manifests: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
