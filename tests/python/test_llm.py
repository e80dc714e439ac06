"""bmx.Tokenizer against the Hugging Face vectors, bmx.extract against the answer-parsing vectors, and bmx.Model
(a tiny random-weight BioMatrix-shaped model) against `bmx generate` and `bmx run`."""
import json
import os
import shutil

import pytest

import bmx
from conftest import jsonl, run_bmx, shared_file


def test_tokenizer_matches_vectors():
    tok = bmx.Tokenizer(shared_file("models/tokenizers/biomatrix"))
    records = [r for r in jsonl(shared_file("vectors/tokenizer/biomatrix.jsonl"))]
    for r in records[:400]:
        if "text" in r:
            assert tok.encode(r["text"]) == r["ids"], r["text"]
        assert tok.decode(r["ids"]) == r["decoded"]
        assert tok.decode(r["ids"], skip_special_tokens=True) == r["decoded_skip_special"]


def test_chat_template_matches_vectors():
    tok = bmx.Tokenizer(shared_file("models/tokenizers/qwen3"))
    for r in jsonl(shared_file("vectors/tokenizer/chat_template.jsonl"))[:40]:
        kwargs = {"add_generation_prompt": r["add_generation_prompt"]}
        if "enable_thinking" in r:
            kwargs["enable_thinking"] = r["enable_thinking"]
        if "tools" in r:
            kwargs["tools"] = r["tools"]
        assert tok.apply_chat_template(r["messages"], **kwargs) == r["rendered"]
        assert tok.apply_chat_template(r["messages"], tokenize=True, **kwargs) == r["ids"]


def test_extract_matches_vectors():
    for r in jsonl(shared_file("vectors/biomatrix/answers.jsonl")):
        segments = bmx.extract(r["answer"])
        assert len(segments) == len(r["segments"]), r["id"]
        for mine, want in zip(segments, r["segments"]):
            for key, value in mine.items():
                assert value == want[key], (r["id"], key)


@pytest.fixture(scope="module")
def tiny_model(bmx_exe, scratch):
    d = scratch / "tiny_biomatrix"
    if not (d / "config.json").exists():
        run_bmx(bmx_exe, "dev", "random-model", "--like", "tiny", "--tokenizer",
                shared_file("models/tokenizers/biomatrix"), "-o", d)
    return d


def test_generate_matches_cli_and_streams(tiny_model, bmx_exe):
    model = bmx.Model(tiny_model, threads=1)
    text = model.generate("The molecule is", max_new_tokens=12, temperature=0, constrain=False)
    _, cli, _ = run_bmx(bmx_exe, "generate", "-q", "-t", "1", "-m", tiny_model, "-p", "The molecule is", "-n", "12",
                        "--temp", "0", "--no-constrain")
    assert cli == text + "\n"
    pieces = list(model.stream("The molecule is", max_new_tokens=12, temperature=0, constrain=False))
    assert len(pieces) > 1 and "".join(pieces) == text
    detail = model.generate_detail("The molecule is", max_new_tokens=12, temperature=0, constrain=False)
    assert detail["new_tokens"] == 12 and detail["finish"] == "max_new_tokens"
    with pytest.raises(bmx.InputError, match="temp"):
        model.generate("x", temperature=-1)
    with pytest.raises(TypeError):
        model.generate("x", temprature=0.5)
    # The weights mapped (mmap=True) or read into memory (False) decode the same.
    for mmap in (True, False):
        other = bmx.Model(tiny_model, threads=1, mmap=mmap)
        assert other.generate("The molecule is", max_new_tokens=12, temperature=0, constrain=False) == text


