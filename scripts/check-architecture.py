#!/usr/bin/env python3
"""Checks docs/architecture.md and every `import` against the package graph.

Usage: scripts/check-architecture.py [DESCRIBE_JSON]

Reads the graph from `swift package describe --type json` (or from DESCRIBE_JSON) and fails,
naming each difference, when
- a module's row in docs/architecture.md lists a dependency the target does not declare, or leaves
  out one it does (every target edge and every external product: the doc is the graph, with a
  reason for each edge);
- a library or executable target has no row, or a row names a target that does not exist;
- a source file imports a module its target does not declare (it builds only because another
  dependency brings it in, and breaks when that one changes).

In the doc's tables the first column is the module in backticks (empty in a row that continues the
one above) and the second lists its dependencies, comma-separated: Warren's modules without the
`Warren` prefix (`Primitives` is `WarrenPrimitives`), other packages' products by product name
(`NIOCore`, `GRPCCore`); a name followed by its package in parentheses is always a product
(`Crypto (swift-crypto)`, not `WarrenCrypto`). `—` means none.
"""

import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "architecture.md")
# Modules of the toolchain and the system, which no target declares.
SYSTEM_MODULES = {
    "Foundation", "FoundationEssentials", "Glibc", "Musl", "Darwin", "Dispatch", "Synchronization",
    "_Concurrency", "Testing", "XCTest", "CoreFoundation", "os",
}


def load_graph(path):
    if path:
        with open(path) as f:
            text = f.read()
    else:
        text = subprocess.run(
            ["swift", "package", "describe", "--type", "json"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout
    described = json.loads(text)
    graph = {}
    for target in described["targets"]:
        graph[target["name"]] = {
            "type": target["type"],
            "path": target["path"],
            "targets": set(target.get("target_dependencies", [])),
            "products": set(target.get("product_dependencies", [])),
        }
    return graph


def doc_rows(targets):
    """Each documented module and the dependencies its rows list, and the problems in reading them."""
    rows, problems, module = {}, [], None
    with open(DOC) as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.startswith("|") or set(line) <= set("|- "):
            module = None if not line.startswith("|") else module
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) < 3 or cells[0] == "module":
            continue
        if cells[0]:
            name = cells[0].strip("`")
            if name not in targets:
                problems.append(f"docs/architecture.md:{number}: `{name}` is not a target of Package.swift")
                module = None
                continue
            module = name
            rows.setdefault(module, set())
        elif module is None:
            continue
        for part in cells[1].split(","):
            # `Crypto (swift-crypto)` is a product; a bare `Crypto` is WarrenCrypto.
            item, product = re.sub(r"\([^)]*\)", "", part).strip().strip("`"), "(" in part
            if item in ("", "—"):
                continue
            rows[module].add(item if product or "Warren" + item not in targets else "Warren" + item)
    return rows, problems


def imports_of(directory):
    found = {}
    for folder, _, files in os.walk(directory):
        for file in files:
            if not file.endswith(".swift"):
                continue
            path = os.path.join(folder, file)
            with open(path) as f:
                for number, line in enumerate(f, 1):
                    match = re.match(r"\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:public |internal |package |private |fileprivate )?import (?:(?:struct|class|enum|func|protocol|typealias|var|let) )?(\w+)", line)
                    if match:
                        found.setdefault(match.group(1), f"{os.path.relpath(path, ROOT)}:{number}")
    return found


def main():
    graph = load_graph(sys.argv[1] if len(sys.argv) > 1 else None)
    rows, problems = doc_rows(graph)
    for name, target in sorted(graph.items()):
        if target["type"] == "test":
            continue
        declared = target["targets"] | target["products"]
        if name not in rows:
            problems.append(f"{name}: no row in docs/architecture.md")
        else:
            for missing in sorted(declared - rows[name]):
                problems.append(f"{name} depends on {missing} (Package.swift), which docs/architecture.md does not say")
            for extra in sorted(rows[name] - declared):
                problems.append(f"{name}: docs/architecture.md says it depends on {extra}, which Package.swift does not declare")
    for name, target in sorted(graph.items()):
        declared = target["targets"] | target["products"] | {name} | SYSTEM_MODULES
        for module, where in sorted(imports_of(os.path.join(ROOT, target["path"])).items()):
            if module not in declared:
                problems.append(f"{where}: {name} imports {module}, which its target does not declare")
    for problem in problems:
        print(problem)
    edges = sum(len(t["targets"]) + len(t["products"]) for t in graph.values() if t["type"] != "test")
    if problems:
        print(f"architecture: {len(problems)} problems")
        return 1
    print(f"architecture: {len(rows)} modules, {edges} edges and every import agree with Package.swift")
    return 0


if __name__ == "__main__":
    sys.exit(main())
