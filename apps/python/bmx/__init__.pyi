"""bmx: BioMatrix's tokenizers and decoder runtime from Python (type hints and documentation)."""
from __future__ import annotations

import os
from typing import Any, Iterable, Iterator, Literal, Sequence, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, os.PathLike]

class InputError(ValueError):
    """Something in an input (file, string, record, model folder) is wrong; the message is one line naming the
    file, record and problem, as the `bmx` command prints it."""

class UnsupportedError(RuntimeError):
    """The input is fine but bmx cannot do what was asked (no model found, unsupported configuration)."""

class MolEncoding:
    """One molecule as MolStrucTok tokens: the fields of a `bmx mol encode` JSON line."""
    name: str
    file: str
    """The path read, or the label of an in-memory molecule ("molecule", "item 3", or the Mol's _Name)."""
    record: int
    """Record number within the file, from 1."""
    smiles: str
    """Canonical Kekulé non-isomeric SMILES of the input (RDKit)."""
    selfies: str
    struct_sfi: str
    """The token string "[H 3][C 0][=N 9]..." ('.' between fragments)."""
    tokens: str
    """<|mol_3d_start|> struct_sfi <|mol_3d_end|>: what BioMatrix reads and writes."""
    codes: npt.NDArray[np.int32]
    """VQ code (0..511) of each atom, in token order."""
    atom_order: npt.NDArray[np.int32]
    """atom_order[k]: the input atom (0-based) of token atom k."""
    code_margin: npt.NDArray[np.float32]
    """Per atom: runner-up minus chosen squared latent distance (small: a fragile code)."""
    hydrogens_added: int
    """Hydrogens the input lacked, added with 3D coordinates before encoding (the model was trained on all-H)."""
    num_fragments: int
    notes: list[str]
    def to_json(self) -> str:
        """The JSON line `bmx mol encode` writes for this record (byte for byte)."""

class MolStrucTok:
    """MolStrucTok: molecules with 3D coordinates <-> `[SELFIES-symbol code]` tokens, one code per atom.

    checkpoint: the .bin checkpoint (default: $BMX_MOLSTRUCTOK, else the one installed with bmx).
    max_atoms: molecules with more atoms, hydrogens included, are refused (bmx mol --max-atoms).
    """
    def __init__(self, checkpoint: PathLike | None = None, *, max_atoms: int = 1000) -> None: ...
    @property
    def checkpoint(self) -> str: ...
    def encode(self, mol: Any | str | os.PathLike) -> MolEncoding:
        """One molecule: an rdkit.Chem.Mol with a 3D conformer (its coordinates cross as a numpy array, at full
        precision), a molblock string, or the path of a file holding one molecule (SDF, MOL, MOL2, XYZ, or any Open
        Babel format). It is read and checked as `bmx mol encode` reads a file holding it (the same result, the
        same refusals): RDKit sanitizes it (RDKit's aromaticity, whatever bond orders the molblock gives), and
        missing hydrogens are added with 3D coordinates. Raises InputError (2D or no coordinates, degenerate
        geometry, too many atoms, a molecule SELFIES cannot write) with bmx's one-line message."""
    def encode_many(self, mols: Iterable[Any | str | os.PathLike], threads: int = 0,
                    errors: Literal["raise", "keep"] = "raise") -> list[MolEncoding | InputError]:
        """Many molecules on bmx's threads (threads <= 0: every core), without the GIL, results in input order.
        errors="raise": the first bad item raises after the batch; "keep": its InputError takes its place."""
    def encode_file(self, path: PathLike, threads: int = 0,
                    errors: Literal["raise", "keep"] = "raise") -> list[MolEncoding | InputError]:
        """Every record of a molecule file, as `bmx mol encode FILE` reads and encodes them."""
    def decode(self, tokens: str | MolEncoding, refine: Literal["mmff94", "mmff94s", "uff"] | None = "mmff94", *,
               max_iters: int = 2000, name: str = "", as_molblock: bool = False) -> Any | str:
        """Tokens (bare struct_sfi or the wrapped form) -> a 3D molecule with hydrogens, refined with the force field
        unless refine is None, as `bmx mol decode` writes it: an rdkit.Chem.Mol carrying bmx's SD fields
        (bmx_tokens, bmx_refinement, energies) when RDKit's Python package is importable, else the SD record text.
        Raises InputError naming the bad token and its position."""

class ProtEncoding:
    """One protein chain as GCP-VQVAE structure tokens: a `bmx prot encode` JSON line."""
    id: str
    chain: str
    file: str
    sequence: str
    """One letter per token."""
    tokens: npt.NDArray[np.int32]
    positions: npt.NDArray[np.int32]
    """Residue index (after gap filling) of each token."""
    residues: list[str]
    """Author residue id ("52", "52A") of each token."""
    n_ca_c: npt.NDArray[np.float64]
    """tokens x 3 x 3: N, CA, C (Å) of each tokenized residue as the model saw them: the file's, except the N right
    after an imputed residue, which preprocessing moves (spec gcp_vqvae.md §1 step 9.4)."""
    struct_tokens: str
    """<|prot_3d_start|><S n>...<|prot_3d_end|>."""
    windows: int
    notes: list[str]
    def to_json(self) -> str:
        """The JSON line `bmx prot encode` writes for this chain (byte for byte)."""

