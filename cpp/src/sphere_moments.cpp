// Sphere moments: the neighbour loops of SiteEvaluator sum f_mu(r_ij) times monomials of the
// unit vector rhat_ij. On the unit sphere x^2 + y^2 + z^2 = 1, so
//   x^a y^b z^c = x^a y^b z^(c-2) - x^(a+2) y^b z^(c-2) - x^a y^(b+2) z^(c-2)   (c >= 2),
// and every monomial of degree <= D is a fixed integer combination of the (D + 1)^2 monomials
// with c <= 1. The basic moments of MLIP's program are therefore fixed linear combinations of
// the "sphere moments" S_(mu, m) = sum_j f_mu(r_ij) m(rhat_ij) over those monomials m, which
// are fewer (level 16: 84 instead of 130, level 24: 286 instead of 581). The neighbour loops
// compute S (and, in reverse, take dV/dS), and the per-atom maps below convert between S and
// the basic moments on all SIMD lanes at once.
//
// Forces stay exact: a sphere monomial and the monomial it replaces agree on the sphere, so
// their derivatives along the sphere agree, and the kernel uses only the tangential part of
// d/d rhat (pair_derivatives_stage projects out the radial part; rhat's tangent is tangential).
#include <map>
#include <tuple>
#include <utility>

#include "mtp/site_evaluator.h"
#include "simd4.h"

namespace mtp {

using simd::load4;
using simd::store4;
using simd::v4;

namespace {
using Exponents = std::tuple<int, int, int>;
using Combination = std::map<int, double>;  // sphere monomial -> coefficient

// x^a y^b z^c on the sphere, in sphere monomials (index: their position in `index`).
Combination on_sphere(int a, int b, int c, const std::map<Exponents, int>& index,
                      std::map<Exponents, Combination>& memo) {
  if (c <= 1) return {{index.at({a, b, c}), 1.0}};
  const auto hit = memo.find({a, b, c});
  if (hit != memo.end()) return hit->second;
  Combination out = on_sphere(a, b, c - 2, index, memo);
  for (const auto& [m, v] : on_sphere(a + 2, b, c - 2, index, memo)) out[m] -= v;
  for (const auto& [m, v] : on_sphere(a, b + 2, c - 2, index, memo)) out[m] -= v;
  for (auto it = out.begin(); it != out.end();) it = it->second == 0.0 ? out.erase(it) : std::next(it);
  memo[{a, b, c}] = out;
  return out;
}
}  // namespace

// Sphere monomials (mono_* tables), the sphere moments the basic ones need (sphere_mu_,
// sphere_mono_) and the maps between them (expand_*, contract_*).
void SiteEvaluator::build_sphere_moments(const MomentProgram& prog) {
  std::map<Exponents, int> index;
  for (int d = 0; d <= max_nu_; ++d)
    for (int a = d; a >= 0; --a)
      for (int b = d - a; b >= 0; --b) {
        if (d - a - b > 1) continue;
        index[{a, b, d - a - b}] = int(mono_exp_.size() / 3);
        mono_exp_.insert(mono_exp_.end(), {a, b, d - a - b});
      }
  n_mono_ = int(mono_exp_.size() / 3);
  mono_lower_.assign(3 * n_mono_, 0);
  mono_lower_coef_.assign(3 * n_mono_, 0.0);
  mono_parent_.assign(n_mono_, 0);
  mono_axis_.assign(n_mono_, 0);
  for (int mo = 0; mo < n_mono_; ++mo)
    for (int ax = 2; ax >= 0; --ax) {  // lowering keeps c <= 1: the set is closed under it
      int e[3] = {mono_exp_[3 * mo], mono_exp_[3 * mo + 1], mono_exp_[3 * mo + 2]};
      if (e[ax] == 0) continue;
      mono_lower_coef_[3 * mo + ax] = e[ax];
      e[ax] -= 1;
      mono_lower_[3 * mo + ax] = index.at({e[0], e[1], e[2]});
      mono_parent_[mo] = mono_lower_[3 * mo + ax];
      mono_axis_[mo] = ax;
    }
  // Basic moment b as sphere moments; sphere moments numbered in (mu, monomial) order.
  std::map<Exponents, Combination> memo;
  std::vector<Combination> of_basic;
  std::map<std::pair<int, int>, int> sphere;
  for (const auto& e : prog.basic) {
    of_basic.push_back(on_sphere(e[1], e[2], e[3], index, memo));
    for (const auto& term : of_basic.back()) sphere[{e[0], term.first}] = 0;
  }
  int s = 0;
  for (auto& [key, number] : sphere) {
    number = s++;
    sphere_mu_.push_back(key.first);
    sphere_mono_.push_back(key.second);
  }
  std::vector<std::vector<std::pair<int, double>>> uses(sphere.size());
  expand_begin_.assign(1, 0);
  for (size_t b = 0; b < prog.basic.size(); ++b) {
    for (const auto& [m, coef] : of_basic[b]) {
      const int k = sphere.at({prog.basic[b][0], m});
      expand_sphere_.push_back(k);
      expand_coef_.push_back(coef);
      uses[k].emplace_back(int(b), coef);
    }
    expand_begin_.push_back(int(expand_sphere_.size()));
  }
  contract_begin_.assign(1, 0);
  for (const auto& u : uses) {
    for (const auto& [b, coef] : u) {
      contract_basic_.push_back(b);
      contract_coef_.push_back(coef);
    }
    contract_begin_.push_back(int(contract_basic_.size()));
  }
  sphere_.assign(sphere.size() * kLanes, 0.0);
  sphere_adjoint_.assign(sphere.size() * kLanes, 0.0);
}

namespace {
// out[r] = sum over entries q of row r of coef[q] * in[col[q]], all lanes: a sparse matrix in
// rows (begin, col, coef) applied to (., kLanes) arrays.
void apply_sparse(const std::vector<int>& begin, const std::vector<int>& col, const std::vector<double>& coef,
                  const double* in, double* out) {
  for (size_t r = 0; r + 1 < begin.size(); ++r) {
    v4 sum = {0, 0, 0, 0};
    for (int q = begin[r]; q < begin[r + 1]; ++q) sum += coef[q] * load4(in + 4 * size_t(col[q]));
    store4(out + 4 * r, sum);
  }
}
}  // namespace

void SiteEvaluator::expand_sphere(const double* sphere, double* basic) const {
  apply_sparse(expand_begin_, expand_sphere_, expand_coef_, sphere, basic);
}

void SiteEvaluator::contract_sphere(const double* basic, double* sphere) const {
  apply_sparse(contract_begin_, contract_basic_, contract_coef_, basic, sphere);
}

}  // namespace mtp
