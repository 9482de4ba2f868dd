#!/usr/bin/env python3
"""Checks every manifest in deploy/kubernetes against the Kubernetes API's own types, as the
official Python client models them (no API server needed): each document is read into the model
of its apiVersion and kind, which refuses a missing required field, and written back; a field the
model does not know (a typo, a field at the wrong level) or a value of the wrong type does not
survive the round trip and is reported with its path.

  manifest_schema.py MANIFEST...
Prints one line per document and "manifest-schema: N passed, M failed".
"""
import json
import sys

import yaml
from kubernetes import client

MODELS = {
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "Namespace"): "V1Namespace",
    ("v1", "Secret"): "V1Secret",
    ("v1", "Service"): "V1Service",
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("apps/v1", "DaemonSet"): "V1DaemonSet",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("rbac.authorization.k8s.io/v1", "Role"): "V1Role",
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): "V1RoleBinding",
    ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): "V1CustomResourceDefinition",
}


def differences(original, written, path="$"):
    """Paths where the written-back document lost or changed what the manifest says."""
    if isinstance(original, dict):
        if not isinstance(written, dict):
            return [f"{path}: written back as {type(written).__name__}"]
        found = []
        for key, value in original.items():
            if key not in written:
                found.append(f"{path}.{key}: not a field of this type")
            else:
                found += differences(value, written[key], f"{path}.{key}")
        return found
    if isinstance(original, list):
        if not isinstance(written, list) or len(written) != len(original):
            return [f"{path}: list changed"]
        return [d for i, (a, b) in enumerate(zip(original, written)) for d in differences(a, b, f"{path}[{i}]")]
    if original != written and str(original) != str(written):
        return [f"{path}: {original!r} read as {written!r}"]
    return []


api = client.ApiClient()
passed = failed = 0
for manifest in sys.argv[1:]:
    for document in yaml.safe_load_all(open(manifest)):
        if not document:
            continue
        name = f"{manifest.split('/')[-1]}: {document.get('kind')} {document.get('metadata', {}).get('name')}"
        model = MODELS.get((document.get("apiVersion"), document.get("kind")))
        if model is None:
            failed += 1
            print(f"FAIL: {name}: no model for {document.get('apiVersion')} {document.get('kind')}")
            continue
        try:
            written = api.sanitize_for_serialization(api.deserialize(json.dumps(document), model, "application/json"))
            problems = differences(document, written)
        except (ValueError, TypeError) as error:
            problems = [" ".join(line.strip() for line in str(error).splitlines() if "errors.pydantic.dev" not in line)]
        if problems:
            failed += 1
            print(f"FAIL: {name} ({model}): " + "; ".join(problems))
        else:
            passed += 1
            print(f"PASS: {name} ({model})")
print(f"manifest-schema: {passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
