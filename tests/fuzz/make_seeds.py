#!/usr/bin/env python3
"""Writes the small handmade seeds of tests/fuzz/seeds/<target>/ (a few KB each), partly cut from the reference
folder (../shared or $BMX_SHARED). Large reference files are not copied: CMakeLists.txt passes them to the corpus
tests as "shared:" folders. Rerun after changing it: python3 tests/fuzz/make_seeds.py"""
import io, json, os, pickle, struct, sys, types, zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SHARED = Path(os.environ.get("BMX_SHARED", HERE.parent.parent.parent / "shared"))
SEEDS = HERE / "seeds"


def put(target, name, data):
    d = SEEDS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def jsonl(rel):
    return [json.loads(l) for l in (SHARED / rel).read_text(encoding="utf-8").split("\n") if l.strip()]


# chat_template: the Qwen3/BioMatrix template and small ones using each construct the engine supports.
put("chat_template", "qwen3.jinja", json.loads((SHARED / "models/tokenizers/qwen3/tokenizer_config.json").read_text())["chat_template"])
put("chat_template", "loop.jinja", "{% for m in messages %}{{ loop.index }}:{{ m.role|upper }} {{ m['content']|trim }}{% if not loop.last %}\n{% endif %}{% else %}none{% endfor %}")
put("chat_template", "namespace.jinja", "{% set ns = namespace(n=0, s='') %}{% for m in messages if m.role != 'system' %}{% set ns.n = ns.n + 1 %}{% set ns.s = ns.s ~ m.content[:3] %}{% endfor %}{{ ns.n }} {{ ns.s|tojson }} {{ range(3)|list }} {{ (messages|last).content.split('?')[0] }}")
put("chat_template", "filters.jinja", "{{ messages|length }} {{ tools|tojson if tools is defined else 'no tools' }} {{ 'a,b'.split(',')|join('-') }} {{ {'k': [1, 2.5, none, true]}|tojson }} {{ 7 // 2 }} {{ 7 % 3 }} {{ -3|abs }} {{ '%s' }} {{ enable_thinking is defined and enable_thinking is false }}")
put("chat_template", "raise.jinja", "{%- if messages[0].role != 'user' -%}{{ raise_exception('first message must be the user') }}{%- endif -%}{# comment #}{{ bos_token }}")
put("chat_template", "slices.jinja", "{% for m in messages[::-1] %}{% if loop.index0 > 1 %}{% break %}{% endif %}{{ m.content[-5:]|replace('<', '[')|title }}{% endfor %}{{ messages|map(attribute='role') if false else '' }}")

# tokenizer_json: Qwen3's tokenizer.json cut to the 256 byte symbols, a few merges and its added tokens.
tok = json.loads((SHARED / "models/tokenizers/qwen3/tokenizer.json").read_text())
vocab = tok["model"]["vocab"]
merges = tok["model"]["merges"][:60]
small = {k: v for k, v in vocab.items() if v < 256}
next_id = 256
for m in merges:
    a, b = m.split(" ") if isinstance(m, str) else m
    if a + b not in small:
        small[a + b] = next_id
        next_id += 1
    for s in (a, b):
        if s not in small:
            small[s] = next_id
            next_id += 1
tok["model"]["vocab"] = small
tok["model"]["merges"] = merges
for i, t in enumerate(tok["added_tokens"][:8]):
    t["id"] = next_id + i
