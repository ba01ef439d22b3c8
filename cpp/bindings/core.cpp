// pybind11 bindings: the only place where the kernel meets Python. Arrays in and out are numpy;
// kernel exceptions become PotentialFileError (a ValueError) or ValueError.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <sstream>

#include "mtp/configuration.h"
#include "mtp/errors.h"
#include "mtp/potential.h"
#include "mtp/potential_file.h"
#include "mtp/site_evaluator.h"
#include "mtp/training_loss.h"

namespace py = pybind11;
using namespace mtp;

namespace {

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

std::vector<double> to_vec(const DArray& a) { return {a.data(), a.data() + a.size()}; }

DArray to_array(const std::vector<double>& v, std::vector<py::ssize_t> shape) {
  DArray out(shape);
  std::copy(v.begin(), v.end(), out.mutable_data());
  return out;
}

std::vector<std::array<int, 4>> to_quads(const IArray& a, const char* what) {
  if (a.size() != 0 && (a.ndim() != 2 || a.shape(1) != 4))
    throw InputError(std::string(what) + " must have shape (n, 4)");
  std::vector<std::array<int, 4>> out(a.size() / 4);
  for (size_t i = 0; i < out.size(); ++i)
    for (int k = 0; k < 4; ++k) out[i][k] = a.data()[4 * i + k];
  return out;
}

IArray quads_array(const std::vector<std::array<int, 4>>& q) {
  IArray out({py::ssize_t(q.size()), py::ssize_t(4)});
  for (size_t i = 0; i < q.size(); ++i)
    for (int k = 0; k < 4; ++k) out.mutable_data()[4 * i + k] = q[i][k];
  return out;
}

std::shared_ptr<Potential> make_potential(double min_dist, double max_dist, double scaling,
                                          int n_species, int n_funcs, int n_basis,
                                          const std::string& format, std::vector<DArray> factors,
                                          std::vector<int> ranks, int moments_count,
                                          const IArray& basic, const IArray& times,
                                          const std::vector<int>& scalar_map,
                                          const DArray& species_coeffs, const DArray& moment_coeffs,
                                          std::vector<std::string> species_names,
                                          const std::string& name, std::vector<int> mlip_types,
                                          const py::bytes& mlip_selection_state,
                                          std::vector<double> radial_floor,
                                          std::vector<int> core_atomic_numbers,
                                          std::vector<double> core_inner, std::vector<double> core_outer) {
  RadialBasis basis{min_dist, max_dist, scaling, n_basis, std::move(radial_floor)};
  RadialShape shape{n_species, n_funcs, n_basis};
  RadialCoeffs rc;
  if (format == "full") {
    if (factors.size() != 1) throw InputError("full radial coefficients need one array C");
    rc = RadialCoeffs::full(shape, to_vec(factors[0]));
  } else if (format == "mf") {
    if (factors.size() != 2 || ranks.size() != 1) throw InputError("mf needs U, V and one rank");
    rc = RadialCoeffs::mf(shape, ranks[0], to_vec(factors[0]), to_vec(factors[1]));
  } else if (format == "tt") {
    if (factors.size() != 4 || ranks.size() != 3) throw InputError("tt needs 4 cores and 3 ranks");
    rc = RadialCoeffs::tt(shape, {ranks[0], ranks[1], ranks[2]},
                          {to_vec(factors[0]), to_vec(factors[1]), to_vec(factors[2]),
                           to_vec(factors[3])});
  } else {
    throw InputError("unknown radial format '" + format + "' (full, mf or tt)");
  }
  MomentProgram prog;
  prog.moments_count = moments_count;
  prog.basic = to_quads(basic, "alpha_index_basic");
  prog.times = to_quads(times, "alpha_index_times");
  prog.scalar_map = scalar_map;
  PotentialLabels labels{name, std::move(species_names), std::move(mlip_types),
                         std::string(mlip_selection_state)};
  RepulsiveCore core{std::move(core_atomic_numbers), std::move(core_inner), std::move(core_outer)};
  return std::make_shared<Potential>(basis, std::move(rc), std::move(prog), to_vec(species_coeffs),
                                     to_vec(moment_coeffs), std::move(labels), true, std::move(core));
}

py::dict evaluate(Evaluator& ev, const DArray& positions, const IArray& types, const DArray& cell,
                  std::array<bool, 3> pbc, bool forces, bool site_virials, bool param_gradient,
                  double min_distance, bool site_param_gradients) {
  if (positions.ndim() != 2 || positions.shape(1) != 3)
    throw InputError("positions must have shape (n, 3)");
  const int n = int(positions.shape(0));
  if (types.size() != n) throw InputError("types must have one entry per atom");
  if (cell.size() != 9) throw InputError("cell must have shape (3, 3)");
  EvalRequest req;
  req.forces = forces;
  req.site_virials = site_virials;
  req.param_gradient = param_gradient;
  req.min_distance = min_distance;
  req.site_param_gradients = site_param_gradients;
  EvalResult r;
  {
    py::gil_scoped_release release;
    r = ev.evaluate(n, positions.data(), types.data(), cell.data(), pbc.data(), req);
  }
  py::dict out;
  out["energy"] = r.energy;
  out["energies"] = to_array(r.site_energies, {n});
  // atoms with a neighbour closer than min_dist (the basis is extrapolated there)
  out["short_range_atoms"] = r.short_range.sites;
  out["closest_short_distance"] = r.short_range.closest;
  if (forces || site_virials)  // the virial needs the pair derivatives
    out["virial"] = to_array(std::vector<double>(r.virial.begin(), r.virial.end()), {3, 3});
  if (forces) out["forces"] = to_array(r.forces, {n, 3});
  if (site_virials) out["site_virials"] = to_array(r.site_virials, {n, 3, 3});
  if (param_gradient) {
    out["grad_species"] = to_array(r.grad_species, {py::ssize_t(r.grad_species.size())});
    out["grad_moment"] = to_array(r.grad_moment, {py::ssize_t(r.grad_moment.size())});
    out["grad_radial"] = to_array(r.grad_radial, {py::ssize_t(r.grad_radial.size())});
  }
  if (site_param_gradients)
    out["site_gradients"] = to_array(r.site_gradients, {n, n ? py::ssize_t(r.site_gradients.size() / n) : 0});
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "mtp-lowrank C++ kernel (private; use the mtp_lowrank package)";
  static py::exception<FileError> file_error(m, "PotentialFileError", PyExc_ValueError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const FileError& e) {
      py::set_error(file_error, e.what());
    } catch (const InputError& e) {
      py::set_error(PyExc_ValueError, e.what());
    }
  });

  py::class_<Potential, std::shared_ptr<Potential>>(m, "Potential")
      .def(py::init(&make_potential), py::arg("min_dist"), py::arg("max_dist"), py::arg("scaling"),
           py::arg("n_species"), py::arg("n_funcs"), py::arg("n_basis"), py::arg("format"),
           py::arg("factors"), py::arg("ranks"), py::arg("moments_count"), py::arg("basic"),
           py::arg("times"), py::arg("scalar_map"), py::arg("species_coeffs"),
           py::arg("moment_coeffs"), py::arg("species_names"), py::arg("name"),
           py::arg("mlip_types") = std::vector<int>{}, py::arg("mlip_selection_state") = py::bytes(),
           py::arg("radial_floor") = std::vector<double>{}, py::arg("core_atomic_numbers") = std::vector<int>{},
           py::arg("core_inner") = std::vector<double>{}, py::arg("core_outer") = std::vector<double>{})
      .def_property_readonly("min_dist", [](const Potential& p) { return p.radial_basis().min_dist; })
      .def_property_readonly("max_dist", [](const Potential& p) { return p.radial_basis().max_dist; })
      .def_property_readonly("scaling", [](const Potential& p) { return p.radial_basis().scaling; })
      .def_property_readonly("radial_basis_size", [](const Potential& p) { return p.radial_basis().size; })
      .def_property_readonly("radial_floor", [](const Potential& p) { return p.radial_basis().floor; })
      .def_property_readonly("core_atomic_numbers", [](const Potential& p) { return p.repulsive_core().atomic_numbers; })
      .def_property_readonly("core_inner", [](const Potential& p) { return p.repulsive_core().inner; })
      .def_property_readonly("core_outer", [](const Potential& p) { return p.repulsive_core().outer; })
      .def_property_readonly("n_species", &Potential::n_species)
      .def_property_readonly("n_funcs", &Potential::n_funcs)
      .def_property_readonly("name", &Potential::name)
      .def_property_readonly("trained", &Potential::trained)
      .def_property_readonly("species_names", &Potential::species_names)
      .def_property_readonly("mlip_types", &Potential::mlip_types)
      .def_property_readonly("mlip_selection_state",
                             [](const Potential& p) { return py::bytes(p.mlip_selection_state()); })
      .def_property_readonly("format", [](const Potential& p) { return format_name(p.radial_coeffs().format()); })
      .def_property_readonly("ranks", [](const Potential& p) {
        const auto& rc = p.radial_coeffs();
        if (rc.format() == RadialFormat::MF) return std::vector<int>{rc.mf_rank()};
        if (rc.format() == RadialFormat::TT)
          return std::vector<int>(rc.tt_ranks().begin(), rc.tt_ranks().end());
        return std::vector<int>{};
      })
      .def_property_readonly("factors", [](const Potential& p) {
        const auto& rc = p.radial_coeffs();
        const auto shapes = rc.factor_shapes();
        py::list out;
        for (size_t k = 0; k < shapes.size(); ++k)
          out.append(to_array(rc.factors()[k], std::vector<py::ssize_t>(shapes[k].begin(), shapes[k].end())));
        return out;
      })
      .def_property_readonly("radial_coeffs", [](const Potential& p) {
        const auto& s = p.radial_coeffs().shape();
        return to_array(p.radial_coeffs().pair_table(), {s.n_species, s.n_species, s.n_funcs, s.n_basis});
      })
      .def_property_readonly("species_coeffs", [](const Potential& p) {
        return to_array(p.species_coeffs(), {py::ssize_t(p.species_coeffs().size())});
      })
      .def_property_readonly("moment_coeffs", [](const Potential& p) {
        return to_array(p.moment_coeffs(), {py::ssize_t(p.moment_coeffs().size())});
      })
      .def("radial_pullback", [](const Potential& p, const DArray& d_table) {
        // dL/dC (N_T, N_T, N_f, N_b) -> dL/d(stored radial factors), flat in factors() order
        if (size_t(d_table.size()) != p.radial_coeffs().pair_table().size())
          throw InputError("radial_pullback: dL/dC must have the shape of C");
        const std::vector<double> g = p.radial_coeffs().pullback(d_table.data());
        return to_array(g, {py::ssize_t(g.size())});
      }, py::arg("d_table"))
      .def_property_readonly("moments_count", [](const Potential& p) { return p.program().moments_count; })
      .def_property_readonly("alpha_index_basic", [](const Potential& p) { return quads_array(p.program().basic); })
      .def_property_readonly("alpha_index_times", [](const Potential& p) { return quads_array(p.program().times); })
      .def_property_readonly("alpha_moment_mapping", [](const Potential& p) { return p.program().scalar_map; });

  m.def("read_potential", &read_potential, py::arg("path"));
  m.def("profile_site", [](std::shared_ptr<Potential> pot, int type, const DArray& rij, const IArray& types,
                           int repeats) {
        if (rij.ndim() != 2 || rij.shape(1) != 3 || types.size() != rij.shape(0))
          throw InputError("profile_site: rij must be (n, 3) with one type per row");
        SiteEvaluator site(*pot);
        return site.profile(type, int(rij.shape(0)), rij.data(), types.data(), repeats);
      }, py::arg("potential"), py::arg("type"), py::arg("rij"), py::arg("types"), py::arg("repeats") = 1000,
      "seconds per call of each stage of one atom's energy+forces (benchmark breakdown)");
  m.def("parse_potential", [](const std::string& text, const std::string& name) {
    std::istringstream in(text);
    return parse_potential(in, name);
  }, py::arg("text"), py::arg("source_name") = "<string>");
  m.def("write_potential", py::overload_cast<const Potential&, const std::string&, bool>(&write_potential),
        py::arg("potential"), py::arg("path"), py::arg("with_species"));
  m.def("format_potential", [](const Potential& p, bool with_species) {
    std::ostringstream out;
    write_potential(p, out, with_species);
    return py::bytes(out.str());  // MLIP-3's selection block, when kept, is binary
  }, py::arg("potential"), py::arg("with_species"));

  py::class_<TrainingSet>(m, "TrainingSet")
      .def(py::init<>())
      .def("__len__", &TrainingSet::size)
      .def("add", [](TrainingSet& ts, const DArray& positions, const IArray& types, const DArray& cell,
                     std::array<bool, 3> pbc, double energy, std::optional<DArray> forces,
                     std::optional<DArray> virial, double w_energy, double w_forces, double w_virial) {
        TrainingConfiguration c;
        c.n_atoms = int(types.size());
        c.positions = to_vec(positions);
        c.types.assign(types.data(), types.data() + types.size());
        if (cell.size() != 9) throw InputError("cell must have shape (3, 3)");
        std::copy(cell.data(), cell.data() + 9, c.cell.begin());
        c.pbc = pbc;
        c.energy = energy;
        if (forces) c.forces = to_vec(*forces);
        if (virial) {
          if (virial->size() != 9) throw InputError("virial must have shape (3, 3)");
          std::copy(virial->data(), virial->data() + 9, c.virial.begin());
        }
        c.w_energy = w_energy;
        c.w_forces = forces ? w_forces : 0.0;
        c.w_virial = virial ? w_virial : 0.0;
        ts.add(std::move(c));
      }, py::arg("positions"), py::arg("types"), py::arg("cell"), py::arg("pbc"), py::arg("energy"),
         py::arg("forces"), py::arg("virial"), py::arg("w_energy"), py::arg("w_forces"),
         py::arg("w_virial"));

  m.def("loss_and_gradient", [](std::shared_ptr<Potential> pot, const TrainingSet& data,
                                bool gradient, int n_threads, std::vector<int> subset) {
    LossResult r;
    {
      py::gil_scoped_release release;
      r = loss_and_gradient(pot, data, gradient, n_threads, subset);
    }
    py::dict out;
    const py::ssize_t nc = py::ssize_t(r.energy_error.size());
    out["loss"] = r.loss;
    if (gradient) out["grad"] = to_array(r.grad, {py::ssize_t(r.grad.size())});
    out["energy_error"] = to_array(r.energy_error, {nc});
    out["force_sq"] = to_array(r.force_sq, {nc});
    out["virial_sq"] = to_array(r.virial_sq, {nc});
    out["loss_terms"] = to_array(r.loss_terms, {nc, 3});
    return out;
  }, py::arg("potential"), py::arg("data"), py::arg("gradient") = true, py::arg("n_threads") = 0,
     py::arg("subset") = std::vector<int>{});

  py::class_<Evaluator>(m, "Evaluator")
      .def(py::init([](std::shared_ptr<Potential> p, int n_threads) {
             return new Evaluator(std::shared_ptr<const Potential>(p), n_threads);
           }), py::arg("potential"), py::arg("n_threads") = 0)
      .def("evaluate", &evaluate, py::arg("positions"), py::arg("types"), py::arg("cell"),
           py::arg("pbc"), py::arg("forces") = true, py::arg("site_virials") = false,
           py::arg("param_gradient") = false, py::arg("min_distance") = 0.1,
           py::arg("site_param_gradients") = false)
      .def("parameter_tangent", [](Evaluator& ev, const IArray& types, std::optional<DArray> v,
                                    std::optional<DArray> S) {
        // After evaluate() on the same configuration: (G, D_t G) in the full representation.
        SiteGradient g, dg;
        g.reset(ev.potential());
        dg.reset(ev.potential());
        {
          py::gil_scoped_release release;
          ev.parameter_tangent(types.data(), v ? v->data() : nullptr, S ? S->data() : nullptr, g, dg);
        }
        auto flat = [](const SiteGradient& x) {
          std::vector<double> out = x.species;
          out.insert(out.end(), x.moment.begin(), x.moment.end());
          out.insert(out.end(), x.radial.begin(), x.radial.end());
          return to_array(out, {py::ssize_t(out.size())});
        };
        return py::make_tuple(flat(g), flat(dg));
      }, py::arg("types"), py::arg("v") = py::none(), py::arg("S") = py::none())
      .def("neighbor_list", [](const Evaluator& ev) {
        const NeighborList& nl = ev.neighbor_list();
        return py::make_tuple(nl.offsets, nl.index,
                              to_array(nl.rij, {py::ssize_t(nl.index.size()), 3}));
      });
}
