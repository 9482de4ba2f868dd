"""The official Kubernetes Python client against Warren's test API server.

  python_client.py watch KUBECONFIG NAMESPACE COUNT
      watch.Watch() over signalingenvelopes; prints "watching" once the stream is open, then one
      JSON line per ADDED event (name, sender, recipient, body, nonce) until COUNT were seen.
  python_client.py create KUBECONFIG NAMESPACE FILE
      creates the SignalingEnvelope in FILE (JSON) and prints the name the server gave it.
"""
import json
import sys

from kubernetes import client, config, watch

GROUP, VERSION, PLURAL = "cunicu.li", "v1", "signalingenvelopes"


def api(kubeconfig):
    config.load_kube_config(config_file=kubeconfig)
    return client.CustomObjectsApi()


def watch_envelopes(kubeconfig, namespace, count):
    objects = api(kubeconfig)
    # The list's resource version, so that the watch starts at what exists now.
    listed = objects.list_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL)
    print("watching", flush=True)
    seen = 0
    stream = watch.Watch().stream(
        objects.list_namespaced_custom_object, GROUP, VERSION, namespace, PLURAL,
        resource_version=listed["metadata"]["resourceVersion"], allow_watch_bookmarks=True, timeout_seconds=50)
    for event in stream:
        if event["type"] != "ADDED":
            continue
        envelope = event["object"]
        print(json.dumps({
            "name": envelope["metadata"]["name"], "sender": envelope["sender"], "recipient": envelope["recipient"],
            "body": envelope["contents"]["body"], "nonce": envelope["contents"]["nonce"],
        }), flush=True)
        seen += 1
        if seen == count:
            return 0
    print(f"the watch ended after {seen} of {count} envelopes", file=sys.stderr)
    return 1


def create(kubeconfig, namespace, path):
    with open(path) as file:
        body = json.load(file)
    created = api(kubeconfig).create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, body)
    print(created["metadata"]["name"], flush=True)
    return 0


if __name__ == "__main__":
    mode, kubeconfig, namespace, argument = sys.argv[1:5]
    if mode == "watch":
        sys.exit(watch_envelopes(kubeconfig, namespace, int(argument)))
    sys.exit(create(kubeconfig, namespace, argument))
