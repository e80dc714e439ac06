"""Corpus-scale tokenization on a dask.distributed cluster.

    from bmx.dask import tokenize_files
    summary = tokenize_files("pubchem3d/*.sdf", kind="mol", out="tokens/", client=client)

The inputs (files, in the order given; a glob is sorted) are cut into contiguous partitions; each partition is one
task, and writes one JSON-lines shard (OUT/shard-00000.jsonl: the lines `bmx mol encode` / `bmx prot encode`
writes for those files, in the same order) and its part of the manifest (OUT/shard-00000.manifest.jsonl: input
file, record, shard, status, error). Both are written to a temporary file and renamed, the manifest part last: a
shard whose manifest part exists is finished. A rerun (after a failure, a killed worker or a killed driver)
skips the finished shards, so nothing is lost and nothing is written twice; the shards concatenated in order
are the output of the command line on the same inputs. OUT/plan.json holds the partitioning, so that a rerun
cuts the inputs the same way whatever the number of workers; OUT/manifest.jsonl is the whole manifest.

Each worker process loads the tokenizer once (the first task it runs) and keeps it for the next tasks.
"""
from __future__ import annotations

import glob as _glob
import json
import os
import uuid

from . import GcpVqvae, InputError, MolStrucTok

__all__ = ["tokenize_files", "expand_inputs"]

_TOKENIZERS: dict = {}  # per worker process: (kind, model, max_atoms) -> tokenizer
_LOADS = 0              # tokenizers this process loaded (the tests read it through client.run)


def expand_inputs(paths_or_glob) -> list[str]:
    """The input files: a path, a glob pattern (sorted matches) or an iterable of them, in the order given."""
    items = [paths_or_glob] if isinstance(paths_or_glob, (str, os.PathLike)) else list(paths_or_glob)
    files = []
    for item in items:
        item = os.fspath(item)
        if _glob.has_magic(item):
            matches = sorted(_glob.glob(item, recursive=True))
            if not matches:
                raise InputError(f"{item}: no file matches")
            files += matches
        else:
            files.append(item)
    if not files:
        raise InputError("no input files")
    return files


def _tokenizer(kind, model, max_atoms):
    global _LOADS
    key = (kind, model, max_atoms)
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = MolStrucTok(model, max_atoms=max_atoms) if kind == "mol" else GcpVqvae(model)
        _LOADS += 1
    return _TOKENIZERS[key]


def _write_atomically(path, lines):
    tmp = f"{path}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    with open(tmp, "w") as f:
        for line in lines:
            f.write(line)
            f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _remove_partial_shards(out):
    """What a killed task left half-written (its temporary files); no task of this output is running then."""
    for name in os.listdir(out):
        if ".tmp-" in name and name.startswith("shard-"):
            try:
                os.remove(os.path.join(out, name))
            except FileNotFoundError:
                pass


def _shard_names(out, index):
    stem = os.path.join(out, f"shard-{index:05d}")
    return stem + ".jsonl", stem + ".manifest.jsonl"


def _encode_files(kind, tokenizer, files, shard, window, threads):
    """The shard's lines and manifest entries: every record of every file, as the command line reads them."""
    lines, entries = [], []
    for path in files:
        if kind == "mol":
            for record, line, error in tokenizer._tok.encode_file_lines(path, threads):
                if line:
                    lines.append(line)
                    entries.append({"file": path, "record": record, "shard": shard, "status": "ok"})
                else:
                    entries.append({"file": path, "record": record, "shard": shard, "status": "failed",
                                    "error": error})
            continue
        try:
            encodings, refused = tokenizer._model.encode(path, "", window, 128)
        except InputError as e:
            entries.append({"file": path, "record": None, "shard": shard, "status": "failed", "error": str(e)})
            continue
        for encoding in encodings:
            lines.append(encoding.to_json())
            entries.append({"file": path, "record": encoding.chain or "_", "shard": shard, "status": "ok"})
        for chain, message in refused:
            entries.append({"file": path, "record": chain, "shard": shard, "status": "failed", "error": message})
    return lines, entries


def _tokenize_partition(kind, model, max_atoms, window, threads, files, out, index):
    """One task: a partition's shard and manifest part, unless an earlier run finished them."""
    shard_path, manifest_path = _shard_names(out, index)
    if not os.path.exists(manifest_path):
        tokenizer = _tokenizer(kind, model, max_atoms)
        lines, entries = _encode_files(kind, tokenizer, files, os.path.basename(shard_path), window, threads)
        _write_atomically(shard_path, lines)
        _write_atomically(manifest_path, [json.dumps(e) for e in entries])  # last: the shard is finished
    return index


