#include "mtp/neighbor_list.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "mtp/errors.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mtp {

namespace {

void cross(const double* a, const double* b, double* out) {
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}
double dot(const double* a, const double* b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
double norm(const double* a) { return std::sqrt(dot(a, a)); }

}  // namespace

void NeighborList::build(int n, const double* pos, const double* cell_in, const bool* pbc,
                         double cutoff, double min_distance, int n_threads) {
#ifdef _OPENMP
  if (n_threads <= 0) n_threads = omp_get_max_threads();
#endif
  for (int i = 0; i < 3 * n; ++i)
    if (!std::isfinite(pos[i]))
      throw InputError("atom " + std::to_string(i / 3) + " has a non-finite position");
  const bool any_pbc = pbc[0] || pbc[1] || pbc[2];
  points_.assign(pos, pos + 3 * size_t(n));
  origin_.resize(n);
  for (int i = 0; i < n; ++i) origin_[i] = i;

  if (any_pbc) {
    // Effective cell: periodic rows as given; a non-periodic row that is degenerate is
    // replaced by a unit vector orthogonal to the others (it only defines coordinates).
    double cell[9];
    std::copy(cell_in, cell_in + 9, cell);
    for (int k = 0; k < 9; ++k)
      if (!std::isfinite(cell[k])) throw InputError("the cell is not finite");
    for (int k = 0; k < 3; ++k) {
      double* v = cell + 3 * k;
      if (pbc[k] || norm(v) > 1e-12) continue;
      double c[3];
      cross(cell + 3 * ((k + 1) % 3), cell + 3 * ((k + 2) % 3), c);
      const double nc = norm(c);
      if (nc > 1e-12) {
        for (int d = 0; d < 3; ++d) v[d] = c[d] / nc;
      } else {
        // Fall back to the Cartesian axis least aligned with the periodic rows.
        double best = 2.0;
        for (int ax = 0; ax < 3; ++ax) {
          double e[3] = {0, 0, 0};
          e[ax] = 1.0;
          double worst = 0.0;
          for (int q = 0; q < 3; ++q)
            if (q != k && norm(cell + 3 * q) > 1e-12)
              worst = std::max(worst, std::fabs(dot(e, cell + 3 * q)) / norm(cell + 3 * q));
          if (worst < best) {
            best = worst;
            std::copy(e, e + 3, v);
          }
        }
      }
    }
    double c12[3], c20[3], c01[3];
    cross(cell + 3, cell + 6, c12);
    cross(cell + 6, cell, c20);
    cross(cell, cell + 3, c01);
    const double vol = dot(cell, c12);
    if (!(std::fabs(vol) > 1e-10))
      throw InputError("the periodic cell is singular (volume " + std::to_string(vol) + ")");
    // Reciprocal rows: frac_k = dot(recip_k, r).
    double recip[9];
    for (int d = 0; d < 3; ++d) {
      recip[d] = c12[d] / vol;
      recip[3 + d] = c20[d] / vol;
      recip[6 + d] = c01[d] / vol;
    }
    // Distance between lattice planes and the number of images needed along each axis.
    int reps[3];
    double pad[3];
    for (int k = 0; k < 3; ++k) {
      const double spacing = 1.0 / norm(recip + 3 * k);
      pad[k] = pbc[k] ? cutoff / spacing : 0.0;
      reps[k] = pbc[k] ? int(std::ceil(pad[k])) : 0;
    }
    // Wrap atoms into the cell along periodic axes.
    std::vector<double> frac(3 * size_t(n));
    for (int i = 0; i < n; ++i) {
      for (int k = 0; k < 3; ++k) {
        double s = dot(recip + 3 * k, pos + 3 * i);
        if (pbc[k]) s -= std::floor(s);
        frac[3 * i + k] = s;
      }
      for (int d = 0; d < 3; ++d) {
        double v = 0.0;
        for (int k = 0; k < 3; ++k) v += frac[3 * i + k] * cell[3 * k + d];
        points_[3 * i + d] = v;
      }
    }
    // Images within `cutoff` of the cell.
    for (int a = -reps[0]; a <= reps[0]; ++a)
      for (int b = -reps[1]; b <= reps[1]; ++b)
        for (int c = -reps[2]; c <= reps[2]; ++c) {
          if (a == 0 && b == 0 && c == 0) continue;
          const int shift[3] = {a, b, c};
          for (int i = 0; i < n; ++i) {
            bool keep = true;
            for (int k = 0; k < 3 && keep; ++k) {
              const double s = frac[3 * i + k] + shift[k];
              keep = pbc[k] ? (s >= -pad[k] && s <= 1.0 + pad[k]) : true;
            }
            if (!keep) continue;
            for (int d = 0; d < 3; ++d)
              points_.push_back(points_[3 * i + d] + a * cell[d] + b * cell[3 + d] +
                                c * cell[6 + d]);
            origin_.push_back(i);
          }
        }
  }

  // ---- bin all points into cubes of edge >= cutoff / 2 (a 5x5x5 stencil) -----------------
  const int np = int(origin_.size());
  double lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  for (int d = 0; d < 3; ++d) {
    lo[d] = hi[d] = np ? points_[d] : 0.0;
    for (int p = 0; p < np; ++p) {
      lo[d] = std::min(lo[d], points_[3 * p + d]);
      hi[d] = std::max(hi[d], points_[3 * p + d]);
    }
  }
  double edge = 0.5 * cutoff;
  int nbin[3];
  for (;;) {
    size_t total = 1;
    for (int d = 0; d < 3; ++d) {
      nbin[d] = std::max(1, int((hi[d] - lo[d]) / edge));
      total *= size_t(nbin[d]);
    }
    if (total <= size_t(8) * std::max(np, 1) + 125) break;
    edge *= 1.5;  // sparse systems (e.g. molecules in a big box): fewer, larger bins
  }
  // Bins are at least `edge` wide; the stencil reaches ceil(cutoff / edge) bins each way.
  const int reach = int(std::ceil(cutoff / edge - 1e-12));
  double scale[3];
  for (int d = 0; d < 3; ++d) scale[d] = nbin[d] / std::max(hi[d] - lo[d], 1e-300);
  const int nbins = nbin[0] * nbin[1] * nbin[2];
  bin_of_.resize(np);
  bin_start_.assign(nbins + 1, 0);
  for (int p = 0; p < np; ++p) {
    int idx[3];
    for (int d = 0; d < 3; ++d)
      idx[d] = std::min(nbin[d] - 1, std::max(0, int((points_[3 * p + d] - lo[d]) * scale[d])));
    bin_of_[p] = (idx[0] * nbin[1] + idx[1]) * nbin[2] + idx[2];
    bin_start_[bin_of_[p] + 1]++;
  }
  for (int b = 0; b < nbins; ++b) bin_start_[b + 1] += bin_start_[b];
  sorted_.resize(np);
  {
    std::vector<int> fill(bin_start_.begin(), bin_start_.end() - 1);
    for (int p = 0; p < np; ++p) sorted_[fill[bin_of_[p]]++] = p;
  }

  // ---- pairs: count per atom, prefix sum, fill (both passes parallel, result deterministic) --
  const double cut2 = cutoff * cutoff;
  const double min2 = min_distance * min_distance;
  offsets.assign(n + 1, 0);
  // visit(i, emit): calls emit(p, dx, dy, dz) for every point p within the cutoff of atom i.
  auto visit = [&](int i, auto&& emit) {
    const double* pi = &points_[3 * i];
    const int bi = bin_of_[i];
    const int ix = bi / (nbin[1] * nbin[2]), iy = (bi / nbin[2]) % nbin[1], iz = bi % nbin[2];
    for (int x = std::max(0, ix - reach); x <= std::min(nbin[0] - 1, ix + reach); ++x)
      for (int y = std::max(0, iy - reach); y <= std::min(nbin[1] - 1, iy + reach); ++y) {
        const int row = (x * nbin[1] + y) * nbin[2];
        const int z0 = std::max(0, iz - reach), z1 = std::min(nbin[2] - 1, iz + reach);
        // bins z0..z1 of this row are contiguous in `sorted_`
        for (int s = bin_start_[row + z0]; s < bin_start_[row + z1 + 1]; ++s) {
          const int p = sorted_[s];
          if (p == i) continue;
          const double d0 = points_[3 * p] - pi[0], d1 = points_[3 * p + 1] - pi[1],
                       d2 = points_[3 * p + 2] - pi[2];
          const double r2 = d0 * d0 + d1 * d1 + d2 * d2;
          if (r2 < cut2) emit(p, d0, d1, d2, r2);
        }
      }
  };
  std::string error;
  auto overlap = [&](int i, int p, double r2) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "atoms %d and %d overlap: distance %.3g A < %.3g A", i,
                  origin_[p], std::sqrt(r2), min_distance);
    return std::string(buf);
  };
  if (n_threads <= 1) {  // one pass, appending
    index.clear();
    rij.clear();
    for (int i = 0; i < n; ++i) {
      visit(i, [&](int p, double d0, double d1, double d2, double r2) {
        if (r2 < min2 && error.empty()) error = overlap(i, p, r2);
        index.push_back(origin_[p]);
        rij.push_back(d0);
        rij.push_back(d1);
        rij.push_back(d2);
      });
      offsets[i + 1] = int(index.size());
    }
    if (!error.empty()) throw InputError(error);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(n_threads)
  for (int i = 0; i < n; ++i) {
    int count = 0;
    visit(i, [&](int p, double, double, double, double r2) {
      if (r2 < min2) {
        const std::string msg = overlap(i, p, r2);
#pragma omp critical(mtp_nl_error)
        if (error.empty()) error = msg;
      }
      ++count;
    });
    offsets[i + 1] = count;
  }
  if (!error.empty()) throw InputError(error);
  for (int i = 0; i < n; ++i) offsets[i + 1] += offsets[i];
  index.resize(offsets[n]);
  rij.resize(3 * size_t(offsets[n]));
#pragma omp parallel for schedule(static) num_threads(n_threads)
  for (int i = 0; i < n; ++i) {
    int at = offsets[i];
    visit(i, [&](int p, double d0, double d1, double d2, double) {
      index[at] = origin_[p];
      rij[3 * size_t(at)] = d0;
      rij[3 * size_t(at) + 1] = d1;
      rij[3 * size_t(at) + 2] = d2;
      ++at;
    });
  }
}

}  // namespace mtp
