#include "reports/cell_format.h"
#include "reports/json_text.h"
#include "reports/render.h"

namespace repro::reports {

// Tidy: "values" has one object per value (a cell with ours or a published number). `repro
// compare` keys them by table, dims and metric. "banners" (result_banners.h) lists {mark, text}
// before the tables; a value's "marks" names those that concern it. Every string is valid UTF-8.
nlohmann::json report_json(const Report& r) {
  using json = nlohmann::json;
  json j = {{"format", kReportFormatName},  {"version", kReportFormatVersion}, {"experiment", r.experiment},
            {"description", r.description}, {"banners", json::array()},        {"tables", json::array()},
            {"values", json::array()},      {"warnings", r.warnings},          {"provenance", json::array()}};
  for (const auto& b : r.banners) j["banners"].push_back({{"mark", b.mark}, {"text", b.text}});
  for (const auto& t : r.tables) {
    json tolerance = json::object();
    for (const auto& m : t.spec.metrics) {
      const Tolerance tol = t.spec.tolerance_for(m);
      const char* kind = tol.kind == Tolerance::Kind::kAbsolute   ? "absolute"
                         : tol.kind == Tolerance::Kind::kRelative ? "relative"
                                                                  : "seeds";
      tolerance[m] = {{kind, tol.amount}};
    }
    j["tables"].push_back({{"id", t.spec.id},
                           {"title", t.spec.title},
                           {"rows", t.spec.rows},
                           {"columns", t.spec.columns},
                           {"metrics", t.spec.metrics},
                           {"published_source", t.spec.published_source},
                           {"published_num_samples", t.spec.published_num_samples},
                           {"tolerance", tolerance}});
    for (const auto& row : t.cells)
      for (const auto& c : row) {
        if (c.verdict == Verdict::kEmpty) continue;
        json v = {{"table", t.spec.id}, {"dims", c.dims}, {"metric", c.metric}};
        v["mean"] = c.ours ? json(c.ours->mean) : json(nullptr);
        v["std"] = c.ours ? json(c.ours->std) : json(nullptr);
        v["n"] = c.ours ? c.ours->n : 0;
        v["published"] = c.published ? json(*c.published) : json(nullptr);
        v["difference"] = c.difference ? json(*c.difference) : json(nullptr);
        v["verdict"] = to_string(c.verdict);
        v["best"] = c.best;
        v["note"] = c.note;
        v["runs"] = c.runs;
        v["picked"] = c.picked;
        v["warnings"] = c.warnings;
        v["marks"] = c.marks;
        j["values"].push_back(std::move(v));
      }
  }
  for (const auto& run : r.provenance) {
    json p = {{"run_id", run.run_id}, {"axes", run.axes}, {"entries", run.entries}};
    p["wall_seconds"] = run.wall_seconds ? json(*run.wall_seconds) : json(nullptr);
    p["gpu_hours"] = run.gpu_hours ? json(*run.gpu_hours) : json(nullptr);
    j["provenance"].push_back(std::move(p));
  }
  // Read back from its text: strings that are not UTF-8 (labels, paths and provenance of older
  // stores) become U+FFFD here already, so `repro compare` matches them to a baseline it wrote.
  return nlohmann::json::parse(dump_json(j));
}

}  // namespace repro::reports
