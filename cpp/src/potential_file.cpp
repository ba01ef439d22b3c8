#include "mtp/potential_file.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "mtp/errors.h"

namespace mtp {

namespace {

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  const size_t b = s.find_first_not_of(ws);
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

class Parser {
 public:
  Parser(std::istream& in, std::string name) : in_(in), name_(std::move(name)) {}

  [[noreturn]] void fail(const std::string& msg) const { throw FileError(name_, line_no_, msg); }

  // Next non-empty line (trimmed); false at end of file or at the MLIP-3 binary block.
  bool next(std::string& out) {
    std::string raw;
    while (std::getline(in_, raw)) {
      ++line_no_;
      if (raw.rfind("#MVS", 0) == 0) {  // never decode the binary block: keep it verbatim
        selection_state_ = raw + "\n" + std::string(std::istreambuf_iterator<char>(in_), {});
        return false;
      }
      for (unsigned char c : raw)
        if (c == 0 || (c < 32 && c != '\t' && c != '\r'))
          fail("not a text potential file (binary data)");
      out = trim(raw);
      if (!out.empty()) return true;
    }
    return false;
  }
  std::string& selection_state() { return selection_state_; }
  void expect_more(std::string& out, const std::string& what) {
    if (!next(out)) fail("unexpected end of file while reading " + what);
  }
  int line() const { return line_no_; }

  double number(const std::string& tok) const {
    const std::string t = trim(tok);
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || *end != '\0') fail("expected a number, got '" + t + "'");
    if (!std::isfinite(v)) fail("non-finite number '" + t + "'");
    return v;
  }
  long integer(const std::string& tok) const {
    const std::string t = trim(tok);
    char* end = nullptr;
    const long v = std::strtol(t.c_str(), &end, 10);
    if (t.empty() || *end != '\0') fail("expected an integer, got '" + t + "'");
    return v;
  }
  // "{a, b, c}" -> numbers
  std::vector<double> number_list(const std::string& s) const {
    const std::string t = trim(s);
    if (t.size() < 2 || t.front() != '{' || t.back() != '}')
      fail("expected a list in braces, got '" + t.substr(0, 60) + "'");
    std::vector<double> out;
    std::stringstream ss(t.substr(1, t.size() - 2));
    std::string item;
    while (std::getline(ss, item, ','))
      if (!trim(item).empty()) out.push_back(number(item));
    return out;
  }
  std::vector<int> int_list(const std::string& s) const {
    std::vector<int> out;
    for (double v : number_list(s)) {
      if (v != std::floor(v)) fail("expected integers in the list");
      out.push_back(int(v));
    }
    return out;
  }
  // "{{a,b,c,d}, {..}}" -> quadruples
  std::vector<std::array<int, 4>> quad_list(const std::string& s) const {
    const std::string t = trim(s);
    if (t.size() < 2 || t.front() != '{' || t.back() != '}') fail("expected a list of 4-tuples");
    std::vector<std::array<int, 4>> out;
    size_t pos = 1;
    while (true) {
      const size_t open = t.find('{', pos);
      if (open == std::string::npos) break;
      const size_t close = t.find('}', open);
      if (close == std::string::npos) fail("unterminated tuple in list");
      const std::vector<int> q = int_list(t.substr(open, close - open + 1));
      if (q.size() != 4)
        fail("expected 4 integers per tuple, got " + std::to_string(q.size()) + " in tuple " +
             std::to_string(out.size()));
      out.push_back({q[0], q[1], q[2], q[3]});
      pos = close + 1;
    }
    return out;
  }
  // `rows` lines of `{...}` with `cols` numbers each, appended to out.
  void matrix_rows(int rows, int cols, std::vector<double>& out, const std::string& what) {
    std::string l;
    for (int r = 0; r < rows; ++r) {
      expect_more(l, what + " (row " + std::to_string(r + 1) + " of " + std::to_string(rows) + ")");
      const std::vector<double> v = number_list(l);
      if (int(v.size()) != cols)
        fail(what + ": row has " + std::to_string(v.size()) + " numbers, expected " +
             std::to_string(cols));
      out.insert(out.end(), v.begin(), v.end());
    }
  }

