#include "bmx/tokenizers/tasks.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include "bmx/core/util/error.h"
#include "bmx/tokenizers/bpe_tokenizer.h"

namespace bmx {
namespace {

using K = InputKind;

InputSlot slot(std::vector<InputKind> accepts, std::string label = {}, bool required = true) {
  InputSlot s;
  s.accepts = std::move(accepts);
  s.label = std::move(label);
  s.required = required;
  return s;
}

constexpr Sampling kGreedy{0.0, 1.0};
// Diversity tasks: nucleus sampling with top-p 1.0 (report §5); the per-task temperatures are not published.
constexpr Sampling kDiverse{1.0, 1.0};

std::vector<TaskPreset> make_presets() {
  std::vector<TaskPreset> t;
  auto add = [&](std::string name, std::string description, std::vector<InputSlot> inputs,
                 std::vector<Modality> outputs, std::string instruction, Sampling sampling,
                 bool length_from_input = false) {
    t.push_back({std::move(name), std::move(description), std::move(inputs), std::move(outputs),
                 std::move(instruction), sampling, length_from_input});
  };
  InputSlot structure = slot({K::protein_structure});
  InputSlot pocket = slot({K::protein_structure});
  pocket.with_sequence = true;
  // Published wordings (spec §4): fold, mol3d with a property, caption (SELFIES). The others are §5.7's.
  add("fold", "protein sequence -> backbone structure (one <S n> per residue)", {slot({K::protein_sequence})},
      {Modality::prot3d}, "Given a protein amino acid sequence, predict its 3D structure.", kGreedy, true);
  add("inverse-fold", "backbone structure -> amino acid sequence of the same length", {structure},
      {Modality::prot_aa}, "Design an amino acid sequence that folds into this backbone structure:", kGreedy, true);
  add("cogen", "new protein: sequence and backbone structure together", {}, {Modality::prot_aa, Modality::prot3d},
      "Generate a protein sequence together with its 3D structure.", kDiverse);
  add("backbone", "new designable protein backbone", {}, {Modality::prot3d},
      "Generate a designable protein backbone structure.", kDiverse);
  add("mol3d", "new molecule with 3D structure; --property KEY=VALUE conditions on a QM9 target",
      {slot({K::property}, {}, false)}, {Modality::mol3d}, "Generate a molecule 3D structure.", kDiverse);
  add("mol-uncond", "new molecule as SELFIES", {}, {Modality::selfies}, "Generate a valid molecule in SELFIES.",
      kDiverse);
  add("text2mol", "text description -> molecule (SMILES)", {slot({K::text})}, {Modality::smiles},
      "Design a molecule that matches the following description and give its SMILES.", kGreedy);
  add("caption", "molecule (SMILES or SELFIES) -> text description", {slot({K::selfies, K::smiles})}, {},
      "I need a brief explanation of the molecule denoted in this {notation} notation.", kGreedy);
  add("iupac2smiles", "IUPAC name -> SMILES", {slot({K::text})}, {Modality::smiles},
      "Convert this IUPAC name into SMILES.", kGreedy);
  add("forward", "reactants (SMILES, '.'-joined) -> major product (SMILES)", {slot({K::smiles})},
      {Modality::smiles}, "Predict the major product of the reaction with these reactants.", kGreedy);
  add("retro", "product (SMILES) -> reactants (SMILES, '.'-joined)", {slot({K::smiles})}, {Modality::smiles},
      "Suggest reactants that can be used to synthesize this molecule.", kGreedy);
  add("affinity-1d", "protein sequence + molecule -> binding affinity (pKd, a number)",
      {slot({K::protein_sequence}), slot({K::smiles, K::selfies})}, {},
      "Predict the binding affinity (pKd) between the protein and the molecule.", kGreedy);
  add("affinity-3d", "ligand 3D file + pocket structure file -> binding affinity (a number)",
      {slot({K::molecule_3d}), pocket}, {}, "Predict the binding affinity of this ligand to the pocket.", kGreedy);
  add("ppi", "two protein sequences -> do they interact (Yes/No)",
      {slot({K::protein_sequence}, "Protein A:"), slot({K::protein_sequence}, "Protein B:")}, {},
      "Do these two proteins interact?", kGreedy);
  // chat: the text is the whole instruction; molecules and proteins given with it follow, wrapped.
  const std::vector<InputKind> any_segment = {K::smiles, K::selfies, K::molecule_3d, K::protein_sequence,
                                              K::protein_structure};
  std::vector<InputSlot> chat = {slot({K::text})};
  for (int i = 0; i < 4; ++i) chat.push_back(slot(any_segment, {}, false));
  add("chat", "free question (--text), optional molecules/proteins appended; segments of the answer extracted",
      chat, {}, "", kGreedy);
  return t;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The character at `pos` for a message: a whole UTF-8 sequence when it starts one.
std::string character_at(std::string_view text, std::size_t pos) {
  const unsigned char c = static_cast<unsigned char>(text[pos]);
  const std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  return std::string(text.substr(pos, n));
}

[[noreturn]] void bad_character(const std::string& where, std::string_view text, std::size_t pos,
                                const char* expected) {
  throw InputError(where + ": '" + character_at(text, pos) + "' at position " + std::to_string(pos + 1) +
                   " is not " + expected);
}

// The content of `text` when it is one wrapped segment of modality m, else `text` itself.
std::string_view unwrap(std::string_view text, Modality m) {
  const std::string_view s = start_marker(m), e = end_marker(m);
  if (text.size() >= s.size() + e.size() && text.substr(0, s.size()) == s && text.substr(text.size() - e.size()) == e)
    return text.substr(s.size(), text.size() - s.size() - e.size());
  return text;
}

std::string checked_smiles(std::string_view text, const std::string& where) {
  const std::string_view s = unwrap(trim(text), Modality::smiles);
  if (s.empty()) throw InputError(where + ": empty SMILES");
  for (std::size_t i = 0; i < s.size(); ++i)
    if (!is_smiles_char(s[i])) bad_character(where, s, i, "a SMILES character");
  return std::string(s);
}

std::string checked_selfies(std::string_view text, const std::string& where) {
  const std::string_view s = unwrap(trim(text), Modality::selfies);
  if (s.empty()) throw InputError(where + ": empty SELFIES");
  for (std::size_t i = 0; i < s.size();) {
    if (s[i] == '.') {  // fragments
      ++i;
      continue;
    }
    const std::size_t n = match_selfies_symbol(s, i);
    if (n == 0) bad_character(where, s, i, "the start of a SELFIES symbol [..]");
    i += n;
  }
  return std::string(s);
}

std::string residues_segment(const std::string& letters) {
  std::string content;
  for (char c : letters) content += residue_token(c);
  return wrap_segment(Modality::prot_aa, content);
}

std::string structure_segment(const std::vector<int>& codes) {
  std::string content;
  for (int c : codes) content += structure_token(c);
  return wrap_segment(Modality::prot3d, content);
}

std::string kind_list(const std::vector<InputKind>& kinds) {
  std::string s;
  for (std::size_t i = 0; i < kinds.size(); ++i) s += (i ? " or " : "") + std::string(to_string(kinds[i]));
  return s;
}

// "homo=-0.2530" -> " with HOMO energy (homo) = -0.2530" (the value as the user wrote it: its digits are the
// precision asked for).
std::string property_clause(const std::string& text) {
  const std::size_t eq = text.find('=');
  const std::string key(trim(std::string_view(text).substr(0, eq == std::string::npos ? text.size() : eq)));
  if (eq == std::string::npos) throw InputError("--property '" + text + "': expected KEY=VALUE, e.g. homo=-0.2530");
  const std::string value(trim(std::string_view(text).substr(eq + 1)));
  const Qm9Property* prop = nullptr;
  std::string known;
  for (const Qm9Property& p : qm9_properties()) {
    if (lower(p.key) == lower(key)) prop = &p;
    known += (known.empty() ? "" : ", ") + p.key;
  }
  if (!prop) throw InputError("--property: unknown property '" + key + "' (known: " + known + ")");
  char* end = nullptr;
  const double v = value.empty() ? NAN : std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0' || !std::isfinite(v))
    throw InputError("--property " + prop->key + ": '" + value + "' is not a number (in " + prop->unit + ")");
  return " with " + prop->label + " (" + prop->key + ") = " + value;
}

// One input as it appears in the user turn.
std::string input_text(const InputSlot& s, const InputValue& v, const std::string& where) {
  switch (v.kind) {
    case K::protein_sequence: return residues_segment(parse_protein_sequence(v.text, where));
    case K::protein_structure: {
      if (v.structure.empty()) throw InputError(where + ": no structure tokens");
      std::string out = s.with_sequence ? residues_segment(parse_protein_sequence(v.sequence, where)) : "";
      return out + structure_segment(v.structure);
    }
    case K::smiles: return wrap_segment(Modality::smiles, checked_smiles(v.text, where));
    case K::selfies: return wrap_segment(Modality::selfies, checked_selfies(v.text, where));
    case K::molecule_3d: return wrap_segment(Modality::mol3d, unwrap(trim(v.text), Modality::mol3d));
    case K::text: {
      const std::string_view t = trim(v.text);
      if (t.empty()) throw InputError(where + ": empty text");
      return std::string(t);
    }
    case K::property: return {};
  }
  return {};
}

int residue_count(const InputValue& v) {
  return static_cast<int>(v.kind == K::protein_structure ? v.structure.size()
                                                         : parse_protein_sequence(v.text, "sequence").size());
}

}  // namespace

std::vector<std::string> missing_control_tokens(const Tokenizer& tokenizer) {
  std::vector<std::string> missing;
  for (int i = 0; i < kModalityCount; ++i)
    for (std::string_view marker : {start_marker(Modality(i)), end_marker(Modality(i))})
      if (!tokenizer.token_to_id(marker)) missing.emplace_back(marker);
  return missing;
}

const char* to_string(InputKind k) {
  switch (k) {
    case K::protein_sequence: return "protein sequence";
    case K::protein_structure: return "protein structure";
    case K::smiles: return "SMILES";
    case K::selfies: return "SELFIES";
    case K::molecule_3d: return "molecule 3D file";
    case K::text: return "text";
    case K::property: return "property";
  }
  return "?";
}

const std::vector<TaskPreset>& task_presets() {
  static const std::vector<TaskPreset> presets = make_presets();
  return presets;
}

Sampling default_sampling(const TaskPreset& task, int samples) {
  return samples > 1 && task.sampling.greedy() ? kDiverse : task.sampling;
}

const TaskPreset& find_task(std::string_view name) {
  std::string known;
  for (const TaskPreset& t : task_presets()) {
    if (t.name == name) return t;
    known += (known.empty() ? "" : ", ") + t.name;
  }
  throw InputError("unknown task '" + std::string(name) + "' (known: " + known + ")");
}

const std::vector<Qm9Property>& qm9_properties() {
  // Units of QM9 as the report gives the values (HOMO in Hartree, §4 Fig. 1; Table 17 for the others).
  static const std::vector<Qm9Property> props = {
      {"mu", "dipole moment", "D"},
      {"alpha", "isotropic polarizability", "Bohr^3"},
      {"homo", "HOMO energy", "Hartree"},
      {"lumo", "LUMO energy", "Hartree"},
      {"gap", "HOMO-LUMO gap", "Hartree"},
      {"Cv", "heat capacity", "cal/(mol K)"},
  };
  return props;
}

std::string parse_protein_sequence(std::string_view text, const std::string& where) {
  const std::string_view s = unwrap(trim(text), Modality::prot_aa);
  std::string letters;
  for (std::size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (std::isspace(c)) {
      ++i;
    } else if (auto r = match_residue_token(s, i)) {
      letters += *r;
      i += 5;
    } else if (std::isalpha(c)) {
      letters += static_cast<char>(std::toupper(c));
      ++i;
    } else {
      bad_character(where, s, i, "one of the 26 residue letters A-Z");
    }
  }
  if (letters.empty()) throw InputError(where + ": empty protein sequence");
  return letters;
}

std::vector<ListRecord> parse_input_list(std::string_view text, InputKind kind, const std::string& where) {
  std::vector<ListRecord> out;
  int line_no = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    const std::string_view line = trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty()) continue;
    if (kind != InputKind::protein_sequence) {
      out.push_back({"line" + std::to_string(line_no), std::string(line), line_no});
    } else if (line.front() == '>') {
      const std::string_view header = trim(line.substr(1));
      std::string id(header.substr(0, header.find_first_of(" \t")));
      if (id.empty()) id = "record" + std::to_string(out.size() + 1);
      out.push_back({id, {}, line_no});
    } else if (out.empty()) {
      throw InputError(where + ":" + std::to_string(line_no) + ": not FASTA: sequence text before the first '>' line");
    } else {
      out.back().text += line;
    }
  }
  if (out.empty()) throw InputError(where + ": no records");
  return out;
}

