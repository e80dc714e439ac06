"""bmx: BioMatrix's tokenizers and decoder runtime from Python.

    import bmx
    tok = bmx.MolStrucTok()                      # the MolStrucTok checkpoint installed with bmx
    enc = tok.encode(rdkit_mol)                  # or a molblock string, or a path to a one-molecule file
    mol = tok.decode(enc.tokens)                 # rdkit.Chem.Mol, MMFF94-refined

The work is done by the same C++ code as the `bmx` command (the compiled module bmx._bmx), so the same input gives
the same tokens and coordinates; `to_json()` of a result is the line `bmx mol encode` / `bmx prot encode` writes.
bmx's errors are Python exceptions with the same one-line messages: InputError (a ValueError: something in the
input is wrong) and UnsupportedError (a RuntimeError: bmx cannot do what was asked, e.g. no model found).
Calls into bmx release the GIL: other Python threads run meanwhile, and encode_many uses bmx's own threads.
Type hints and documentation of every call: __init__.pyi.
"""
from __future__ import annotations

import json
import os
import queue
import tempfile
import threading

from . import _bmx
from ._bmx import InputError, MolEncoding, ProtDecoding, ProtEncoding, UnsupportedError

__all__ = ["MolStrucTok", "GcpVqvae", "Tokenizer", "Model", "extract", "InputError", "UnsupportedError",
           "MolEncoding", "ProtEncoding", "ProtDecoding"]

DEFAULT_MAX_ATOMS = 1000  # bmx mol --max-atoms default (mol3d/input_limits.h)


def _rdkit_chem():
    try:
        from rdkit import Chem
        return Chem
    except ImportError:
        return None


def _mol_input(mol, label):
    """One molecule as the compiled side takes it: an rdkit Mol (its molblock for the bonds, its conformer's
    coordinates as a numpy array), a molblock string, or a path."""
    Chem = _rdkit_chem()
    if Chem is not None and isinstance(mol, Chem.Mol):
        if mol.GetNumConformers() == 0:
            raise InputError(f"{label}: the rdkit Mol has no conformer: 3D coordinates are required")
        name = mol.GetProp("_Name") if mol.HasProp("_Name") else ""
        return _bmx._MolInput("", Chem.MolToMolBlock(mol), name or label, mol.GetConformer().GetPositions())
    if isinstance(mol, os.PathLike):
        return _bmx._MolInput(os.fspath(mol), "", os.fspath(mol), None)
    if isinstance(mol, str):
        if "\n" in mol:  # a molblock (a path has no line break)
            return _bmx._MolInput("", mol, label, None)
        return _bmx._MolInput(mol, "", mol, None)
    raise TypeError(f"{label}: expected an rdkit.Chem.Mol, a molblock string or a path, got {type(mol).__name__}")


def _outcomes(outcomes, errors):
    if errors not in ("raise", "keep"):
        raise ValueError(f"errors must be 'raise' or 'keep', got {errors!r}")
    results = []
    for encoding, error in outcomes:
        if encoding is None:
            if errors == "raise":
                raise InputError(error)
            results.append(InputError(error))
        else:
            results.append(encoding)
    return results


class MolStrucTok:
    """MolStrucTok: molecules with 3D coordinates <-> `[SELFIES-symbol code]` tokens (one code per atom)."""

    def __init__(self, checkpoint: str | os.PathLike | None = None, *, max_atoms: int = DEFAULT_MAX_ATOMS):
        self._tok = _bmx._MolStrucTok(None if checkpoint is None else os.fspath(checkpoint), max_atoms)

    @property
    def checkpoint(self) -> str:
        return self._tok.checkpoint

    def encode(self, mol) -> MolEncoding:
        return self._tok.encode(_mol_input(mol, "molecule"))

    def encode_many(self, mols, threads: int = 0, errors: str = "raise") -> list:
        items = [_mol_input(m, f"item {i}") for i, m in enumerate(mols)]
        return _outcomes(self._tok.encode_many(items, threads), errors)

    def encode_file(self, path: str | os.PathLike, threads: int = 0, errors: str = "raise") -> list:
        return _outcomes(self._tok.encode_file(os.fspath(path), threads), errors)

    def decode(self, tokens: str, refine: str | None = "mmff94", *, max_iters: int = 2000, name: str = "",
               as_molblock: bool = False):
        if not isinstance(tokens, str):
            tokens = tokens.tokens  # a MolEncoding
        record, _note = self._tok.decode(tokens, None if refine in (None, False, "none") else refine, max_iters, name)
        Chem = None if as_molblock else _rdkit_chem()
        if Chem is None:
            return record
        supplier = Chem.SDMolSupplier()
        supplier.SetData(record, sanitize=False, removeHs=False)
        mol = next(supplier)
        if mol is None:
            raise InputError(f"tokens: RDKit cannot read the decoded molecule back:\n{record}")
        try:
            Chem.SanitizeMol(mol)
        except Exception:  # kept as decoded, as bmx writes it (the SD record says so)
            pass
        return mol


def _structure_path(path_or_text, tmp):
    """A path as it is; structure text (PDB or mmCIF) to a file in `tmp` that the reader takes by its name."""
    if isinstance(path_or_text, os.PathLike) or "\n" not in path_or_text:
        return os.fspath(path_or_text)
    text = path_or_text.lstrip()
    name = "structure.cif" if text.startswith("data_") or "\n_atom_site." in text else "structure.pdb"
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(path_or_text)
    return path


