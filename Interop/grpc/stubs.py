"""Python stubs for the repository's Protos/, generated with grpcio-tools into a temporary folder
that is put on sys.path (shared by the interop and cluster scripts)."""
import os
import subprocess
import sys
import tempfile

PROTOS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Protos")


def load_stubs():
    out = tempfile.mkdtemp(prefix="warren-interop-")
    protos = [os.path.relpath(os.path.join(d, f), PROTOS)
              for d, _, files in os.walk(PROTOS) for f in files if f.endswith(".proto")]
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"--python_out={out}",
                    f"--grpc_python_out={out}", *protos], check=True)
    for package in ["cunicu", "cunicu/signaling", "cunicu/epdisc", "cunicu/pdisc", "cunicu/core"]:
        open(os.path.join(out, package, "__init__.py"), "a").close()
    sys.path.insert(0, out)
