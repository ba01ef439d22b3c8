#include "mtp/radial_basis.h"

#include <cmath>
#include <string>

#include "mtp/errors.h"

namespace mtp {

void RadialBasis::validate() const {
  if (!std::isfinite(min_dist) || !std::isfinite(max_dist) || !(min_dist < max_dist) ||
      min_dist < 0.0)
    throw InputError("radial basis: need 0 <= min_dist < max_dist, got min_dist = " +
                     std::to_string(min_dist) + ", max_dist = " + std::to_string(max_dist));
  if (!std::isfinite(scaling) || scaling == 0.0)
    throw InputError("radial basis: scaling must be finite and non-zero");
  if (size < 1) throw InputError("radial basis: radial_basis_size must be >= 1");
}

}  // namespace mtp
