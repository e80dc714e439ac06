"""Overhead of bmx.dask.tokenize_files (LocalCluster, 2 worker processes) against one `bmx mol encode` process on the
same files: CPU seconds per record and wall time. Not a test (pytest does not collect it); run as

    flock /tmp/bmx-bench.lock env PYTHONPATH=build/python BMX_EXE=build/bmx python3 tests/python/bench_dask_overhead.py

CPU is user + system time: of the bmx child for the command line; of this process (the scheduler and the client)
and of every process under it (nannies and workers) for Dask. "cold": the workers load the tokenizer in this run;
"warm": a second run on the same cluster (tokenizers loaded), as a long job's steady state.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import psutil


def cpu_of_tree():
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def main():
    import distributed
    import bmx.dask
    shared = os.environ.get("BMX_SHARED") or os.path.join(os.path.dirname(__file__), "../../../shared")
    exe = os.environ["BMX_EXE"]
    copies = int(os.environ.get("BENCH_COPIES", "8"))
    with open(os.path.join(shared, "vectors/molstructok/public.jsonl")) as f:
        blocks = [json.loads(l)["input_molblock"] for l in f if l.strip()]
    blocks = [b for b in blocks if b.count("\n") > 8] * copies
    tmp = tempfile.mkdtemp(prefix="bmx-bench-")
    files = []
    for k in range(16):
        path = os.path.join(tmp, f"part_{k:02d}.sdf")
        with open(path, "w") as f:
            for b in blocks[k::16]:
                f.write(b.rstrip("\n") + "\n$$$$\n")
        files.append(path)
    n = len(blocks)
    rows = []
    for _ in range(3):
        before = os.times()
        t0 = time.perf_counter()
        p = subprocess.run([exe, "mol", "encode", "-q", "-t", "2", *files, "-o", os.path.join(tmp, "cli.jsonl")],
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
        after = os.times()
        cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
        rows.append(("cli -t 2", wall, cpu))
    import dask
    if os.environ.get("BENCH_NO_PROFILE"):  # Dask's sampling profiler (every 10 ms in each worker) off
        dask.config.set({"distributed.worker.profile.interval": "10 s", "distributed.worker.profile.cycle": "100 s"})
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                       dashboard_address=None, silence_logs=50)
    client = distributed.Client(cluster)
    client.run(lambda: None)
    for run in range(4):
        out = os.path.join(tmp, f"dask{run}")
        c0, t0 = cpu_of_tree(), time.perf_counter()
        summary = bmx.dask.tokenize_files(files, kind="mol", out=out, client=client)
        wall, cpu = time.perf_counter() - t0, cpu_of_tree() - c0
        assert summary["records"] + summary["failed"] == n, summary
        rows.append(("dask 2 workers " + ("cold" if run == 0 else "warm"), wall, cpu))
    with open(os.path.join(tmp, "cli.jsonl")) as f:
        cli = f.read()
    text = "".join(open(p).read() for p in summary["outputs"])
    assert text == cli, "the Dask shards differ from the command line's output"
    client.close()
    cluster.close()
    print(f"{n} molecules in {len(files)} files")
    for name, wall, cpu in rows:
        print(f"{name:24s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  {1e3 * cpu / n:6.2f} ms cpu/record")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    sys.exit(main())
