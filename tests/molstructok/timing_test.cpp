// Not run by default (indicative figures, the machine is shared): ./test_molstructok --no-skip -tc="*speed*"
// Times are thread CPU time, so other processes' turns on a loaded machine are not counted.
#include <doctest/doctest.h>
#include <GraphMol/MolOps.h>
#include <GraphMol/SmilesParse/SmilesParse.h>

#include <algorithm>
#include <ctime>
#include <functional>
#include <iomanip>
#include <iostream>

#include "bmx/core/error.h"
#include "bmx/mol3d/canonical_order.h"
#include "bmx/mol3d/internal_coords.h"
#include "bmx/mol3d/struct_tokens.h"
#include "bmx/tokenizers/selfies.h"
#include "vectors.h"

using namespace bmx;

namespace {

double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Best of `reps` passes over all molecules, in microseconds per molecule (best: least disturbed); the mean
// of the passes in *mean if given.
double us_per_mol(std::size_t n, int reps, const std::function<void()>& pass, double* mean = nullptr) {
  double best = 1e30, total = 0;
  for (int r = 0; r < reps; ++r) {
    double t0 = cpu_seconds();
    pass();
    double t = cpu_seconds() - t0;
    best = std::min(best, t);
    total += t;
  }
  if (mean) *mean = total / reps / double(n) * 1e6;
  return best / double(n) * 1e6;
}

std::vector<std::vector<int>> neighbours(const RDKit::ROMol& mol, const std::vector<int>& order) {
  std::vector<int> index(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) index[order[k]] = int(k);
  std::vector<std::vector<int>> nb(mol.getNumAtoms());
  for (const RDKit::Bond* b : mol.bonds()) {
    int a = index[b->getBeginAtomIdx()], c = index[b->getEndAtomIdx()];
    nb[a].push_back(c);
    nb[c].push_back(a);
  }
  return nb;
}

void row(const char* what, double us) {
  std::cout << "  " << std::left << std::setw(50) << what << std::right << std::fixed << std::setprecision(2)
            << std::setw(9) << us << " us/mol\n";
}

}  // namespace