def test_run_returns_the_cli_summary(tiny_model, tiny_gcp, bmx_exe, scratch):
    model = bmx.Model(tiny_model, threads=1)
    out = scratch / "run_fold_py"
    summary = model.run("fold", out=out, sequence="MKTAYIAK", max_new_tokens=40, gcp_vqvae=tiny_gcp, threads=1)
    run_bmx(bmx_exe, "run", "-q", "-t", "1", "-m", tiny_model, "--task", "fold", "--sequence", "MKTAYIAK", "-n", "40",
            "--gcp-vqvae", tiny_gcp, "-o", scratch / "run_fold_cli")
    with open(scratch / "run_fold_cli" / "summary.json") as f:
        cli = json.load(f)
    assert summary == json.load(open(out / "summary.json"))
    strip = lambda s: json.loads(json.dumps(s).replace(str(out), "OUT").replace(str(scratch / "run_fold_cli"), "OUT"))
    assert strip(summary) == strip(cli)
    assert summary["task"] == "fold" and summary["expected_length"] == 8
    in_memory = model.run("fold", sequence="MKTAYIAK", max_new_tokens=40, gcp_vqvae=tiny_gcp, threads=1)
    assert in_memory["answer"] == summary["answer"]
    with pytest.raises(bmx.InputError, match="unknown task"):
        model.run("folding", sequence="MKV")


def fresh_copy(src, dst):
    """A writable copy of a read-only reference folder (its files can then be removed)."""
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst, copy_function=shutil.copyfile)
    for d, _, _ in os.walk(dst):
        os.chmod(d, 0o755)
    return dst


def test_runs_reuse_the_loaded_models(tiny_model, tiny_gcp, bmx_exe, scratch):
    """Runs of one Model, sampled with a seed, give `bmx run`'s summary for that seed, and a second run loads
    nothing: after the first runs of fold (GCP-VQVAE) and mol3d (MolStrucTok), the decoder's weights, the
    tokenizer and both structure checkpoints are removed from (copies of) their folders, so that any load fails
    (a new Model, GcpVqvae and MolStrucTok show it), and the second runs give the same summaries. Another seed
    gives another answer."""
    model_dir = fresh_copy(tiny_model, scratch / "reuse_model")
    gcp_dir = fresh_copy(tiny_gcp, scratch / "reuse_gcp")
    mst_dir = fresh_copy(shared_file("models/molstructok"), scratch / "reuse_molstructok")
    checkpoint = mst_dir / "molstructok_vqvae.bin"
    tasks = {
        "fold": (dict(sequence="MKTAYIAK", max_new_tokens=40, gcp_vqvae=gcp_dir),
                 ["--sequence", "MKTAYIAK", "-n", "40", "--gcp-vqvae", gcp_dir]),
        "mol3d": (dict(max_new_tokens=60, molstructok=checkpoint), ["-n", "60", "--molstructok", checkpoint]),
    }
    model = bmx.Model(model_dir, threads=1)

    def strip(summary, out):
        return json.loads(json.dumps(summary).replace(str(out), "OUT"))

    def run(task, name, **changes):
        settings = {**tasks[task][0], "temp": 5.0, "seed": 11, **changes}
        return strip(model.run(task, out=scratch / name, **settings), scratch / name)

    first = {task: run(task, f"reuse_{task}_1") for task in tasks}
    for task, (_, flags) in tasks.items():
        out = scratch / f"reuse_{task}_cli"
        run_bmx(bmx_exe, "run", "-q", "-t", "1", "-m", model_dir, "--task", task, *flags, "--temp", "5", "--seed",
                "11", "-o", out)
        with open(out / "summary.json") as f:
            assert first[task] == strip(json.load(f), out), task
    assert first["fold"]["sampling"]["seed"] == 11 and first["fold"]["sampling"]["temperature"] == 5.0
    assert first["mol3d"]["segments"][0]["modality"] == "mol3d" and first["mol3d"]["n_files"] == 1  # MolStrucTok ran

    loaded = [p for p in model_dir.iterdir() if p.suffix == ".safetensors" or p.name == "tokenizer.json"]
    loaded += list((gcp_dir / "checkpoints").iterdir()) + [checkpoint]
    assert len(loaded) >= 4
    for p in loaded:
        p.unlink()
    with pytest.raises(bmx.InputError):
        bmx.Model(model_dir, threads=1)
    with pytest.raises((bmx.InputError, bmx.UnsupportedError)):
        bmx.GcpVqvae(gcp_dir)
    with pytest.raises((bmx.InputError, bmx.UnsupportedError)):
        bmx.MolStrucTok(checkpoint)

    for task in tasks:
        assert run(task, f"reuse_{task}_2") == first[task], task
    assert run("fold", "reuse_fold_3", seed=12)["answer"] != first["fold"]["answer"]
