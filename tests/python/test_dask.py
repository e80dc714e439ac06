"""bmx.dask.tokenize_files on a LocalCluster of 2 worker processes (loopback): the shards concatenated are the
command line's output on the same files, a rerun redoes nothing, each worker loads the tokenizer once, and a worker
killed mid-run loses no record and duplicates none."""
import json
import os
import shutil
import signal
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")

import bmx.dask
from conftest import run_bmx, shared_file


PARTS, COPIES = 16, 10


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=":0", silence_logs=50)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def concatenated(summary):
    text = ""
    for path in summary["outputs"]:
        with open(path) as f:
            text += f.read()
    return text


def manifest(summary):
    with open(summary["manifest"]) as f:
        return [json.loads(line) for line in f]


def test_mol_shards_equal_cli_and_rerun_skips(client, mol_inputs, bmx_exe, scratch):
    records, files = mol_inputs
    out = scratch / "dask_mol"
    shutil.rmtree(out, ignore_errors=True)
    summary = bmx.dask.tokenize_files([str(f) for f in files], kind="mol", out=out, client=client)
    _, cli, err = run_bmx(bmx_exe, "mol", "encode", "-q", *files, check=False)
    assert concatenated(summary) == cli
    ok = len(cli.splitlines())
    assert summary["records"] == ok and summary["failed"] == len(records) - ok and summary["shards"] == len(files)
    entries = manifest(summary)
    assert [(e["file"], e["record"]) for e in entries] == [(str(f), k + 1) for i, f in enumerate(files)
                                                             for k in range(len(records[i::4]))]
    assert ["bmx: " + e["error"] for e in entries if e["status"] == "failed"] == err.splitlines()[:-1]
    # one tokenizer per worker process, however many tasks it ran
    loads = client.run(lambda: __import__("bmx.dask").dask._LOADS)
    assert all(n <= 1 for n in loads.values()) and sum(loads.values()) >= 1
    # a rerun finds every shard finished and leaves the files as they are
    stamps = [os.stat(p).st_mtime_ns for p in summary["outputs"]]
    again = bmx.dask.tokenize_files([str(f) for f in files], kind="mol", out=out, client=client)
    assert again["skipped_shards"] == summary["shards"]
    assert [os.stat(p).st_mtime_ns for p in again["outputs"]] == stamps
    with pytest.raises(bmx.InputError, match="other inputs"):
        bmx.dask.tokenize_files([str(files[0])], kind="mol", out=out, client=client)


def test_bad_records_in_the_manifest(client, scratch):
    out = scratch / "dask_bad"
    shutil.rmtree(out, ignore_errors=True)
    bad = scratch / "bad_input.sdf"
    bad.write_text("not a molecule\n$$$$\n")
    summary = bmx.dask.tokenize_files([str(bad), str(scratch / "missing.sdf")], kind="mol", out=out, client=client)
    entries = manifest(summary)
    assert [e["status"] for e in entries] == ["failed", "failed"]
    assert "missing.sdf" in entries[1]["error"]
    assert concatenated(summary) == ""


def test_prot_shards_equal_cli(client, tiny_gcp, bmx_exe, scratch):
    inputs = sorted(str(p) for p in shared_file("vectors/gcp/inputs").glob("1[aA]*"))  # 1A8O, 1aki: small ones
    out = scratch / "dask_prot"
    shutil.rmtree(out, ignore_errors=True)
    summary = bmx.dask.tokenize_files(str(shared_file("vectors/gcp/inputs")) + "/1[aA]*", kind="prot", out=out,
                                      client=client, model=str(tiny_gcp))
    _, cli, _ = run_bmx(bmx_exe, "prot", "encode", "-q", "--model", tiny_gcp, *inputs)
    assert concatenated(summary) == cli
    assert summary["records"] == len(cli.splitlines())


def test_killed_worker_loses_nothing(client, mol_inputs, bmx_exe, scratch):
    records, _ = mol_inputs
    # 16 files of about 170 molecules, so that tasks are in flight when a worker dies
    folder = scratch / "dask_kill_inputs"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    files = []
    for k in range(PARTS):
        path = folder / f"part_{k:02d}.sdf"
        with open(path, "w") as f:
            for r in records[k::PARTS] * COPIES:
                f.write(r["input_molblock"].rstrip("\n") + "\n$$$$\n")
        files.append(str(path))
    out = scratch / "dask_kill"
    shutil.rmtree(out, ignore_errors=True)
    result = {}
    runner = threading.Thread(target=lambda: result.update(
        bmx.dask.tokenize_files(files, kind="mol", out=out, client=client)))
    runner.start()
    deadline = time.time() + 120
    finished = lambda: sum(n.endswith(".manifest.jsonl") for n in os.listdir(out)) if os.path.isdir(out) else 0
    while finished() == 0 and time.time() < deadline:
        time.sleep(0.02)
    pids = client.run(os.getpid)
    victim = sorted(pids.values())[0]
    finished_at_kill = finished()
    os.kill(victim, signal.SIGKILL)
    runner.join(timeout=300)
    assert not runner.is_alive()
    assert finished_at_kill < PARTS, "the run finished before the kill: make it longer"
    _, cli, _ = run_bmx(bmx_exe, "mol", "encode", "-q", *files, check=False)
    assert concatenated(result) == cli  # every record exactly once, in order
    assert result["records"] == len(cli.splitlines())
    assert not [n for n in os.listdir(out) if ".tmp-" in n]