TEST_CASE("MolStrucTok speed, single thread, public inputs" * doctest::skip()) {
  std::vector<std::unique_ptr<RDKit::RWMol>> mols;
  std::vector<std::string> strings;
  long atoms = 0;
  for (const auto& r : test::public_records()) {
    if (r.contains("encode_error") || r.contains("decode_error")) continue;
    mols.push_back(test::read_molblock(r["input_molblock"]));
    strings.push_back(r["struct_sfi"]);
    atoms += long(mols.back()->getNumAtoms());
  }
  const std::size_t n = mols.size();
  const auto& m = test::model();
  const int reps = 10;
  std::size_t sink = 0;

  // Inputs of each stage, computed once so that each stage is timed alone.
  std::vector<mol3d::CanonicalOrder> orders;
  std::vector<std::string> selfies_strings;
  std::vector<std::vector<std::array<double, 4>>> descs;
  std::vector<std::vector<int>> codes;
  for (const auto& mol : mols) {
    orders.push_back(mol3d::canonical_order(*mol));
    selfies_strings.push_back(selfies::encode(orders.back().smiles));
    descs.push_back(m.encode(*mol).descriptors);
    codes.push_back(m.codes_of(descs.back()));
  }
  std::vector<std::vector<mol3d::StructToken>> tokens;
  std::vector<std::string> decoded_selfies, decoded_smiles;
  for (const auto& s : strings) {
    tokens.push_back(mol3d::parse_struct_tokens(s));
    decoded_selfies.push_back(mol3d::selfies_of(tokens.back()));
    decoded_smiles.push_back(selfies::decode(decoded_selfies.back()).smiles);
  }
  RDKit::SmilesParserParams unsanitized;
  unsanitized.sanitize = false;
  unsanitized.removeHs = false;
  unsanitized.allowCXSMILES = false;
  unsanitized.parseName = false;
  std::vector<std::unique_ptr<RDKit::RWMol>> parsed;
  for (const auto& s : decoded_smiles) parsed.emplace_back(RDKit::SmilesToMol(s, unsanitized));
  std::vector<std::vector<std::array<double, 4>>> decoded_desc;
  std::vector<std::vector<mol3d::ReferenceAtoms>> decoded_refs;
  for (const auto& s : strings) {
    mol3d::Decoding d = m.decode_detail(s);
    decoded_desc.push_back(d.descriptors);
    decoded_refs.push_back(d.reference_atoms);
  }

  std::cout << n << " molecules, " << double(atoms) / double(n) << " atoms on average; best of " << reps
            << " passes, thread CPU time\nencode stages:\n";
  double canon = us_per_mol(n, reps, [&] {
    for (const auto& mol : mols) sink += mol3d::canonical_order(*mol).atom_order.size();
  });
  row("canonical order (RDKit ranking + traversal)", canon);
  row("  (the same through MolToSmiles, for comparison)", us_per_mol(n, reps, [&] {
        for (const auto& mol : mols) sink += mol3d::canonical_order_rdkit(*mol).atom_order.size();
      }));
  row("SELFIES encode", us_per_mol(n, reps, [&] {
        for (const auto& s : orders) sink += selfies::encode(s.smiles).size();
      }));
  row("SELFIES split", us_per_mol(n, reps, [&] {
        for (const auto& s : selfies_strings) sink += selfies::split(s).size();
      }));
  row("reference atoms + descriptors", us_per_mol(n, reps, [&] {
        for (std::size_t i = 0; i < n; ++i) {
          const RDKit::Conformer& conf = mols[i]->getConformer();
          std::vector<mol3d::Vec3> pos;
          for (int k : orders[i].atom_order) {
            const auto& p = conf.getAtomPos(k);
            pos.push_back({p.x, p.y, p.z});
          }
          sink += mol3d::descriptors(pos, mol3d::reference_atoms(neighbours(*mols[i], orders[i].atom_order))).size();
        }
      }));
  row("VQ network (encoder MLP + nearest code)", us_per_mol(n, reps, [&] {
        for (const auto& d : descs) sink += m.codes_of(d).size();
      }));
  row("token string (format_struct_token per symbol)", us_per_mol(n, reps, [&] {
        for (std::size_t i = 0; i < n; ++i) {
          std::string s;
          for (const std::string& sym : selfies::split(selfies_strings[i])) s += mol3d::format_struct_token(sym, 17);
          sink += s.size();
        }
      }));
  double enc_mean = 0, dec_mean = 0;
  double enc = us_per_mol(n, reps, [&] {
    for (const auto& mol : mols) sink += m.encode(*mol).struct_sfi.size();
  }, &enc_mean);
  row("encode, whole", enc);

  std::cout << "decode stages:\n";
  row("parse struct_sfi", us_per_mol(n, reps, [&] {
        for (const auto& s : strings) sink += mol3d::parse_struct_tokens(s).size();
      }));
  row("SELFIES decode (with attribution)", us_per_mol(n, reps, [&] {
        for (const auto& s : decoded_selfies) sink += selfies::decode(s).smiles.size();
      }));
  row("RDKit SmilesToMol, not sanitized", us_per_mol(n, reps, [&] {
        for (const auto& s : decoded_smiles) {
          std::unique_ptr<RDKit::RWMol> p(RDKit::SmilesToMol(s, unsanitized));
          sink += p->getNumAtoms();
        }
      }));
  row("RDKit sanitizeMol", us_per_mol(n, reps, [&] {
        for (const auto& p : parsed) {
          RDKit::RWMol copy(*p);
          RDKit::MolOps::sanitizeMol(copy);
          sink += copy.getNumAtoms();
        }
      }));
  row("  (RWMol copy alone, subtract from above)", us_per_mol(n, reps, [&] {
        for (const auto& p : parsed) {
          RDKit::RWMol copy(*p);
          sink += copy.getNumAtoms();
        }
      }));
  row("reference atoms + reconstruct", us_per_mol(n, reps, [&] {
        for (std::size_t i = 0; i < n; ++i) {
          std::vector<int> identity(parsed[i]->getNumAtoms());
          for (std::size_t k = 0; k < identity.size(); ++k) identity[k] = int(k);
          sink += mol3d::reference_atoms(neighbours(*parsed[i], identity)).size();
          sink += mol3d::reconstruct(decoded_desc[i], decoded_refs[i]).size();
        }
      }));
  double dec = us_per_mol(n, reps, [&] {
    for (const auto& s : strings) sink += m.decode(s)->getNumAtoms();
  }, &dec_mean);
  row("decode, whole", dec);

  std::cout << std::setprecision(0) << "encode " << 1e6 / enc << " mol/s, " << 1e6 / enc * double(atoms) / double(n)
            << " atoms/s; decode " << 1e6 / dec << " mol/s, " << 1e6 / dec * double(atoms) / double(n)
            << " atoms/s (" << sink % 10 << ")\n"
            << "mean of the passes: encode " << 1e6 / enc_mean << " mol/s, decode " << 1e6 / dec_mean << " mol/s\n";
  std::cout.unsetf(std::ios::fixed);
}

TEST_CASE("decode_only error messages" * doctest::skip()) {
  for (const auto& r : test::decode_only_records()) {
    try {
      test::model().decode(r["struct_sfi"].get<std::string>());
    } catch (const InputError& e) {
      std::cout << r["name"].get<std::string>() << ": " << e.what() << "\n";
    }
  }
}