TaskPrompt build_task_prompt(const TaskPreset& task, const std::vector<InputValue>& values,
                             const std::string& instruction) {
  std::vector<bool> used(values.size(), false);
  std::string wording = instruction.empty() ? task.instruction : instruction;
  std::vector<std::string> parts;
  const InputValue* first_protein = nullptr;
  for (const InputSlot& s : task.inputs) {
    const InputValue* v = nullptr;
    for (std::size_t i = 0; i < values.size() && !v; ++i)
      for (InputKind k : s.accepts)
        if (!used[i] && values[i].kind == k) {
          used[i] = true;
          v = &values[i];
          break;
        }
    if (!v) {
      if (s.required)
        throw InputError("task '" + task.name + "' needs a " + kind_list(s.accepts) +
                         " input (bmx run --list-tasks shows what each task takes)");
      continue;
    }
    const std::string where = s.label.empty() ? to_string(v->kind) : s.label.substr(0, s.label.size() - 1);
    if (v->kind == K::property) {
      if (!wording.empty() && wording.back() == '.') wording.pop_back();
      wording += property_clause(v->text) + ".";
      continue;
    }
    if (v->kind == K::protein_sequence || v->kind == K::protein_structure) {
      if (!first_protein) first_protein = v;
    }
    std::string text = input_text(s, *v, where);
    parts.push_back(s.label.empty() ? text : s.label + " " + text);
    // The caption wording names the notation the molecule is written in.
    const std::size_t n = wording.find("{notation}");
    if (n != std::string::npos && (v->kind == K::smiles || v->kind == K::selfies))
      wording.replace(n, 10, v->kind == K::smiles ? "SMILES" : "SELFIES");
  }
  for (std::size_t i = 0; i < values.size(); ++i)
    if (!used[i]) {
      std::string takes;
      for (const InputSlot& s : task.inputs) takes += (takes.empty() ? "" : ", ") + kind_list(s.accepts);
      throw InputError("task '" + task.name + "' takes no " + (values[i].kind == K::property ? "further " : "") +
                       to_string(values[i].kind) + " input (it takes: " + (takes.empty() ? "nothing" : takes) + ")");
    }
  TaskPrompt p;
  p.user_turn = wording;
  for (const std::string& part : parts) p.user_turn += (p.user_turn.empty() ? "" : "\n") + part;
  for (Modality m : task.outputs) p.constraint.required.push_back({m, std::nullopt});
  if (task.length_from_input && first_protein) {
    p.expected_length = residue_count(*first_protein);
    for (SegmentRequirement& r : p.constraint.required) r.length = p.expected_length;
  }
  return p;
}

}  // namespace bmx
