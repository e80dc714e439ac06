// The terms of RDKit's MMFF force field, read out of its contribs. RDKit keeps each contrib's atoms and
// parameters private and offers no getters; the standard's rule that explicit instantiations may name
// private members gives typed pointers to them (no layout assumptions, checked by the compiler).
#include <ForceField/ForceField.h>
#include <ForceField/MMFF/Contribs.h>

#include <cstdint>
#include <unordered_map>

#include "mmff_flat.h"

namespace bmx::forcefield {
namespace {

namespace M = ForceFields::MMFF;
using DoublePair = std::pair<double, double>;

template <typename Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-template-friend"
#define BMX_EXPOSE(Tag, Class, Type, name) \
  struct Tag {                             \
    using type = Type M::Class::*;         \
    friend type member(Tag);               \
  };                                       \
  template struct Expose<Tag, &M::Class::name>;

BMX_EXPOSE(BondI, BondStretchContrib, int, d_at1Idx)
BMX_EXPOSE(BondJ, BondStretchContrib, int, d_at2Idx)
BMX_EXPOSE(BondR0, BondStretchContrib, double, d_r0)
BMX_EXPOSE(BondKb, BondStretchContrib, double, d_kb)

BMX_EXPOSE(AngleI, AngleBendContrib, int, d_at1Idx)
BMX_EXPOSE(AngleJ, AngleBendContrib, int, d_at2Idx)
BMX_EXPOSE(AngleK, AngleBendContrib, int, d_at3Idx)
BMX_EXPOSE(AngleTheta0, AngleBendContrib, double, d_theta0)
BMX_EXPOSE(AngleKa, AngleBendContrib, double, d_ka)
BMX_EXPOSE(AngleLinear, AngleBendContrib, bool, d_isLinear)

BMX_EXPOSE(StbnI, StretchBendContrib, int, d_at1Idx)
BMX_EXPOSE(StbnJ, StretchBendContrib, int, d_at2Idx)
BMX_EXPOSE(StbnK, StretchBendContrib, int, d_at3Idx)
BMX_EXPOSE(StbnR1, StretchBendContrib, double, d_restLen1)
BMX_EXPOSE(StbnR2, StretchBendContrib, double, d_restLen2)
BMX_EXPOSE(StbnTheta0, StretchBendContrib, double, d_theta0)
BMX_EXPOSE(StbnKs, StretchBendContrib, DoublePair, d_forceConstants)

BMX_EXPOSE(OopI, OopBendContrib, int, d_at1Idx)
BMX_EXPOSE(OopJ, OopBendContrib, int, d_at2Idx)
BMX_EXPOSE(OopK, OopBendContrib, int, d_at3Idx)
BMX_EXPOSE(OopL, OopBendContrib, int, d_at4Idx)
BMX_EXPOSE(OopKoop, OopBendContrib, double, d_koop)

BMX_EXPOSE(TorI, TorsionAngleContrib, int, d_at1Idx)
BMX_EXPOSE(TorJ, TorsionAngleContrib, int, d_at2Idx)
BMX_EXPOSE(TorK, TorsionAngleContrib, int, d_at3Idx)
BMX_EXPOSE(TorL, TorsionAngleContrib, int, d_at4Idx)
BMX_EXPOSE(TorV1, TorsionAngleContrib, double, d_V1)
BMX_EXPOSE(TorV2, TorsionAngleContrib, double, d_V2)
BMX_EXPOSE(TorV3, TorsionAngleContrib, double, d_V3)

BMX_EXPOSE(VdwI, VdWContrib, int, d_at1Idx)
BMX_EXPOSE(VdwJ, VdWContrib, int, d_at2Idx)
BMX_EXPOSE(VdwR, VdWContrib, double, d_R_ij_star)
BMX_EXPOSE(VdwEps, VdWContrib, double, d_wellDepth)

BMX_EXPOSE(EleI, EleContrib, int, d_at1Idx)
BMX_EXPOSE(EleJ, EleContrib, int, d_at2Idx)
BMX_EXPOSE(EleCharge, EleContrib, double, d_chargeTerm)
BMX_EXPOSE(EleDiel, EleContrib, std::uint8_t, d_dielModel)
BMX_EXPOSE(Ele14, EleContrib, bool, d_is1_4)

#undef BMX_EXPOSE
#pragma GCC diagnostic pop

template <typename Tag, typename Contrib>
auto get(const Contrib& c) {
  return c.*member(Tag{});
}

// Starts a new block when the kind changes.
void extend(MmffTerms& t, MmffTerms::Kind kind, std::size_t index) {
  if (t.blocks.empty() || t.blocks.back().kind != kind) t.blocks.push_back({kind, index, index});
  t.blocks.back().end = index + 1;
}

}  // namespace

bool mmff_terms(const ForceFields::ForceField& ff, MmffTerms& t) {
  using Kind = MmffTerms::Kind;
  t = MmffTerms{};
  t.num_atoms = static_cast<int>(ff.positions().size());
  if (ff.dimension() != 3 || !ff.fixedPoints().empty()) return false;
  bool have_ele = false;
  for (const auto& ptr : ff.contribs()) {
    const ForceFields::ForceFieldContrib* c = ptr.get();
    if (const auto* b = dynamic_cast<const M::BondStretchContrib*>(c)) {
      t.bonds.push_back({get<BondI>(*b), get<BondJ>(*b), get<BondR0>(*b), get<BondKb>(*b)});
      extend(t, Kind::bond, t.bonds.size() - 1);
    } else if (const auto* a = dynamic_cast<const M::AngleBendContrib*>(c)) {
      t.angles.push_back({get<AngleI>(*a), get<AngleJ>(*a), get<AngleK>(*a), get<AngleTheta0>(*a), get<AngleKa>(*a),
                          get<AngleLinear>(*a)});
      extend(t, Kind::angle, t.angles.size() - 1);
    } else if (const auto* s = dynamic_cast<const M::StretchBendContrib*>(c)) {
      DoublePair k = get<StbnKs>(*s);
      t.stretch_bends.push_back({get<StbnI>(*s), get<StbnJ>(*s), get<StbnK>(*s), get<StbnR1>(*s), get<StbnR2>(*s),
                                 get<StbnTheta0>(*s), k.first, k.second, -1});
      extend(t, Kind::stretch_bend, t.stretch_bends.size() - 1);
    } else if (const auto* o = dynamic_cast<const M::OopBendContrib*>(c)) {
      t.out_of_planes.push_back({get<OopI>(*o), get<OopJ>(*o), get<OopK>(*o), get<OopL>(*o), get<OopKoop>(*o)});
      extend(t, Kind::out_of_plane, t.out_of_planes.size() - 1);
    } else if (const auto* r = dynamic_cast<const M::TorsionAngleContrib*>(c)) {
      t.torsions.push_back(
          {get<TorI>(*r), get<TorJ>(*r), get<TorK>(*r), get<TorL>(*r), get<TorV1>(*r), get<TorV2>(*r), get<TorV3>(*r)});
      extend(t, Kind::torsion, t.torsions.size() - 1);
    } else if (const auto* v = dynamic_cast<const M::VdWContrib*>(c)) {
      t.vdw.i.push_back(get<VdwI>(*v));
      t.vdw.j.push_back(get<VdwJ>(*v));
      t.vdw.r_star.push_back(get<VdwR>(*v));
      t.vdw.well_depth.push_back(get<VdwEps>(*v));
      extend(t, Kind::vdw, t.vdw.i.size() - 1);
    } else if (const auto* e = dynamic_cast<const M::EleContrib*>(c)) {
      std::uint8_t diel = get<EleDiel>(*e);
      if (have_ele && diel != t.electrostatic.diel_model) return false;
      have_ele = true;
      t.electrostatic.diel_model = diel;
      t.electrostatic.i.push_back(get<EleI>(*e));
      t.electrostatic.j.push_back(get<EleJ>(*e));
      t.electrostatic.charge_term.push_back(get<EleCharge>(*e));
      t.electrostatic.one_four.push_back(get<Ele14>(*e) ? 1 : 0);
      extend(t, Kind::electrostatic, t.electrostatic.i.size() - 1);
    } else {
      return false;
    }
  }
  // RDKit makes a stretch-bend for every angle term it can (same atoms, same order).
  std::unordered_map<std::int64_t, int> angles;
  angles.reserve(t.angles.size());
  auto key3 = [&](int i, int j, int k) { return (std::int64_t(i) * t.num_atoms + j) * t.num_atoms + k; };
  for (std::size_t a = 0; a < t.angles.size(); ++a)
    angles.emplace(key3(t.angles[a].i, t.angles[a].j, t.angles[a].k), static_cast<int>(a));
  for (auto& sb : t.stretch_bends) {
    auto it = angles.find(key3(sb.i, sb.j, sb.k));
    if (it != angles.end()) sb.angle = it->second;
  }
  // The electrostatic pairs are usually all vdW pairs too (same atoms, same order): RDKit's builder adds both in
  // one (i, j > i) sweep, so one forward walk over the vdW pairs finds them, with no table of every pair (which
  // took more memory than the terms themselves on large molecules).
  std::size_t v = 0;
  const std::size_t nv = t.vdw.i.size();
  t.electrostatic.vdw_index.reserve(t.electrostatic.i.size());
  for (std::size_t p = 0; p < t.electrostatic.i.size(); ++p) {
    const int ei = t.electrostatic.i[p], ej = t.electrostatic.j[p];
    while (v < nv && (t.vdw.i[v] != ei || t.vdw.j[v] != ej)) ++v;
    if (v == nv) {  // another order: each pair's geometry is computed on its own
      t.electrostatic.vdw_index.clear();
      break;
    }
    t.electrostatic.vdw_index.push_back(static_cast<int>(v++));
  }
  return true;
}

}  // namespace bmx::forcefield