class ProtDecoding:
    """A backbone decoded from structure tokens."""
    tokens: npt.NDArray[np.int32]
    sequence: str
    n_ca_c: npt.NDArray[np.float64]
    """tokens x 3 x 3: N, CA, C (Å); the pose is arbitrary (the model is SE(3)-invariant)."""
    pdb: str
    """PDB text (with ideal carbonyl O), residues named by `sequence` (UNK without one)."""
    mmcif: str
    pieces: int
    """Overlapping pieces decoded (1 unless the tokens are longer than the model's window)."""

class GcpVqvae:
    """GCP-VQVAE: protein backbones <-> structure tokens. model_dir: the released model folder (config_*.yaml,
    checkpoints/best_valid.pth); default $BMX_GCP_VQVAE, else "gcp_vqvae" of the bmx config file."""
    def __init__(self, model_dir: PathLike | None = None) -> None: ...
    @property
    def max_length(self) -> int: ...
    @property
    def codebook_size(self) -> int: ...
    def encode(self, path_or_text: PathLike, chain: str | None = None, *, window: bool = False,
               window_overlap: int = 128, skipped: list[str] | None = None) -> list[ProtEncoding]:
        """Every protein chain (or `chain`) of a PDB/mmCIF file (.gz too) or of PDB/mmCIF text, in file order.
        Chains that give no tokens are left out, each with its one-line reason appended to `skipped`; raises
        InputError when the file cannot be read or no chain gives tokens."""
    def decode(self, tokens: str | Sequence[int] | npt.NDArray[np.integer], sequence: str | None = None, *,
               chain: str = "A", overlap: int = 128) -> ProtDecoding:
        """Tokens ([1, 2, 3], a numpy array, "1 2 3" or "<S 1><S 2>...") -> N/CA/C coordinates and PDB/mmCIF text.
        sequence: one letter per token (or <A X> tokens) to name the residues."""

class Tokenizer:
    """The BPE tokenizer of a model folder (tokenizer.json, tokenizer_config.json), token for token as Hugging
    Face's tokenizers library."""
    def __init__(self, model_dir: PathLike) -> None: ...
    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]: ...
    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str: ...
    def apply_chat_template(self, messages: Sequence[dict[str, Any]], add_generation_prompt: bool = True,
                            tokenize: bool = False, enable_thinking: bool | None = None,
                            tools: list[dict[str, Any]] | None = None) -> str | list[int]:
        """The model's chat template rendered as transformers' apply_chat_template does."""
    def token_to_id(self, token: str) -> int | None: ...
    def id_to_token(self, id: int) -> str | None: ...
    @property
    def vocab_size(self) -> int: ...
    @property
    def eos_token(self) -> str: ...

class Model:
    """A BioMatrix (Qwen3) decoder model folder: config.json, *.safetensors, tokenizer.json, tokenizer_config.json,
    generation_config.json. threads: maths threads (0: every core). mmap: True maps the weights from the page cache
    (one copy shared by every process on the machine, e.g. Dask workers), False reads them into this process's
    memory (decodes faster on some machines), None (default) reads them when they fit with room to spare, as
    `bmx generate` does."""
    model_dir: str
    def __init__(self, model_dir: PathLike, threads: int = 0, mmap: bool | None = None) -> None: ...
    def generate(self, prompt: str, *, chat: bool = False, system: str = "", max_new_tokens: int = ...,
                 temperature: float = ..., top_k: int = ..., top_p: float = ..., min_p: float = ...,
                 repeat_penalty: float = ..., seed: int = ..., ctx: int = ..., stop: str | list[str] = ...,
                 constrain: bool = True, think: bool = True) -> str:
        """The continuation of `prompt` (chat=True: through the chat template as one user turn) as text. Sampling
        defaults come from generation_config.json, as for `bmx generate`; values out of range raise InputError.
        constrain: keep BioMatrix's modality grammar (always well-formed segments)."""
    def generate_detail(self, prompt: str, *, chat: bool = False, system: str = "", **sampling: Any) -> dict[str, Any]:
        """generate, with the finish reason and the token counts: {text, finish, prompt_tokens, new_tokens}."""
    def stream(self, prompt: str, *, chat: bool = False, system: str = "", **sampling: Any) -> Iterator[str]:
        """generate as an iterator of text pieces, each as soon as it is final (whole UTF-8 characters)."""
    def run(self, task: str, out: PathLike | None = None, **inputs: Any) -> dict[str, Any]:
        """`bmx run --task TASK` with these inputs (the flags' names: sequence=, structure=, smiles=, selfies=,
        molecule=, text=, property=, samples=, instruction=, temp=, seed=, ...; a list repeats a flag, True sets
        a flag) and the model's own tokenizers. The files go to `out` (default: a temporary folder, removed);
        returns summary.json as a dict. Nothing is loaded again: the run uses this Model's decoder and tokenizer
        (a weights= run loads its own), and the structure tokenizers (GCP-VQVAE, MolStrucTok) load at the first
        run that needs them and serve the next runs with the same gcp_vqvae= / molstructok=. threads= defaults to
        the Model's. One run at a time per Model (a second thread's run waits)."""

def extract(answer_text: str) -> list[dict[str, Any]]:
    """The segments of a BioMatrix answer (modality, byte offsets, content, tokens, problems, and per modality
    selfies, codes, n_atoms, sequence), as `bmx extract` parses them."""
