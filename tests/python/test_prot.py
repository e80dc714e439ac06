"""bmx.GcpVqvae against the command line and the reference vectors (tiny model): the same tokens and JSON lines,
coordinates as numpy arrays, decoded backbones as the vectors have them, PDB/mmCIF text gemmi reads back."""
import gzip
import json

import numpy as np
import pytest

import bmx
from conftest import run_bmx, shared_file

CHAINS = ["1A8O_A", "1aki_A", "7CFN_R", "1igy_B"]


@pytest.fixture(scope="module")
def gcp(tiny_gcp):
    return bmx.GcpVqvae(tiny_gcp)


def vector(name):
    with open(shared_file(f"vectors/gcp/{name}.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("name", CHAINS)
def test_tokens_and_coordinates_match_vectors(gcp, name):
    v = vector(name)
    inputs = shared_file("vectors/gcp/inputs")
    path = inputs / v["file"] if (inputs / v["file"]).exists() else inputs / (v["file"] + ".gz")  # large ones gzipped
    encodings = gcp.encode(path, chain=v["chain"])
    assert len(encodings) == 1
    e = encodings[0]
    assert e.chain == v["chain"]
    assert e.tokens.tolist() == v["tokens"]
    assert e.positions.tolist() == v["token_positions"]
    assert e.n_ca_c.shape == (len(v["tokens"]), 3, 3)
    read = np.array([v["coords_preprocessed"][p][:3] for p in v["token_positions"]], dtype=float)
    # the N right after an imputed residue is the one preprocessing moved (spec §1 step 9.4), as the model saw it
    moved = [k for k, p in enumerate(v["token_positions"]) if p > 0 and not v["valid"][p - 1]]
    read[moved, 0] = e.n_ca_c[moved, 0]
    np.testing.assert_allclose(e.n_ca_c, read, atol=1e-4)


def test_encode_matches_cli_lines(gcp, tiny_gcp, bmx_exe):
    inputs = [shared_file(f"vectors/gcp/inputs/{f}") for f in ("1aki.pdb", "1A8O.pdb.gz")]
    _, cli, _ = run_bmx(bmx_exe, "prot", "encode", "-q", "--model", tiny_gcp, *inputs)
    python = [e.to_json() for path in inputs for e in gcp.encode(path)]
    assert python == cli.splitlines()


def test_encode_text_like_a_file(gcp):
    path = shared_file("vectors/gcp/inputs/1aki.pdb")
    from_file = gcp.encode(path)
    from_text = gcp.encode(path.read_text())
    assert [e.tokens.tolist() for e in from_text] == [e.tokens.tolist() for e in from_file]
    cif = gzip.decompress(shared_file("vectors/gcp/inputs/7CFN.cif.gz").read_bytes()).decode()
    assert gcp.encode(cif, chain="R")[0].tokens.tolist() == vector("7CFN_R")["tokens"]


@pytest.mark.parametrize("name", ["1aki_A", "1A8O_A"])
def test_decode_matches_vectors_and_reads_back(gcp, name):
    import gemmi
    v = vector(name)
    seq = "".join(v["seq"][p] for p in v["token_positions"])
    d = gcp.decode(np.array(v["tokens"]), sequence=seq)
    assert d.n_ca_c.shape == (len(v["tokens"]), 3, 3)
    np.testing.assert_allclose(d.n_ca_c, np.array(v["decoded_N_CA_C"]), atol=1e-4)
    assert d.sequence == seq
    from_pdb = gemmi.read_pdb_string(d.pdb)
    from_cif = gemmi.make_structure_from_block(gemmi.cif.read_string(d.mmcif).sole_block())
    for st in (from_pdb, from_cif):
        chain = st[0][0]
        assert len(chain) == len(v["tokens"])
        ca = np.array([[a.pos.x, a.pos.y, a.pos.z] for r in chain for a in r if a.name == "CA"])
        np.testing.assert_allclose(ca, d.n_ca_c[:, 1], atol=1e-3)
        assert gemmi.one_letter_code([r.name for r in chain]).upper() == seq
    # the text forms of tokens decode the same
    assert np.array_equal(gcp.decode(" ".join(map(str, v["tokens"])), sequence=seq).n_ca_c, d.n_ca_c)


def test_decode_matches_cli(gcp, tiny_gcp, bmx_exe, scratch):
    import gemmi
    v = vector("1aki_A")
    out = scratch / "decoded_cli.pdb"
    run_bmx(bmx_exe, "prot", "decode", "-q", "--model", tiny_gcp, " ".join(map(str, v["tokens"])), "-o", out)
    cli = gemmi.read_structure(str(out))
    ca = np.array([[a.pos.x, a.pos.y, a.pos.z] for r in cli[0][0] for a in r if a.name == "CA"])
    np.testing.assert_allclose(ca, gcp.decode(v["tokens"]).n_ca_c[:, 1], atol=1e-3)


def test_bad_input_raises_the_cli_message(gcp, tiny_gcp, bmx_exe, scratch):
    bad = scratch / "broken.pdb"
    bad.write_text("ATOM      1  CA  ALA A   1    nonsense\n")
    status, _, err = run_bmx(bmx_exe, "prot", "encode", "-q", "--model", tiny_gcp, bad, check=False)
    assert status == 1
    with pytest.raises(bmx.InputError) as info:
        gcp.encode(bad)
    assert "bmx prot: " + str(info.value) in err.splitlines()
    with pytest.raises(bmx.InputError, match="outside 0..511"):
        gcp.decode([1, 2, 600])
    with pytest.raises(bmx.InputError):
        gcp.decode([1, 2, 3], sequence="MK")  # one letter per token
    with pytest.raises(bmx.UnsupportedError, match="no-model-here: not a GCP-VQVAE model directory"):
        bmx.GcpVqvae(bad.parent / "no-model-here")