 private:
  std::istream& in_;
  std::string name_;
  int line_no_ = 0;
  std::string selection_state_;
};

// "a-b" -> (a, b), non-negative integers (MLIP's block labels)
std::pair<int, int> block_label(const Parser& p, const std::string& l) {
  const size_t dash = l.find('-');
  auto digits = [](const std::string& t) {
    return !t.empty() && t.size() < 9 && t.find_first_not_of("0123456789") == std::string::npos;
  };
  if (dash == std::string::npos || !digits(l.substr(0, dash)) || !digits(l.substr(dash + 1)))
    p.fail("expected a radial_coeffs block label 'type-type' (two non-negative integers), got '" +
           l.substr(0, 40) + "'");
  return {std::stoi(l.substr(0, dash)), std::stoi(l.substr(dash + 1))};
}

// MLIP writes block (a, b) as "<type of a>-<type of b>" with the type numbers of the training
// .cfg: 0-based from us, often 1-based from `mlp train`. The first row of blocks fixes each
// species' type number; every later block must agree. Returns the type numbers (N_T).
std::vector<int> read_full_blocks(Parser& p, int nt, int nf, int nb, std::vector<double>& full) {
  std::vector<int> types(nt, -1);
  std::string l;
  for (int a = 0; a < nt; ++a)
    for (int b = 0; b < nt; ++b) {
      const std::string what = "radial_coeffs block " + std::to_string(a * nt + b + 1) + " of " +
                                std::to_string(nt * nt);
      p.expect_more(l, what);
      const auto [ta, tb] = block_label(p, l);
      if (a == 0) {
        if (b == 0) types[0] = ta;
        if (ta != types[0] || (b == 0 && tb != ta))
          p.fail(what + ": expected label '" + std::to_string(types[0]) + "-" +
                 (b == 0 ? std::to_string(types[0]) : std::string("<type>")) + "', got '" + l + "'");
        for (int c = 0; c < b; ++c)
          if (types[c] == tb) p.fail(what + ": type " + std::to_string(tb) + " appears twice in the first row of blocks");
        types[b] = tb;
      } else if (ta != types[a] || tb != types[b]) {
        p.fail(what + ": expected label '" + std::to_string(types[a]) + "-" + std::to_string(types[b]) +
               "' (the first row of blocks gives the types " + [&] {
                 std::string t;
                 for (int x : types) t += (t.empty() ? "" : " ") + std::to_string(x);
                 return t;
               }() + "), got '" + l + "'");
      }
      p.matrix_rows(nf, nb, full, what + " (" + l + ")");
    }
  return types;
}

}  // namespace

