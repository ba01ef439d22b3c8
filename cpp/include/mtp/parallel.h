// OpenMP loop whose body may throw: the first exception is carried out of the parallel region
// and rethrown as InputError, prefixed with `label(i)` naming the item (atom, configuration)
// unless the label is empty.
#pragma once
#include <exception>
#include <string>

#include "mtp/errors.h"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace mtp {

enum class Schedule { Static, Dynamic };

// body(i, thread) for i in [0, n) on n_threads threads (thread in [0, n_threads)).
template <class Body, class Label>
void parallel_for(int n, int n_threads, Schedule schedule, Label&& label, Body&& body) {
  std::string error;
  bool failed = false;
  auto run = [&](int i, int tid) {
    if (failed) return;
    try {
      body(i, tid);
    } catch (const std::exception& e) {
#pragma omp critical(mtp_parallel_for_error)
      {
        if (!failed) {
          const std::string where = label(i);  // empty: the body's message names the item
          error = where.empty() ? std::string(e.what()) : where + ": " + e.what();
        }
        failed = true;
      }
    }
  };
#pragma omp parallel num_threads(n_threads)
  {
    int tid = 0;
#ifdef _OPENMP
    tid = omp_get_thread_num();
#endif
    if (schedule == Schedule::Static) {
#pragma omp for schedule(static)
      for (int i = 0; i < n; ++i) run(i, tid);
    } else {
#pragma omp for schedule(dynamic, 1)
      for (int i = 0; i < n; ++i) run(i, tid);
    }
  }
  if (failed) throw InputError(error);
}

}  // namespace mtp
