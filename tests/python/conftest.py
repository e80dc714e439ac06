"""Shared fixtures of the Python tests: the reference folder (BMX_SHARED, else BMX_SHARED_DEFAULT = ../shared),
the built `bmx` (BMX_EXE) to compare with, and a scratch folder. CTest sets all three (tests/python/CMakeLists.txt)."""
import json
import os
import subprocess
from pathlib import Path

import pytest


def shared_dir() -> Path:
    d = os.environ.get("BMX_SHARED") or os.environ.get("BMX_SHARED_DEFAULT") or str(Path(__file__).parents[3] / "shared")
    return Path(d)


def shared_file(relative: str) -> Path:
    p = shared_dir() / relative
    assert p.exists(), f"reference file missing: {p}"
    return p


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="session")
def bmx_exe() -> str:
    exe = os.environ.get("BMX_EXE")
    assert exe and os.path.exists(exe), "BMX_EXE must name the built bmx"
    return exe


def run_bmx(exe, *args, check=True):
    """The command line, for parity: (exit status, stdout, stderr)."""
    p = subprocess.run([exe, *map(str, args)], capture_output=True, text=True, timeout=300)
    if check:
        assert p.returncode == 0, f"bmx {' '.join(map(str, args))} failed:\n{p.stderr}"
    return p.returncode, p.stdout, p.stderr


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    base = os.environ.get("BMX_TEST_SCRATCH")
    if base:
        d = Path(base)
        d.mkdir(parents=True, exist_ok=True)
        return d
    return tmp_path_factory.mktemp("bmx-python")


@pytest.fixture(scope="session")
def mol_vectors():
    return jsonl(shared_file("vectors/molstructok/public.jsonl"))


@pytest.fixture(scope="session")
def mol_inputs(mol_vectors, scratch):
    """The public vectors' input molecules that the reference encodes, as molblocks and as 4 SD files."""
    records = [r for r in mol_vectors if "encode_error" not in r]
    files = []
    for k in range(4):
        path = scratch / f"public_{k}.sdf"
        with open(path, "w") as f:
            for r in records[k::4]:
                f.write(r["input_molblock"].rstrip("\n") + "\n$$$$\n")
        files.append(path)
    return records, files


@pytest.fixture(scope="session")
def tiny_gcp():
    return shared_file("vectors/gcp/tiny_model")