Potential parse_potential(std::istream& in, const std::string& source) {
  Parser p(in, source);
  std::string l;
  if (!p.next(l)) p.fail("empty file: expected the 'MTP' header");
  if (l != "MTP") p.fail("expected the 'MTP' header, got '" + l.substr(0, 40) + "'");

  std::map<std::string, int> seen;  // key -> line
  std::string name = "MTP1m", format = "full";
  RadialBasis basis;
  RepulsiveCore core;
  bool have_core = false;
  int n_species = -1, n_funcs = -1, mf_rank = -1, moments_count = -1, basic_count = -1,
      times_count = -1, scalar_count = -1;
  std::array<int, 3> tt_ranks{{-1, -1, -1}};
  bool have_min = false, have_max = false;
  std::vector<std::string> species;
  std::vector<int> mlip_types;
  std::vector<double> full, species_coeffs, moment_coeffs;
  std::vector<std::vector<double>> factors;
  bool have_radial = false, have_species_coeffs = false, have_moment_coeffs = false;
  MomentProgram prog;
  bool have_basic = false, have_times = false, have_map = false;

  auto need = [&](int v, const char* key) {
    if (v < 0) p.fail(std::string("'") + key + "' must come before this line");
  };
  auto positive = [&](long v, const std::string& key) {
    if (v < 1) p.fail("'" + key + "' must be a positive integer");
    return int(v);
  };

  while (p.next(l)) {
    if (l == "radial_coeffs" || l == "mf_u" || l == "mf_v" || l.rfind("tt_core_", 0) == 0) {
      if (seen.count(l)) p.fail("duplicate block '" + l + "'");
      seen[l] = p.line();
      need(n_species, "species_count");
      need(n_funcs, "radial_funcs_count");
      need(basis.size, "radial_basis_size");
      const int nt = n_species, nf = n_funcs, nb = basis.size;
      if (l == "radial_coeffs") {
        if (format != "full") p.fail("'radial_coeffs' in a file whose radial_coeffs_format is " + format);
        if (!mlip_types.empty()) p.fail("'mlip_types' is only for mf/tt files: full files label their blocks");
        mlip_types = read_full_blocks(p, nt, nf, nb, full);
        have_radial = true;
      } else if (l == "mf_u" || l == "mf_v") {
        if (format != "mf") p.fail("'" + l + "' needs radial_coeffs_format = mf before it");
        need(mf_rank, "mf_rank");
        if (l == "mf_v" && !seen.count("mf_u")) p.fail("'mf_u' must come before 'mf_v'");
        factors.emplace_back();
        if (l == "mf_u") p.matrix_rows(nt * nt, mf_rank, factors.back(), "mf_u");
        else p.matrix_rows(nf * nb, mf_rank, factors.back(), "mf_v");
        have_radial = l == "mf_v";
      } else {
        if (format != "tt") p.fail("'" + l + "' needs radial_coeffs_format = tt before it");
        need(tt_ranks[0], "tt_ranks");
        const int k = int(factors.size()) + 1;
        if (l != "tt_core_" + std::to_string(k)) p.fail("expected 'tt_core_" + std::to_string(k) + "', got '" + l + "'");
        const int rk[5] = {1, tt_ranks[0], tt_ranks[1], tt_ranks[2], 1};
        const int nk[4] = {nt, nt, nf, nb};
        factors.emplace_back();
        p.matrix_rows(rk[k - 1] * nk[k - 1], rk[k], factors.back(), l);
        have_radial = k == 4;
      }
      continue;
    }
    const size_t eq = l.find('=');
    if (eq == std::string::npos) p.fail("expected 'key = value', got '" + l.substr(0, 60) + "'");
    std::string key = trim(l.substr(0, eq));
    const std::string val = trim(l.substr(eq + 1));
    // MLIP also allows `scaling` inside the radial basis block; it multiplies the MTP scaling.
    const bool radial_scaling = key == "scaling" && seen.count("radial_basis_type");
    if (radial_scaling) key = "radial_basis scaling";
    if (seen.count(key))
      p.fail("duplicate key '" + key + "' (first on line " + std::to_string(seen[key]) + ")");
    seen[key] = p.line();
    if (key == "version") {
      if (val != "1.1.0") p.fail("unsupported version '" + val + "' (expected 1.1.0)");
    } else if (key == "lowrank_version") {
      if (p.integer(val) != 1) p.fail("unsupported lowrank_version '" + val + "' (this reader knows 1)");
    } else if (key == "potential_name") {
      name = val;
    } else if (key == "potential_tag") {
    } else if (key == "scaling" || radial_scaling) {
      basis.scaling *= p.number(val);
    } else if (key == "species_count") {
      n_species = positive(p.integer(val), key);
    } else if (key == "species") {
      need(n_species, "species_count");
      std::stringstream ss(val);
      std::string s;
      while (ss >> s) species.push_back(s);
      if (int(species.size()) != n_species)
        p.fail(std::to_string(species.size()) + " species names for species_count = " +
               std::to_string(n_species));
      if (std::set<std::string>(species.begin(), species.end()).size() != species.size())
        p.fail("species names repeat");
    } else if (key == "mlip_types") {
      need(n_species, "species_count");
      mlip_types = p.int_list(val);
      if (int(mlip_types.size()) != n_species)
        p.fail(std::to_string(mlip_types.size()) + " MLIP type numbers for species_count = " +
               std::to_string(n_species));
    } else if (key == "radial_basis_type") {
      if (val != "RBChebyshev") p.fail("unsupported radial_basis_type '" + val + "' (expected RBChebyshev)");
    } else if (key == "min_dist") {
      basis.min_dist = p.number(val);
      have_min = true;
    } else if (key == "max_dist") {
      basis.max_dist = p.number(val);
      have_max = true;
    } else if (key == "radial_basis_size") {
      basis.size = positive(p.integer(val), key);
    } else if (key == "radial_floor") {
      need(n_species, "species_count");
      basis.floor = p.number_list(val);
      if (basis.floor.size() != size_t(n_species) * n_species)
        p.fail("radial_floor has " + std::to_string(basis.floor.size()) + " entries, expected species_count^2 = " +
               std::to_string(n_species * n_species));
    } else if (key == "core") {
      if (val != "zbl") p.fail("unknown core '" + val + "' (this reader knows zbl)");
      have_core = true;
    } else if (key == "core_atomic_numbers") {
      need(n_species, "species_count");
      core.atomic_numbers = p.int_list(val);
    } else if (key == "core_inner" || key == "core_outer") {
      need(n_species, "species_count");
      (key == "core_inner" ? core.inner : core.outer) = p.number_list(val);
    } else if (key == "radial_funcs_count") {
      n_funcs = positive(p.integer(val), key);
    } else if (key == "radial_coeffs_format") {
      if (val != "full" && val != "mf" && val != "tt")
        p.fail("unknown radial_coeffs_format '" + val + "' (expected full, mf or tt)");
      format = val;
    } else if (key == "mf_rank") {
      mf_rank = positive(p.integer(val), key);
    } else if (key == "tt_ranks") {
      const std::vector<int> r = p.int_list(val);
      if (r.size() != 3) p.fail("tt_ranks needs 3 integers {r1, r2, r3}");
      for (int k = 0; k < 3; ++k) tt_ranks[k] = positive(r[k], key);
    } else if (key == "alpha_moments_count") {
      moments_count = int(p.integer(val));
    } else if (key == "alpha_index_basic_count") {
      basic_count = int(p.integer(val));
    } else if (key == "alpha_index_basic") {
      need(basic_count, "alpha_index_basic_count");
      prog.basic = p.quad_list(val);
      if (int(prog.basic.size()) != basic_count)
        p.fail("alpha_index_basic has " + std::to_string(prog.basic.size()) +
               " entries but alpha_index_basic_count = " + std::to_string(basic_count));
      have_basic = true;
    } else if (key == "alpha_index_times_count") {
      times_count = int(p.integer(val));
    } else if (key == "alpha_index_times") {
      need(times_count, "alpha_index_times_count");
      prog.times = p.quad_list(val);
      if (int(prog.times.size()) != times_count)
        p.fail("alpha_index_times has " + std::to_string(prog.times.size()) +
               " entries but alpha_index_times_count = " + std::to_string(times_count));
      have_times = true;
    } else if (key == "alpha_scalar_moments") {
      scalar_count = int(p.integer(val));
    } else if (key == "alpha_moment_mapping") {
      need(scalar_count, "alpha_scalar_moments");
      prog.scalar_map = p.int_list(val);
      if (int(prog.scalar_map.size()) != scalar_count)
        p.fail("alpha_moment_mapping has " + std::to_string(prog.scalar_map.size()) +
               " entries but alpha_scalar_moments = " + std::to_string(scalar_count));
      have_map = true;
    } else if (key == "species_coeffs") {
      need(n_species, "species_count");
      species_coeffs = p.number_list(val);
      if (int(species_coeffs.size()) != n_species)
        p.fail("species_coeffs has " + std::to_string(species_coeffs.size()) +
               " entries for species_count = " + std::to_string(n_species));
      have_species_coeffs = true;
    } else if (key == "moment_coeffs") {
      need(scalar_count, "alpha_scalar_moments");
      moment_coeffs = p.number_list(val);
      if (int(moment_coeffs.size()) != scalar_count)
        p.fail("moment_coeffs has " + std::to_string(moment_coeffs.size()) +
               " entries for alpha_scalar_moments = " + std::to_string(scalar_count));
      have_moment_coeffs = true;
    } else {
      p.fail("unknown key '" + key + "'");
    }
  }

  const int end_line = p.line();
  auto missing = [&](bool ok, const char* what) {
    if (!ok) throw FileError(source, end_line, std::string("file ends without ") + what);
  };
  missing(n_species > 0, "species_count");
  missing(have_min && have_max, "min_dist and max_dist");
  missing(basis.size > 0, "radial_basis_size");
  missing(n_funcs > 0, "radial_funcs_count");
  missing(moments_count >= 0, "alpha_moments_count");
  missing(have_basic, "alpha_index_basic");
  missing(have_times, "alpha_index_times");
  missing(have_map, "alpha_moment_mapping");
  if (format != "full") missing(have_radial, ("the complete " + format + " factors").c_str());
  // Untrained MLIP templates have no radial_coeffs / species_coeffs / moment_coeffs.
  const bool trained = have_radial && have_moment_coeffs;
  prog.moments_count = moments_count;
  const RadialShape shape{n_species, n_funcs, basis.size};
  if (!have_species_coeffs) species_coeffs.assign(n_species, 0.0);
  if (!have_moment_coeffs) moment_coeffs.assign(prog.scalar_map.size(), 0.0);
  try {
    RadialCoeffs radial;
    if (format == "mf") radial = RadialCoeffs::mf(shape, mf_rank, factors[0], factors[1]);
    else if (format == "tt")
      radial = RadialCoeffs::tt(shape, tt_ranks, {factors[0], factors[1], factors[2], factors[3]});
    else radial = RadialCoeffs::full(shape, have_radial ? full : std::vector<double>(shape.full_size(), 0.0));
    PotentialLabels labels{name, std::move(species), std::move(mlip_types), std::move(p.selection_state())};
    if (core.enabled() != have_core || (have_core && (core.inner.empty() || core.outer.empty())))
      throw InputError("repulsive core: 'core = zbl' needs core_atomic_numbers, core_inner and core_outer "
                       "(and they need it)");
    return Potential(basis, std::move(radial), std::move(prog), std::move(species_coeffs),
                     std::move(moment_coeffs), std::move(labels), trained, std::move(core));
  } catch (const InputError& e) {
    // Point at the line of the key the check concerns.
    const std::string msg = e.what();
    int line = end_line;
    for (const char* key : {"core_atomic_numbers", "core_inner", "core_outer", "core", "mlip_types", "species", "alpha_moment_mapping", "alpha_index_times", "alpha_index_basic",
                            "alpha_moments_count", "species_coeffs", "moment_coeffs", "min_dist",
                            "radial_basis_size", "scaling"})
      if (msg.find(key) != std::string::npos && seen.count(key)) {
        line = seen[key];
        break;
      }
    if (line == end_line && msg.find("basic moment") != std::string::npos && seen.count("alpha_index_basic"))
      line = seen["alpha_index_basic"];
    throw FileError(source, line, msg);
  }
}

