#include "mtp/moment_program.h"

#include <algorithm>
#include <string>

#include "mtp/errors.h"

namespace mtp {

void MomentProgram::validate(int n_funcs) const {
  const int nb = int(basic.size());
  if (moments_count < nb)
    throw InputError("moment program: alpha_moments_count (" + std::to_string(moments_count) +
                     ") is smaller than the number of basic moments (" + std::to_string(nb) + ")");
  for (int b = 0; b < nb; ++b) {
    const auto& e = basic[b];
    if (e[0] < 0 || e[0] >= n_funcs)
      throw InputError("moment program: basic moment " + std::to_string(b) + " uses radial function " +
                       std::to_string(e[0]) + " but there are " + std::to_string(n_funcs));
    if (e[1] < 0 || e[2] < 0 || e[3] < 0)
      throw InputError("moment program: basic moment " + std::to_string(b) + " has a negative exponent");
  }
  // last_write[k]: last `times` entry writing moment k (-1: never written).
  std::vector<int> last_write(moments_count, -1);
  for (int t = 0; t < int(times.size()); ++t) {
    const auto& e = times[t];
    for (int q : {0, 1, 3})
      if (e[q] < 0 || e[q] >= moments_count)
        throw InputError("moment program: alpha_index_times entry " + std::to_string(t) +
                         " refers to moment " + std::to_string(e[q]) + " of " +
                         std::to_string(moments_count));
    if (e[3] < nb)
      throw InputError("moment program: alpha_index_times entry " + std::to_string(t) +
                       " writes into basic moment " + std::to_string(e[3]));
    last_write[e[3]] = t;
  }
  for (int t = 0; t < int(times.size()); ++t)
    for (int q : {0, 1})
      if (last_write[times[t][q]] >= t)
        throw InputError("moment program: alpha_index_times entry " + std::to_string(t) +
                         " reads moment " + std::to_string(times[t][q]) +
                         " before it is complete");
  for (size_t a = 0; a < scalar_map.size(); ++a)
    if (scalar_map[a] < 0 || scalar_map[a] >= moments_count)
      throw InputError("moment program: alpha_moment_mapping entry " + std::to_string(a) +
                       " refers to moment " + std::to_string(scalar_map[a]) + " of " +
                       std::to_string(moments_count));
}

int MomentProgram::max_mu() const {
  int m = -1;
  for (const auto& e : basic) m = std::max(m, e[0]);
  return m;
}

int MomentProgram::max_nu() const {
  int m = 0;
  for (const auto& e : basic) m = std::max(m, e[1] + e[2] + e[3]);
  return m;
}

}  // namespace mtp