tok["added_tokens"] = tok["added_tokens"][:8]
put("tokenizer_json", "qwen3_small.json", json.dumps(tok, ensure_ascii=False))
tok2 = json.loads(json.dumps(tok))
tok2["model"]["merges"] = [m.split(" ") if isinstance(m, str) else m for m in merges[:20]]
tok2["post_processor"] = {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                          "pair": [{"Sequence": {"id": "A", "type_id": 0}}], "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [tok["added_tokens"][0]["id"]], "tokens": ["<|endoftext|>"]}}}
tok2["added_tokens"].append({"id": next_id + 8, "content": " <mask>", "single_word": True, "lstrip": True, "rstrip": True, "normalized": True, "special": False})
put("tokenizer_json", "pairs_template.json", json.dumps(tok2, ensure_ascii=False))

# bpe_text: one text per category of the tokenizer vectors, and a few of the model's own strings.
seen = set()
for rec in jsonl("vectors/tokenizer/biomatrix.jsonl"):
    if "text" in rec and rec["cat"] not in seen and len(rec["text"].encode()) < 2000:
        seen.add(rec["cat"])
        put("bpe_text", f"{rec['cat']}.txt", rec["text"])

# answer_segments: every answer of the BioMatrix vectors.
for rec in jsonl("vectors/biomatrix/answers.jsonl"):
    put("answer_segments", f"{rec['id']}.txt", rec["answer"])

# mol3d_tokens: token strings of the MolStrucTok vectors (the decode-only set has every kind of bad string).
for rec in jsonl("vectors/molstructok/public.jsonl")[:6]:
    put("mol3d_tokens", f"{rec['name']}.txt", rec["struct_sfi"])
for rec in jsonl("vectors/molstructok/decode_only.jsonl"):
    if len(rec["struct_sfi"]) < 3000:
        put("mol3d_tokens", f"{rec['name']}.txt", rec["struct_sfi"])
put("mol3d_tokens", "wrapped.txt", "<|mol_3d_start|>[H 3][O 26][H 304].[Na+1 7]<|mol_3d_end|>")

# selfies: SMILES and SELFIES.
for i, s in enumerate(["CCO", "C1=CC=CC=C1", "[NH4+].[Cl-]", "C/C=C/C", "N[C@@H](C)C(=O)O", "C1CC2CCC1C2", "O=S(=O)(O)C#N", "[13CH3][2H]", "C%10CCCCC%10"]):
    put("selfies", f"smiles_{i}.txt", s)
for rec in jsonl("vectors/molstructok/public.jsonl")[:5]:
    put("selfies", f"selfies_{rec['name']}.txt", rec["selfies"])

# prot3d_tokens: every text form the parser takes.
for name, text in {"wrapped": "<|prot_3d_start|><S 1><S 4095><S 0><|prot_3d_end|>", "bare": "<S 12><S 7>", "spaces": "1 2 3 4095",
                   "commas": "1,2,3", "list": "[1, 2, 3]", "aa_wrapped": "<|prot_aa_start|><A M><A K><A V><|prot_aa_end|>",
                   "aa_bare": "<A M><A K>", "aa_plain": "mkvLLA"}.items():
    put("prot3d_tokens", name + ".txt", text)

# mol_reader: tiny MOL2 and XYZ and a V3000 record (the reference folder has the real files).
put("mol_reader", "water.xyz", "3\nwater\nO 0.000 0.000 0.117\nH 0.000 0.757 -0.467\nH 0.000 -0.757 -0.467\n")
put("mol_reader", "methane.mol2", "@<TRIPOS>MOLECULE\nmethane\n5 4 1 0 0\nSMALL\nNO_CHARGES\n\n@<TRIPOS>ATOM\n"
    "1 C1 0.0000 0.0000 0.0000 C.3 1 MOL 0.0\n2 H1 0.6291 0.6291 0.6291 H 1 MOL 0.0\n3 H2 -0.6291 -0.6291 0.6291 H 1 MOL 0.0\n"
    "4 H3 -0.6291 0.6291 -0.6291 H 1 MOL 0.0\n5 H4 0.6291 -0.6291 -0.6291 H 1 MOL 0.0\n@<TRIPOS>BOND\n1 1 2 1\n2 1 3 1\n3 1 4 1\n4 1 5 1\n")

# protein_reader: the first residues of a PDB and an mmCIF file (whole files come from the reference folder).
pdb = [l for l in (SHARED / "data/proteins/1l2y.pdb").read_text().splitlines() if l.startswith(("ATOM", "HETATM"))][:60]
put("protein_reader", "1l2y_head.pdb", "\n".join(pdb) + "\nEND\n")
cif = (SHARED / "data/proteins/1A8O.cif").read_text().splitlines()
start = next(i for i, l in enumerate(cif) if l.startswith("_atom_site."))
head = next(i for i, l in enumerate(cif) if l.startswith("data_"))
rows = [l for l in cif[start:] if l.startswith(("ATOM", "HETATM"))][:40]
cols = [l for l in cif[start:] if l.startswith("_atom_site.")]
put("protein_reader", "1a8o_head.cif", "\n".join([cif[head], "#", "loop_"] + cols + rows) + "\n#\n")

# gcp_config: the tiny model's three files, each named on its first line (the target replaces that file).
for f in ["config_vqvae.yaml", "config_gcpnet_encoder.yaml", "config_geometric_decoder.yaml"]:
    put("gcp_config", f, f"# {f}\n" + (SHARED / "vectors/gcp/tiny_model" / f).read_text())


# safetensors: small files of each dtype, with metadata, a scalar and an empty tensor.
def safetensors(tensors, metadata=None):
    header, blob = {}, b""
    if metadata:
        header["__metadata__"] = metadata
    for name, (dtype, shape, data) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(data)]}
        blob += data
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