Potential read_potential(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw FileError(path, 0, "is a directory, not a potential file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw FileError(path, 0, std::filesystem::exists(path, ec) ? "cannot read the potential file (permissions?)"
                                                                     : "no such potential file");
  return parse_potential(in, path);
}

namespace {

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string list(const double* v, size_t n) {
  std::string s = "{";
  for (size_t i = 0; i < n; ++i) s += (i ? ", " : "") + num(v[i]);
  return s + "}";
}

std::string quads(const std::vector<std::array<int, 4>>& q) {
  std::string s = "{";
  for (size_t i = 0; i < q.size(); ++i)
    s += std::string(i ? ", " : "") + "{" + std::to_string(q[i][0]) + ", " + std::to_string(q[i][1]) +
         ", " + std::to_string(q[i][2]) + ", " + std::to_string(q[i][3]) + "}";
  return s + "}";
}

void rows(std::ostream& out, const std::vector<double>& m, int n_rows, int n_cols) {
  for (int r = 0; r < n_rows; ++r)
    out << "\t\t" << list(m.data() + size_t(r) * n_cols, n_cols) << "\n";
}

}  // namespace

void write_potential(const Potential& pot, std::ostream& out, bool with_species) {
  const RadialCoeffs& rc = pot.radial_coeffs();
  const RadialShape& s = rc.shape();
  const RadialBasis& b = pot.radial_basis();
  const bool lowrank = rc.format() != RadialFormat::Full;
  const RepulsiveCore& core = pot.repulsive_core();
  const bool floors = !b.floor.empty();
  // Our extensions of a full potential that an MLIP-compatible file cannot carry.
  const char* extension = floors ? "radial floors (radial_floor)" : core.enabled() ? "a repulsive core (core = zbl)" : nullptr;
  if (extension && !lowrank && !with_species)
    throw InputError(std::string("this potential has ") + extension + ", which MLIP cannot read: write it "
                     "with our extension (mlip_compatible=False)");
  out << "MTP\nversion = 1.1.0\n";
  if (lowrank || extension || (with_species && !pot.species_names().empty())) out << "lowrank_version = 1\n";
  out << "potential_name = " << pot.name() << "\n";
  if (b.scaling != 1.0) out << "scaling = " << num(b.scaling) << "\n";
  out << "species_count = " << s.n_species << "\n";
  if ((lowrank || with_species) && !pot.species_names().empty()) {
    out << "species =";
    for (const auto& n : pot.species_names()) out << " " << n;
    out << "\n";
  }
  if (lowrank && !pot.default_mlip_types()) {  // full files carry them in the block labels
    out << "mlip_types = {";
    for (size_t a = 0; a < pot.mlip_types().size(); ++a) out << (a ? ", " : "") << pot.mlip_types()[a];
    out << "}\n";
  }
  out << "potential_tag = \nradial_basis_type = RBChebyshev\n";
  out << "\tmin_dist = " << num(b.min_dist) << "\n\tmax_dist = " << num(b.max_dist) << "\n";
  out << "\tradial_basis_size = " << b.size << "\n\tradial_funcs_count = " << s.n_funcs << "\n";
  if (floors) out << "\tradial_floor = " << list(b.floor.data(), b.floor.size()) << "\n";
  if (core.enabled()) {
    out << "core = zbl\ncore_atomic_numbers = {";
    for (size_t a = 0; a < core.atomic_numbers.size(); ++a) out << (a ? ", " : "") << core.atomic_numbers[a];
    out << "}\ncore_inner = " << list(core.inner.data(), core.inner.size()) << "\n";
    out << "core_outer = " << list(core.outer.data(), core.outer.size()) << "\n";
  }
  const auto& f = rc.factors();
  switch (rc.format()) {
    case RadialFormat::Full:
      if (pot.trained()) {
        out << "\tradial_coeffs\n";
        for (int a = 0; a < s.n_species; ++a)
          for (int c = 0; c < s.n_species; ++c) {
            out << "\t\t" << pot.mlip_types()[a] << "-" << pot.mlip_types()[c] << "\n";
            const double* blk = f[0].data() + (size_t(a) * s.n_species + c) * s.n_funcs * s.n_basis;
            for (int mu = 0; mu < s.n_funcs; ++mu)
              out << "\t\t\t" << list(blk + size_t(mu) * s.n_basis, s.n_basis) << "\n";
          }
      }
      break;
    case RadialFormat::MF:
      out << "\tradial_coeffs_format = mf\n\tmf_rank = " << rc.mf_rank() << "\n\tmf_u\n";
      rows(out, f[0], s.n_species * s.n_species, rc.mf_rank());
      out << "\tmf_v\n";
      rows(out, f[1], s.n_funcs * s.n_basis, rc.mf_rank());
      break;
    case RadialFormat::TT: {
      const auto& r = rc.tt_ranks();
      out << "\tradial_coeffs_format = tt\n\ttt_ranks = {" << r[0] << ", " << r[1] << ", " << r[2] << "}\n";
      const auto shapes = rc.factor_shapes();
      for (int k = 0; k < 4; ++k) {
        out << "\ttt_core_" << k + 1 << "\n";
        rows(out, f[k], shapes[k][0] * shapes[k][1], shapes[k][2]);
      }
      break;
    }
  }
  const MomentProgram& prog = pot.program();
  out << "alpha_moments_count = " << prog.moments_count << "\n";
  out << "alpha_index_basic_count = " << prog.basic.size() << "\n";
  out << "alpha_index_basic = " << quads(prog.basic) << "\n";
  out << "alpha_index_times_count = " << prog.times.size() << "\n";
  out << "alpha_index_times = " << quads(prog.times) << "\n";
  out << "alpha_scalar_moments = " << prog.scalar_map.size() << "\n";
  out << "alpha_moment_mapping = {";
  for (size_t i = 0; i < prog.scalar_map.size(); ++i) out << (i ? ", " : "") << prog.scalar_map[i];
  out << "}\n";
  if (pot.trained() || lowrank) {
    out << "species_coeffs = " << list(pot.species_coeffs().data(), pot.species_coeffs().size()) << "\n";
    out << "moment_coeffs = " << list(pot.moment_coeffs().data(), pot.moment_coeffs().size()) << "\n";
  }
  // MLIP-3 finds this block as the first '#' of the file; nothing above writes one.
  if (!pot.mlip_selection_state().empty()) out << "\n" << pot.mlip_selection_state();
}

void write_potential(const Potential& pot, const std::string& path, bool with_species) {
  std::ofstream out(path, std::ios::binary);
  if (!out) throw FileError(path, 0, "cannot open for writing");
  write_potential(pot, out, with_species);
  if (!out) throw FileError(path, 0, "write failed");
}

}  // namespace mtp
