#include "mtp/site_evaluator.h"
#include "simd4.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <tuple>

#include "mtp/errors.h"

namespace mtp {

namespace {
// Neighbour arrays have a stride that is a multiple of 4, so every loop over neighbours runs
// in whole vectors.
using simd::hsum;
using simd::load4;
using simd::store4;
using simd::v4;

// f_mu(r_a) = sum_beta C[t_a, beta, mu] phi_beta(r_a) and f_mu', four mu at a time: c
// (N_T, N_b, nfp) for the centre's species (mu padded to nfp, a multiple of 4, with zeros),
// rb/drb (N_b, np), f/df (nf, np).
void radial_functions_by_four(const double* c, const int* types, const double* rb, const double* drb, int na,
                              int np, int nbas, int nf, int nfp, double* f, double* df) {
  for (int a = 0; a < na; ++a) {
    const double* ca = c + size_t(types[a]) * nbas * nfp;
    for (int g = 0; g < nfp; g += 4) {
      v4 v = {0, 0, 0, 0}, d = v;
      for (int b = 0; b < nbas; ++b) {
        const v4 cb = load4(ca + size_t(b) * nfp + g);
        v += cb * rb[size_t(b) * np + a];
        d += cb * drb[size_t(b) * np + a];
      }
      for (int k = 0; k < 4 && g + k < nf; ++k) {
        f[size_t(g + k) * np + a] = v[k];
        df[size_t(g + k) * np + a] = d[k];
      }
    }
  }
}
}  // namespace

void SiteGradient::reset(const Potential& pot) {
  species.assign(pot.n_species(), 0.0);
  moment.assign(pot.n_basis_functions(), 0.0);
  radial.assign(pot.radial_coeffs().shape().full_size(), 0.0);
}

void SiteGradient::add(const SiteGradient& o) {
  for (size_t i = 0; i < species.size(); ++i) species[i] += o.species[i];
  for (size_t i = 0; i < moment.size(); ++i) moment[i] += o.moment[i];
  for (size_t i = 0; i < radial.size(); ++i) radial[i] += o.radial[i];
}

SiteEvaluator::SiteEvaluator(const Potential& pot)
    : pot_(pot),
      n_funcs_(pot.n_funcs()),
      n_basis_(pot.radial_basis().size),
      n_species_(pot.n_species()),
      max_nu_(pot.program().max_nu()) {
  const MomentProgram& prog = pot.program();
  build_sphere_moments(prog);
  build_reverse_lists();
  // Group products by target, targets ordered by their last write (valid: validate() checked
  // that no moment is read before its last write, so earlier terms may move down to it).
  std::vector<int> last(prog.moments_count, -1);
  for (int t = 0; t < int(prog.times.size()); ++t) last[prog.times[t][3]] = t;
  std::vector<std::vector<Term>> by_target(prog.moments_count);
  for (const auto& t : prog.times) by_target[t[3]].push_back({t[0], t[1], double(t[2])});
  target_begin_.push_back(0);
  for (int t = 0; t < int(prog.times.size()); ++t) {
    const int k = prog.times[t][3];
    if (last[k] != t) continue;
    target_.push_back(k);
    terms_.insert(terms_.end(), by_target[k].begin(), by_target[k].end());
    target_begin_.push_back(int(terms_.size()));
  }
  // Pull form of the reverse pass.
  std::vector<std::vector<Term>> uses(prog.moments_count);
  for (int t = 0; t < int(target_.size()); ++t)
    for (int q = target_begin_[t]; q < target_begin_[t + 1]; ++q) {
      const Term& e = terms_[q];
      uses[e.i].push_back({target_[t], e.j, e.mult});
      uses[e.j].push_back({target_[t], e.i, e.mult});
    }
  for (int t = int(target_.size()) - 1; t >= 0; --t) pull_order_.push_back(target_[t]);
  std::vector<char> is_target(prog.moments_count, 0);
  for (int k : target_) is_target[k] = 1;
  for (int k = prog.moments_count - 1; k >= 0; --k)
    if (!is_target[k]) pull_order_.push_back(k);  // basic moments (and unused ones)
  pull_begin_.push_back(0);
  for (int k : pull_order_) {
    pull_terms_.insert(pull_terms_.end(), uses[k].begin(), uses[k].end());
    pull_begin_.push_back(int(pull_terms_.size()));
  }
  seed_.assign(prog.moments_count, 0.0);
  for (size_t al = 0; al < prog.scalar_map.size(); ++al)
    seed_[prog.scalar_map[al]] += pot.moment_coeffs()[al];
  // Radial table with mu innermost.
  const auto& c = pot.radial_coeffs().pair_table();
  n_funcs_padded_ = (n_funcs_ + 3) / 4 * 4;
  table_t_.assign(size_t(n_species_) * n_species_ * n_basis_ * n_funcs_padded_, 0.0);
  for (int p = 0; p < n_species_ * n_species_; ++p)
    for (int mu = 0; mu < n_funcs_; ++mu)
      for (int b = 0; b < n_basis_; ++b)
        table_t_[(size_t(p) * n_basis_ + b) * n_funcs_padded_ + mu] = c[(size_t(p) * n_funcs_ + mu) * n_basis_ + b];
  mu_used_.assign(n_funcs_, 0);
  for (int mu : sphere_mu_) mu_used_[mu] = 1;
  moments_.assign(size_t(prog.moments_count) * kLanes, 0.0);
  adjoint_.assign(size_t(prog.moments_count) * kLanes, 0.0);
}

// Sparse lists of the reverse pass over neighbours (see rev_begin_): for every mu the monomials
// of its sphere moments (P), then per axis the monomials one degree lower with the exponent.
void SiteEvaluator::build_reverse_lists() {
  rev_begin_.assign(1, 0);
  for (int mu = 0; mu < n_funcs_; ++mu)
    for (int o = 0; o < 4; ++o) {
      for (size_t s = 0; s < sphere_mu_.size(); ++s) {
        if (sphere_mu_[s] != mu) continue;
        const int mo = sphere_mono_[s];
        if (o > 0 && mono_lower_coef_[3 * mo + o - 1] == 0.0) continue;  // d rhat^m / d rhat_ax = 0
        rev_mono_.push_back(o == 0 ? mo : mono_lower_[3 * mo + o - 1]);
        rev_sphere_.push_back(int(s));
        rev_exp_.push_back(o == 0 ? 1.0 : mono_lower_coef_[3 * mo + o - 1]);
      }
      rev_begin_.push_back(int(rev_mono_.size()));
    }
  rev_weight_.assign(rev_mono_.size(), 0.0);
}

size_t SiteEvaluator::memory_bytes() const {
  size_t doubles = rev_exp_.size() + rev_weight_.size() + mono_lower_coef_.size() + seed_.size() +
                   table_t_.size() + moments_.size() + adjoint_.size() + sphere_.size() +
                   sphere_adjoint_.size() + expand_coef_.size() + contract_coef_.size();
  size_t ints = mono_exp_.size() + mono_lower_.size() + sphere_mu_.size() + sphere_mono_.size() +
                mono_parent_.size() + mono_axis_.size() + expand_begin_.size() + expand_sphere_.size() +
                contract_begin_.size() + contract_basic_.size() + rev_begin_.size() + rev_mono_.size() + rev_sphere_.size() + target_.size() +
                target_begin_.size() + pull_order_.size() + pull_begin_.size() + mu_used_.size();
  for (const Neighbourhood& h : hoods_) {
    doubles += h.dist.size() + h.unit.size() + h.mono.size() + h.rb.size() + h.drb.size() +
               h.f.size() + h.df.size() + h.acc.size() + h.pqr.size() + h.core_dedr.size();
    ints += h.active.size() + h.active_type.size();
  }
  return doubles * sizeof(double) + ints * sizeof(int) +
         (terms_.size() + pull_terms_.size()) * sizeof(Term);
}

void SiteEvaluator::grow(Neighbourhood& h, int n_pad) {
  if (n_pad <= h.capacity) return;
  h.capacity = std::max(n_pad, (h.capacity + h.capacity / 2 + 3) / 4 * 4);
  const size_t c = h.capacity;
  h.active.resize(c);
  h.active_type.resize(c);
  h.dist.resize(c);
  h.unit.resize(3 * c);
  h.mono.resize(size_t(n_mono_) * c);
  h.rb.resize(size_t(n_basis_) * c);
  h.drb.resize(size_t(n_basis_) * c);
  h.f.resize(size_t(n_funcs_) * c);
  h.df.resize(size_t(n_funcs_) * c);
  h.acc.resize(5 * c);  // the radial basis stage uses 3 rows, the reverse pass 4
  if (pot_.repulsive_core().enabled()) h.core_dedr.resize(c);
  h.pqr.resize(4 * size_t(n_funcs_) * c);
}

void SiteEvaluator::forward_neighbours(int lane, int type, int n, const double* rij, const int* ntypes) {
  if (type < 0 || type >= n_species_)
    throw SiteError(lane, "atom species index " + std::to_string(type) + " is outside 0.." +
                              std::to_string(n_species_ - 1));
  Neighbourhood& h = hoods_[lane];
  grow(h, (n + 3) / 4 * 4);
  try {
    gather_neighbours(h, n, rij, ntypes);
  } catch (const InputError& e) {
    throw SiteError(lane, e.what());
  }
  radial_basis_stage(h, type);
  radial_functions_stage(h, type);
  monomials_stage(h);
  basic_moments_stage(h, lane);
}

// Neighbours inside the cutoff: h.active, h.active_type, h.dist, h.unit (padded to h.np lanes).
void SiteEvaluator::gather_neighbours(Neighbourhood& h, int n, const double* rij, const int* ntypes) {
  const RadialBasis& basis = pot_.radial_basis();
  const double cutoff = basis.max_dist;
  int na = 0;
  double r2_min = cutoff * cutoff;
  for (int k = 0; k < n; ++k) {
    const double x = rij[3 * k], y = rij[3 * k + 1], z = rij[3 * k + 2];
    const double r2 = x * x + y * y + z * z;
    r2_min = std::min(r2_min, r2);
    if (!(r2 < cutoff * cutoff)) {
      if (!std::isfinite(r2))
        throw InputError("neighbour " + std::to_string(k) + " has a non-finite position");
      continue;
    }
    const int tj = ntypes[k];
    if (tj < 0 || tj >= n_species_)
      throw InputError("neighbour species index " + std::to_string(tj) + " is outside 0.." +
                       std::to_string(n_species_ - 1));
    if (r2 < 1e-16) throw InputError("two atoms coincide");
    h.active[na] = k;
    h.active_type[na] = tj;
    h.dist[na] = std::sqrt(r2);
    ++na;
  }
  if (r2_min < basis.min_dist * basis.min_dist) {
    ++short_range_.sites;
    short_range_.closest = std::min(short_range_.closest, std::sqrt(r2_min));
  }
  const int np = (na + 3) / 4 * 4;  // stride: padded lanes hold harmless values
  h.na = na;
  h.np = np;
  for (int a = na; a < np; ++a) {
    h.active_type[a] = 0;
    h.dist[a] = cutoff;  // Q(cutoff) = 0: padded lanes have zero radial functions
  }
  double* ux = &h.unit[0];
  double* uy = ux + np;
  double* uz = uy + np;
  for (int a = 0; a < na; ++a) {
    const double* v = rij + 3 * size_t(h.active[a]);
    const double inv = 1.0 / h.dist[a];
    ux[a] = v[0] * inv;
    uy[a] = v[1] * inv;
    uz[a] = v[2] * inv;
  }
  for (int a = na; a < np; ++a) ux[a] = uy[a] = uz[a] = 0.0;
}

// phi_beta(r) and its derivative for all neighbours (h.rb, h.drb), vectorised over neighbours.
void SiteEvaluator::radial_basis_stage(Neighbourhood& h, int type) {
  const RadialBasis& basis = pot_.radial_basis();
  const double cutoff = basis.max_dist;
  const int nbas = n_basis_, np = h.np;
  // ---- radial basis phi_beta(r) for all neighbours, vectorised over neighbours -------------
  {
    const double inv_width = 1.0 / (basis.max_dist - basis.min_dist);
    const double dxi = 2.0 * inv_width, sc = basis.scaling;
    double* rb0 = &h.rb[0];
    double* d0 = &h.drb[0];
    double* xi = &h.acc[0];     // scratch rows
    double* reff = &h.acc[np];    // distance the basis is evaluated at: max(r, floor)
    double* below = &h.acc[2 * size_t(np)];  // r - reff (<= 0): the linear continuation
    const bool floors = !basis.floor.empty();
    for (int a = 0; a < np; ++a) {
      const double fl = floors ? basis.floor[size_t(type) * n_species_ + h.active_type[a]] : 0.0;
      reff[a] = std::max(h.dist[a], fl);
      below[a] = h.dist[a] - reff[a];
    }
    for (int a = 0; a < np; ++a) {
      const double r = reff[a];
      xi[a] = (2.0 * r - (basis.min_dist + basis.max_dist)) * inv_width;
      const double d = r - cutoff;
      rb0[a] = sc * d * d;
      d0[a] = 2.0 * sc * d;
    }
    if (nbas > 1) {
      double* rb1 = rb0 + np;
      double* d1 = d0 + np;
      for (int a = 0; a < np; ++a) {
        rb1[a] = xi[a] * rb0[a];
        d1[a] = dxi * rb0[a] + xi[a] * d0[a];
      }
    }
    for (int b = 2; b < nbas; ++b) {
      const double* v1 = rb0 + size_t(b - 1) * np;
      const double* v2 = rb0 + size_t(b - 2) * np;
      const double* e1 = d0 + size_t(b - 1) * np;
      const double* e2 = d0 + size_t(b - 2) * np;
      double* v = rb0 + size_t(b) * np;
      double* e = d0 + size_t(b) * np;
      for (int a = 0; a < np; ++a) {
        v[a] = 2.0 * xi[a] * v1[a] - v2[a];
        e[a] = 2.0 * (dxi * v1[a] + xi[a] * e1[a]) - e2[a];
      }
    }
    if (floors)  // phi(r) = phi(floor) + phi'(floor) (r - floor) below the floor
      for (int b = 0; b < nbas; ++b)
        for (int a = 0; a < np; ++a) rb0[size_t(b) * np + a] += d0[size_t(b) * np + a] * below[a];
  }
}

// f_mu = sum_beta C[type, t_j, mu, beta] phi_beta and f_mu' (h.f, h.df).
void SiteEvaluator::radial_functions_stage(Neighbourhood& h, int type) {
  const int nf = n_funcs_, nbas = n_basis_, na = h.na, np = h.np;
  const double* c = table_t_.data() + size_t(type) * n_species_ * nbas * n_funcs_padded_;
  for (int mu = 0; mu < nf; ++mu)  // padded lanes: zero radial functions
    for (int a = na; a < np; ++a) h.f[size_t(mu) * np + a] = h.df[size_t(mu) * np + a] = 0.0;
  radial_functions_by_four(c, h.active_type.data(), h.rb.data(), h.drb.data(), na, np, nbas, nf, n_funcs_padded_,
                           h.f.data(), h.df.data());
}

// The monomials rhat^(a,b,c) (h.mono), each from a monomial one degree lower times one
// component of rhat.
void SiteEvaluator::monomials_stage(Neighbourhood& h) {
  const int nm = n_mono_, np = h.np;
  double* mono = h.mono.data();
  for (int a = 0; a < np; a += 4) store4(mono + a, v4{1, 1, 1, 1});
  for (int m = 1; m < nm; ++m) {
    const double* lower = mono + size_t(mono_parent_[m]) * np;
    const double* u = &h.unit[size_t(mono_axis_[m]) * np];
    double* out = mono + size_t(m) * np;
    for (int a = 0; a < np; a += 4) store4(out + a, load4(lower + a) * load4(u + a));
  }
}

// Sphere moments (sphere_moments.cpp): sum over neighbours of f_mu times a sphere monomial.
void SiteEvaluator::basic_moments_stage(Neighbourhood& h, int lane) {
  const int n_sphere = int(sphere_mu_.size()), np = h.np;
  // Dot products over neighbours, four moments at a time (independent accumulators keep the
  // FMA pipeline full), into this atom's lane of sphere_ (stride kLanes).
  double* m = sphere_.data() + lane;
  int b = 0;
  for (; b + 4 <= n_sphere; b += 4) {
    const double* f0 = &h.f[size_t(sphere_mu_[b]) * np];
    const double* f1 = &h.f[size_t(sphere_mu_[b + 1]) * np];
    const double* f2 = &h.f[size_t(sphere_mu_[b + 2]) * np];
    const double* f3 = &h.f[size_t(sphere_mu_[b + 3]) * np];
    const double* m0 = &h.mono[size_t(sphere_mono_[b]) * np];
    const double* m1 = &h.mono[size_t(sphere_mono_[b + 1]) * np];
    const double* m2 = &h.mono[size_t(sphere_mono_[b + 2]) * np];
    const double* m3 = &h.mono[size_t(sphere_mono_[b + 3]) * np];
    v4 s0 = {0, 0, 0, 0}, s1 = s0, s2 = s0, s3 = s0;
    for (int a = 0; a < np; a += 4) {
      s0 += load4(f0 + a) * load4(m0 + a);
      s1 += load4(f1 + a) * load4(m1 + a);
      s2 += load4(f2 + a) * load4(m2 + a);
      s3 += load4(f3 + a) * load4(m3 + a);
    }
    m[size_t(b) * kLanes] = hsum(s0);
    m[size_t(b + 1) * kLanes] = hsum(s1);
    m[size_t(b + 2) * kLanes] = hsum(s2);
    m[size_t(b + 3) * kLanes] = hsum(s3);
  }
  for (; b < n_sphere; ++b) {
    const double* fr = &h.f[size_t(sphere_mu_[b]) * np];
    const double* mr = &h.mono[size_t(sphere_mono_[b]) * np];
    v4 s0 = {0, 0, 0, 0};
    for (int a = 0; a < np; a += 4) s0 += load4(fr + a) * load4(mr + a);
    m[size_t(b) * kLanes] = hsum(s0);
  }
}

// Basic moments from the sphere moments, then the intermediate moments of all lanes (one SIMD
// lane per atom), then the scalar basis functions and V of the first `count` lanes (with the
// core's half pairs).
void SiteEvaluator::program_stage(int count, const int* types, double* energies) {
  static_assert(kLanes == 4, "the program runs one atom per lane of a v4");
  const MomentProgram& prog = pot_.program();
  double* m = moments_.data();
  expand_sphere(sphere_.data(), m);
  const int n_targets = int(target_.size());
  for (int t = 0; t < n_targets; ++t) {  // two accumulators halve the FMA latency chain
    v4 s0 = {0, 0, 0, 0}, s1 = s0;
    int q = target_begin_[t];
    const int end = target_begin_[t + 1];
    const Term* pt = terms_.data();
    for (; q + 1 < end; q += 2) {
      s0 += pt[q].mult * load4(m + 4 * size_t(pt[q].i)) * load4(m + 4 * size_t(pt[q].j));
      s1 += pt[q + 1].mult * load4(m + 4 * size_t(pt[q + 1].i)) * load4(m + 4 * size_t(pt[q + 1].j));
    }
    if (q < end) s0 += pt[q].mult * load4(m + 4 * size_t(pt[q].i)) * load4(m + 4 * size_t(pt[q].j));
    store4(m + 4 * size_t(target_[t]), s0 + s1);
  }
  const std::vector<double>& xi = pot_.moment_coeffs();
  v4 basis_energy = {0, 0, 0, 0};
  for (size_t al = 0; al < xi.size(); ++al) basis_energy += xi[al] * load4(m + 4 * size_t(prog.scalar_map[al]));
  const RepulsiveCore& core = pot_.repulsive_core();
  for (int k = 0; k < count; ++k) {
    double energy = pot_.species_coeffs()[types[k]] + basis_energy[k];
    Neighbourhood& h = hoods_[k];
    if (core.enabled())  // half of each pair's core energy; its slope is added in compute()
      for (int a = 0; a < h.na; ++a) {
        double dedr;
        energy += 0.5 * core.pair(types[k], h.active_type[a], h.dist[a], &dedr);
        h.core_dedr[a] = 0.5 * dedr;
      }
    if (!std::isfinite(energy))
      throw SiteError(k, "site energy of a species-" + std::to_string(types[k]) +
                             " atom is not finite (check positions and parameters)");
    energies[k] = energy;
  }
}

// Pull form, all lanes: adjoint[k] = seed[k] + sum mult * adjoint[target] * moment[other]; then
// the sphere moments' adjoints from the basic ones'.
void SiteEvaluator::reverse_program() {
  const double* m = moments_.data();
  double* g = adjoint_.data();
  const Term* pt = pull_terms_.data();
  for (size_t o = 0; o < pull_order_.size(); ++o) {
    const double seed = seed_[pull_order_[o]];
    v4 s0 = {seed, seed, seed, seed}, s1 = {0, 0, 0, 0};
    int q = pull_begin_[o];
    const int end = pull_begin_[o + 1];
    for (; q + 1 < end; q += 2) {
      s0 += pt[q].mult * load4(g + 4 * size_t(pt[q].i)) * load4(m + 4 * size_t(pt[q].j));
      s1 += pt[q + 1].mult * load4(g + 4 * size_t(pt[q + 1].i)) * load4(m + 4 * size_t(pt[q + 1].j));
    }
    if (q < end) s0 += pt[q].mult * load4(g + 4 * size_t(pt[q].i)) * load4(m + 4 * size_t(pt[q].j));
    store4(g + 4 * size_t(pull_order_[o]), s0 + s1);
  }
  contract_sphere(g, sphere_adjoint_.data());
}

double SiteEvaluator::compute(int type, int n, const double* rij, const int* ntypes, double* dv_drij,
                              SiteGradient* grad) {
  double energy = 0.0;
  double* const dv[1] = {dv_drij};
  compute_batch(1, &type, &n, &rij, &ntypes, dv_drij ? dv : nullptr, grad, &energy);
  return energy;
}

void SiteEvaluator::compute_batch(int count, const int* types, const int* n, const double* const* rij,
                                  const int* const* ntypes, double* const* dv_drij, SiteGradient* grad,
                                  double* energies) {
  if (count < 1 || count > kLanes)
    throw InputError("compute_batch: " + std::to_string(count) + " atoms (1.." + std::to_string(kLanes) + ")");
  const size_t n_sphere = sphere_mu_.size();
  for (int k = 0; k < count; ++k) {
    if (dv_drij) std::fill(dv_drij[k], dv_drij[k] + 3 * size_t(n[k]), 0.0);
    forward_neighbours(k, types[k], n[k], rij[k], ntypes[k]);
  }
  for (int k = count; k < kLanes; ++k)  // idle lanes: zero sphere moments, results unused
    for (size_t s = 0; s < n_sphere; ++s) sphere_[s * kLanes + k] = 0.0;
  program_stage(count, types, energies);
  const MomentProgram& prog = pot_.program();
  if (grad)
    for (int k = 0; k < count; ++k) {
      grad->species[types[k]] += 1.0;
      for (size_t al = 0; al < prog.scalar_map.size(); ++al)
        grad->moment[al] += moments_[size_t(prog.scalar_map[al]) * kLanes + k];
    }
  if (!dv_drij && !grad) return;
  reverse_program();  // adjoint = dV/d moments, every lane
  for (int k = 0; k < count; ++k) {
    Neighbourhood& h = hoods_[k];
    reverse_neighbours_stage(h, k, dv_drij != nullptr);
    if (dv_drij) pair_derivatives_stage(h, dv_drij[k]);
    if (grad) radial_gradient_stage(h, types[k], grad);
  }
}

namespace {
// out[k] = sum_e weight[e] * rows[index[e]][4 k .. 4 k + 3] for K blocks of four neighbours:
// the accumulators stay in registers and each weight is broadcast once for K blocks.
template <int K>
void weighted_row_sum(const double* weight, const int* index, int count, const double* rows, int np,
                      double* out) {
  v4 s[K];
  for (int k = 0; k < K; ++k) s[k] = v4{0, 0, 0, 0};
  for (int e = 0; e < count; ++e) {
    const double w = weight[e];
    const double* row = rows + size_t(index[e]) * np;
    for (int k = 0; k < K; ++k) s[k] += w * load4(row + 4 * k);
  }
  for (int k = 0; k < K; ++k) store4(out + 4 * k, s[k]);
}
}  // namespace

// Per radial function mu: P_mu = sum_b g_b rhat^m_b and R_mu = grad_rhat P_mu (R only with
// forces), over the basic moments b of mu (g = adjoint), per neighbour, into h.pqr. Blocks of up
// to 8 x 4 neighbours are summed at once.
void SiteEvaluator::reverse_neighbours_stage(Neighbourhood& h, int lane, bool forces) {
  const int nf = n_funcs_, np = h.np;
  const double* g = sphere_adjoint_.data();
  for (size_t e = 0; e < rev_mono_.size(); ++e) rev_weight_[e] = g[size_t(rev_sphere_[e]) * kLanes + lane] * rev_exp_[e];
  for (int mu = 0; mu < nf; ++mu) {
    if (!mu_used_[mu]) continue;
    for (int o = 0; o < (forces ? 4 : 1); ++o) {
      const int begin = rev_begin_[4 * mu + o], count = rev_begin_[4 * mu + o + 1] - begin;
      const double* w = rev_weight_.data() + begin;
      const int* idx = rev_mono_.data() + begin;
      double* out = &h.pqr[(4 * size_t(mu) + o) * np];
      for (int a = 0; a < np; a += 32) {
        const double* rows = h.mono.data() + a;
        switch (std::min(8, (np - a) / 4)) {
          case 1: weighted_row_sum<1>(w, idx, count, rows, np, out + a); break;
          case 2: weighted_row_sum<2>(w, idx, count, rows, np, out + a); break;
          case 3: weighted_row_sum<3>(w, idx, count, rows, np, out + a); break;
          case 4: weighted_row_sum<4>(w, idx, count, rows, np, out + a); break;
          case 5: weighted_row_sum<5>(w, idx, count, rows, np, out + a); break;
          case 6: weighted_row_sum<6>(w, idx, count, rows, np, out + a); break;
          case 7: weighted_row_sum<7>(w, idx, count, rows, np, out + a); break;
          default: weighted_row_sum<8>(w, idx, count, rows, np, out + a); break;
        }
      }
    }
  }
}

// dV/dr_vec = A rhat + (C - (rhat . C) rhat) / r with A = sum_mu f'_mu P_mu (+ the core's slope)
// and C = sum_mu f_mu R_mu, into dv_drij (n, 3) at the active rows. (The radial part of the
// monomial gradient, sum_mu f_mu nu P_mu, equals rhat . C by Euler's identity for homogeneous
// polynomials, so it is projected out rather than summed.)
void SiteEvaluator::pair_derivatives_stage(Neighbourhood& h, double* dv_drij) {
  const int nf = n_funcs_, na = h.na, np = h.np;
  const double* ux = &h.unit[0];
  const double* uy = ux + np;
  const double* uz = uy + np;
  double* A = &h.acc[0];
  double* C0 = A + np;
  double* C1 = C0 + np;
  double* C2 = C1 + np;
  std::fill(h.acc.begin(), h.acc.begin() + 4 * size_t(np), 0.0);
  for (int mu = 0; mu < nf; ++mu) {
    if (!mu_used_[mu]) continue;
    const double* P = &h.pqr[4 * size_t(mu) * np];
    const double* R0 = P + np;
    const double* R1 = R0 + np;
    const double* R2 = R1 + np;
    const double* fr = &h.f[size_t(mu) * np];
    const double* dfr = &h.df[size_t(mu) * np];
    for (int a = 0; a < np; a += 4) {
      const v4 f4 = load4(fr + a);
      store4(A + a, load4(A + a) + load4(dfr + a) * load4(P + a));
      store4(C0 + a, load4(C0 + a) + f4 * load4(R0 + a));
      store4(C1 + a, load4(C1 + a) + f4 * load4(R1 + a));
      store4(C2 + a, load4(C2 + a) + f4 * load4(R2 + a));
    }
  }
  if (pot_.repulsive_core().enabled())
    for (int a = 0; a < na; ++a) A[a] += h.core_dedr[a];
  for (int a = 0; a < na; ++a) {
    const double inv = 1.0 / h.dist[a];
    const double radial = ux[a] * C0[a] + uy[a] * C1[a] + uz[a] * C2[a];
    double* out = dv_drij + 3 * size_t(h.active[a]);
    out[0] = A[a] * ux[a] + (C0[a] - radial * ux[a]) * inv;
    out[1] = A[a] * uy[a] + (C1[a] - radial * uy[a]) * inv;
    out[2] = A[a] * uz[a] + (C2[a] - radial * uz[a]) * inv;
  }
}

// dV/dC[type, t_j, mu, beta] = P_mu * phi_beta(r), accumulated into grad->radial.
void SiteEvaluator::radial_gradient_stage(Neighbourhood& h, int type, SiteGradient* grad) {
  const int nf = n_funcs_, nbas = n_basis_, na = h.na, np = h.np;
  double* dc_type = grad->radial.data() + size_t(type) * n_species_ * nf * nbas;
  for (int a = 0; a < na; ++a) {
    double* dc = dc_type + size_t(h.active_type[a]) * nf * nbas;
    for (int mu = 0; mu < nf; ++mu) {
      if (!mu_used_[mu]) continue;  // no P_mu rows (and a zero derivative)
      const double s = h.pqr[4 * size_t(mu) * np + a];
      for (int b = 0; b < nbas; ++b) dc[mu * nbas + b] += s * h.rb[size_t(b) * np + a];
    }
  }
}

}  // namespace mtp