put("safetensors", "f32.safetensors", safetensors({"w": ("F32", [2, 3], struct.pack("<6f", *range(6))), "b": ("F32", [], struct.pack("<f", 1.5))}, {"format": "pt"}))
put("safetensors", "bf16_i64.safetensors", safetensors({"a": ("BF16", [4], struct.pack("<4H", 0x3f80, 0x4000, 0xbf80, 0)), "idx": ("I64", [2], struct.pack("<2q", 7, -1)), "e": ("F16", [0, 3], b"")}))
put("safetensors", "i32_f64.safetensors", safetensors({"x": ("I32", [1, 2], struct.pack("<2i", 1, 2)), "y": ("F64", [2], struct.pack("<2d", 0.5, -2))}))


# torch_checkpoint / pickle: torch.save's zip layout written without torch. The pickler records globals by module
# and name, so stand-in modules named like torch's give the same opcodes.
def module(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        v.__module__, v.__qualname__ = name, k
        setattr(m, k, v)
    sys.modules[name] = m
    return m


class _Storage:
    pass


storages = {n: type(n, (_Storage,), {}) for n in ["FloatStorage", "LongStorage", "BFloat16Storage", "HalfStorage"]}
torch = module("torch", **storages)
class _Tensor:
    def __init__(self, key, cls, numel, offset, size, stride):
        self.args = (key, cls, numel, offset, size, stride)
    def __reduce__(self):
        key, cls, numel, offset, size, stride = self.args
        return (rebuild, ((("storage", cls, key, "cpu", numel)), offset, tuple(size), tuple(stride), False, {}))
def rebuild(*a):
    pass
module("torch._utils", _rebuild_tensor_v2=rebuild)
from collections import OrderedDict


def torch_zip(obj, storages_data, archive="archive"):
    buf = io.BytesIO()
    class P(pickle.Pickler):
        def persistent_id(self, o):
            return o if isinstance(o, tuple) and o and o[0] == "storage" else None
    P(buf, protocol=2).dump(obj)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{archive}/data.pkl", buf.getvalue())
        z.writestr(f"{archive}/byteorder", "little")
        for k, data in storages_data.items():
            z.writestr(f"{archive}/data/{k}", data)
        z.writestr(f"{archive}/version", "3\n")
    return out.getvalue(), buf.getvalue()


F = storages["FloatStorage"]
L = storages["LongStorage"]
B = storages["BFloat16Storage"]
state = OrderedDict([("w", _Tensor("0", F, 6, 0, [2, 3], [3, 1])), ("w_t", _Tensor("0", F, 6, 0, [3, 2], [1, 3])),
                     ("row", _Tensor("0", F, 6, 3, [3], [1])), ("steps", _Tensor("1", L, 2, 0, [2], [1]))])
zip1, pkl1 = torch_zip(state, {"0": struct.pack("<6f", *range(6)), "1": struct.pack("<2q", 3, 4)})
put("torch_checkpoint", "state_dict.pth", zip1)
nested = {"model": OrderedDict([("enc.weight", _Tensor("0", B, 4, 0, [2, 2], [2, 1]))]), "epoch": 7, "lr": 1e-3,
          "config": {"name": "tiny", "layers": [1, 2, (3, None)], "flag": True, "blob": b"\x00\x01"}}
zip2, pkl2 = torch_zip(nested, {"0": struct.pack("<4H", 0x3f80, 0x4000, 0xbf80, 0)}, archive="random_weights")
put("torch_checkpoint", "nested.pth", zip2)
put("pickle", "state_dict.pkl", pkl1)
put("pickle", "nested.pkl", pkl2)
for proto in (2, 4, 5):
    put("pickle", f"plain_p{proto}.pkl", pickle.dumps({"a": [1, 2.5, "x" * 3, None, True, (1,), b"b"], "big": 2**70, "neg": -5}, protocol=proto))
with zipfile.ZipFile(SHARED / "models/molstructok/molstructok_vqvae.bin") as z:
    put("pickle", "molstructok.pkl", z.read("pytorch_model/data.pkl"))

# json: bmx's parser against nlohmann's; the JSON of the reference folder is passed whole (CMakeLists.txt).
put("json", "object.json", '{"a":[1,-0,2.5e3,"\\u00e9\\ud83d\\ude00",true,null],"b":{}}')
put("json", "numbers.json", "[18446744073709551615,-9223372036854775808,1e-999,12345678901234567890123]")
put("json", "lone_surrogate.json", '"\\udc00"')
put("json", "trailing_comma.json", "[1,]")
put("json", "bom.json", b'\xef\xbb\xbf{"bom":1}')
