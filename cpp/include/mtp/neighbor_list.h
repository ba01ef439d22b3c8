// O(N) full neighbour list by cell binning, with as many periodic images as the cutoff needs
// (cells thinner than 2 * cutoff, triclinic cells, mixed periodicity, no periodicity).
#pragma once
#include <vector>

namespace mtp {

struct NeighborList {
  // Pairs of atom i are offsets[i] .. offsets[i+1]-1.
  std::vector<int> offsets;   // (N + 1)
  std::vector<int> index;     // (n_pairs): atom j (0..N-1; periodic images map to their atom)
  std::vector<double> rij;    // (n_pairs, 3): r_j + shift - r_i

  // positions (n, 3); cell (3, 3), rows are lattice vectors (may be all zero when no pbc);
  // pbc[3]. Throws InputError for non-finite input, a singular periodic cell, or two atoms
  // closer than min_distance (naming both).
  // n_threads: OpenMP threads for the pair search (<= 0: OpenMP's default).
  void build(int n, const double* positions, const double* cell, const bool* pbc,
             double cutoff, double min_distance, int n_threads = 0);

 private:
  // Scratch, grown only.
  std::vector<double> points_;    // (n_points, 3): atoms then images
  std::vector<int> origin_;       // (n_points)
  std::vector<int> bin_start_, bin_of_, sorted_;
};

}  // namespace mtp