class GcpVqvae:
    """GCP-VQVAE: protein backbones <-> structure tokens (one per observed residue)."""

    def __init__(self, model_dir: str | os.PathLike | None = None):
        self._model = _bmx._GcpVqvae(None if model_dir is None else os.fspath(model_dir))

    @property
    def max_length(self) -> int:
        return self._model.max_length

    @property
    def codebook_size(self) -> int:
        return self._model.codebook_size

    def encode(self, path_or_text, chain: str | None = None, *, window: bool = False, window_overlap: int = 128,
               skipped: list | None = None) -> list:
        with tempfile.TemporaryDirectory(prefix="bmx-") as tmp:
            path = _structure_path(path_or_text, tmp)
            encodings, refused = self._model.encode(path, chain or "", window, window_overlap)
        if skipped is not None:
            skipped.extend(message for _chain, message in refused)
        if not encodings:
            raise InputError(refused[0][1] if refused else f"{path}: no protein chain")
        return encodings

    def decode(self, tokens, sequence: str | None = None, *, chain: str = "A", overlap: int = 128) -> ProtDecoding:
        if isinstance(tokens, str):
            tokens = self._model.parse_tokens(tokens)
        elif hasattr(tokens, "tolist"):
            tokens = tokens.tolist()
        return self._model.decode(list(tokens), sequence or "", chain, overlap)


class Tokenizer:
    """The BPE tokenizer of a model folder (tokenizer.json, tokenizer_config.json), as Hugging Face's."""

    def __init__(self, model_dir: str | os.PathLike):
        self._tok = _bmx._Tokenizer(os.fspath(model_dir))

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return self._tok.encode(text, add_special_tokens)

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return self._tok.decode(list(ids), skip_special_tokens)

    def apply_chat_template(self, messages, add_generation_prompt: bool = True, tokenize: bool = False,
                            enable_thinking: bool | None = None, tools=None):
        text = self._tok.apply_chat_template(json.dumps(list(messages)), add_generation_prompt, enable_thinking,
                                             "" if tools is None else json.dumps(tools))
        return self._tok.encode(text, False) if tokenize else text

    def token_to_id(self, token: str) -> int | None:
        return self._tok.token_to_id(token)

    def id_to_token(self, id: int) -> str | None:
        return self._tok.id_to_token(id)

    @property
    def vocab_size(self) -> int:
        return self._tok.vocab_size

    @property
    def eos_token(self) -> str:
        return self._tok.eos_token


_SAMPLING = ("max_new_tokens", "temperature", "top_k", "top_p", "min_p", "repeat_penalty", "seed", "ctx", "stop",
             "constrain", "think")


def _sampling(kwargs):
    s = _bmx._Sampling()
    for key, value in kwargs.items():
        if key not in _SAMPLING:
            raise TypeError(f"unknown sampling setting {key!r} (known: {', '.join(_SAMPLING)})")
        if key == "stop" and isinstance(value, str):
            value = [value]
        setattr(s, key, value)
    return s


def _run_flag(key):
    return "--" + key.replace("_", "-")


class Model:
    """A BioMatrix / Qwen3 decoder model folder (config.json, *.safetensors, tokenizer.json, ...)."""

    def __init__(self, model_dir: str | os.PathLike, threads: int = 0, mmap: bool | None = None):
        self.model_dir = os.fspath(model_dir)
        self._threads = threads
        self._model = _bmx._Model(self.model_dir, threads, mmap)

    def generate(self, prompt: str, *, chat: bool = False, system: str = "", **sampling) -> str:
        return self.generate_detail(prompt, chat=chat, system=system, **sampling)["text"]

    def generate_detail(self, prompt: str, *, chat: bool = False, system: str = "", **sampling) -> dict:
        return self._model.generate(prompt, chat, system, _sampling(sampling), None)

    def stream(self, prompt: str, *, chat: bool = False, system: str = "", **sampling):
        settings = _sampling(sampling)
        pieces = queue.Queue()
        done = object()
        failure = []

        def work():
            try:
                self._model.generate(prompt, chat, system, settings, pieces.put)
            except BaseException as e:  # handed to the consumer
                failure.append(e)
            finally:
                pieces.put(done)

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        while (piece := pieces.get()) is not done:
            yield piece
        thread.join()
        if failure:
            raise failure[0]

    def run(self, task: str, out: str | os.PathLike | None = None, **inputs) -> dict:
        # The Model's decoder and tokenizer serve the run (the compiled side checks -m is this folder); the
        # structure tokenizers it loads are kept for the next run.
        args = ["-m", self.model_dir, "--task", task, "-q"]
        if "threads" not in inputs:
            args += ["-t", str(self._threads)]
        for key, value in inputs.items():
            for v in value if isinstance(value, (list, tuple)) else [value]:
                if v is True:
                    args.append(_run_flag(key))
                elif v is not False and v is not None:
                    args += [_run_flag(key), os.fspath(v) if isinstance(v, os.PathLike) else str(v)]
        with tempfile.TemporaryDirectory(prefix="bmx-run-") as tmp:
            outdir = os.fspath(out) if out is not None else os.path.join(tmp, "out")
            self._model.run(args + ["-o", outdir])
            summary_path = os.path.join(outdir, "summary.json")
            if not os.path.exists(summary_path):
                raise InputError(f"bmx run: no summary.json in {outdir}")
            with open(summary_path) as f:
                return json.load(f)


def extract(answer_text: str) -> list[dict]:
    return json.loads(_bmx._extract(answer_text))["segments"]