def _plan(files, kind, model, partitions, out):
    """The partitioning of OUT/plan.json: an earlier run's when there is one (it must be over the same inputs)."""
    plan_path = os.path.join(out, "plan.json")
    if os.path.exists(plan_path):
        with open(plan_path) as f:
            plan = json.load(f)
        if plan.get("files") != files or plan.get("kind") != kind or plan.get("model") != model:
            raise InputError(f"{plan_path}: {out} holds a run over other inputs, kind or model; use another folder")
        if partitions is not None and partitions != len(plan["partitions"]):
            raise InputError(f"{plan_path}: {out} was cut into {len(plan['partitions'])} partitions, not {partitions}")
        return plan
    n = max(1, min(len(files), partitions if partitions is not None else 1000))
    bounds = [len(files) * k // n for k in range(n + 1)]
    plan = {"kind": kind, "model": model, "files": files,
            "partitions": [[bounds[k], bounds[k + 1]] for k in range(n)]}
    _write_atomically(plan_path, [json.dumps(plan)])
    return plan


def tokenize_files(paths_or_glob, kind: str = "mol", out: str | os.PathLike = "bmx-tokens", client=None, *,
                   partitions: int | None = None, model: str | None = None, max_atoms: int = 1000,
                   window: bool = False, threads: int = 1, retries: int = 3) -> dict:
    """Tokenizes every record of the input files on a dask.distributed cluster (see the module's documentation).

    kind: "mol" (MolStrucTok, `bmx mol encode`) or "prot" (GCP-VQVAE, `bmx prot encode`). model: the MolStrucTok
    checkpoint or the GCP-VQVAE folder (default: as the command line finds them). client: a distributed.Client
    (default: the current one, else a LocalCluster for this call). threads: bmx threads per task. A task whose
    worker died is run again (up to `retries` rounds); finished shards are never redone.
    Returns a summary: shards, records (ok), failed, skipped_shards (finished by an earlier run), manifest path.
    """
    if kind not in ("mol", "prot"):
        raise ValueError(f"kind must be 'mol' or 'prot', got {kind!r}")
    out = os.fspath(out)
    files = expand_inputs(paths_or_glob)
    os.makedirs(out, exist_ok=True)
    _remove_partial_shards(out)  # an earlier run's killed tasks
    model = None if model is None else os.fspath(model)
    plan = _plan(files, kind, model, partitions, out)
    parts = plan["partitions"]
    finished_before = sum(os.path.exists(_shard_names(out, k)[1]) for k in range(len(parts)))

    import distributed
    own_cluster = None
    if client is None:
        try:
            client = distributed.default_client()
        except ValueError:
            own_cluster = distributed.LocalCluster(threads_per_worker=1, processes=True)
            client = distributed.Client(own_cluster)
    try:
        for _round in range(retries + 1):
            todo = [k for k in range(len(parts)) if not os.path.exists(_shard_names(out, k)[1])]
            if not todo:
                break
            futures = [client.submit(_tokenize_partition, kind, model, max_atoms, window, threads,
                                     files[parts[k][0]:parts[k][1]], os.path.abspath(out), k, pure=False,
                                     key=f"bmx-{kind}-shard-{k:05d}-{uuid.uuid4().hex[:8]}")
                       for k in todo]
            client.gather(futures, errors="skip")  # a task lost with its worker is run again next round
    finally:
        if own_cluster is not None:
            client.close()
            own_cluster.close()
    _remove_partial_shards(out)  # this run's tasks lost with their worker, whose shards were written again
    missing = [k for k in range(len(parts)) if not os.path.exists(_shard_names(out, k)[1])]
    if missing:
        raise RuntimeError(f"{out}: {len(missing)} shard(s) unfinished after {retries + 1} rounds "
                           f"(first: {_shard_names(out, missing[0])[0]}); run again to finish them")

    entries = []
    for k in range(len(parts)):
        with open(_shard_names(out, k)[1]) as f:
            entries += [line.rstrip("\n") for line in f if line.strip()]
    manifest = os.path.join(out, "manifest.jsonl")
    _write_atomically(manifest, entries)
    statuses = [json.loads(e)["status"] for e in entries]
    return {"shards": len(parts), "records": statuses.count("ok"), "failed": statuses.count("failed"),
            "skipped_shards": finished_before, "manifest": manifest,
            "outputs": [_shard_names(out, k)[0] for k in range(len(parts))]}
