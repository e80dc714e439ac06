"""bmx.Tokenizer against the Hugging Face vectors, bmx.extract against the answer-parsing vectors, and bmx.Model
(a tiny random-weight BioMatrix-shaped model) against `bmx generate` and `bmx run`."""
import json

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
