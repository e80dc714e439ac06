"""bmx mol encode | prot encode --shard I/N: N jobs of a job array together write every record exactly once."""
import pytest

from conftest import run_bmx, shared_file


def test_mol_shards_cover_every_record_once(mol_inputs, bmx_exe):
    _, files = mol_inputs
    _, whole, _ = run_bmx(bmx_exe, "mol", "encode", "-q", *files, check=False)  # 2 records are refused
    parts = [run_bmx(bmx_exe, "mol", "encode", "-q", "--shard", f"{i}/3", *files, check=False)[1] for i in range(3)]
    assert sorted("".join(parts).splitlines()) == sorted(whole.splitlines())
    # shard 0 of 3 holds inputs 0 and 3, in the order given
    _, shard0, _ = run_bmx(bmx_exe, "mol", "encode", "-q", files[0], files[3], check=False)
    assert parts[0] == shard0
    # more jobs than inputs: an empty shard is no failure
    status, out, _ = run_bmx(bmx_exe, "mol", "encode", "-q", "--shard", "5/6", *files)
    assert status == 0 and out == ""


def test_prot_shards_cover_every_chain_once(tiny_gcp, bmx_exe):
    inputs = [str(shared_file(f"vectors/gcp/inputs/{f}")) for f in ("1aki.pdb", "1A8O.pdb.gz")]
    _, whole, _ = run_bmx(bmx_exe, "prot", "encode", "-q", "--model", tiny_gcp, *inputs)
    parts = [run_bmx(bmx_exe, "prot", "encode", "-q", "--model", tiny_gcp, "--shard", f"{i}/2", *inputs)[1]
             for i in range(2)]
    assert sorted("".join(parts).splitlines()) == sorted(whole.splitlines())
    status, out, _ = run_bmx(bmx_exe, "prot", "encode", "-q", "--model", tiny_gcp, "--shard", "7/8", *inputs)
    assert status == 0 and out == ""


@pytest.mark.parametrize("spec", ["3/3", "-1/2", "1", "a/b", "1/0", "1/2x"])
def test_bad_shard_spec(mol_inputs, bmx_exe, spec):
    _, files = mol_inputs
    status, _, err = run_bmx(bmx_exe, "mol", "encode", "-q", "--shard", spec, *files, check=False)
    assert status != 0 and f"--shard {spec}: expected I/N" in err
