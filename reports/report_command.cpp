#include "reports/report_command.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <ostream>

#include "base/util/errors.h"
#include "base/util/exit_code.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "reports/baseline_compare.h"
#include "reports/render.h"
#include "runner/experiment/experiment_file.h"
#include "store/report_queries.h"
#include "store/store.h"

namespace repro::reports {
namespace {

namespace fs = std::filesystem;

bool looks_like_file(const std::string& s) {
  const auto ext = fs::path(s).extension().string();
  return ext == ".yaml" || ext == ".yml" || (s.find('/') != std::string::npos && fs::is_regular_file(s));
}

}  // namespace

std::string StoreLocation::db_path() const {
  return db.empty() ? (fs::path(project) / runner::kDefaultDatabaseName).string() : db;
}

std::string existing_store(const StoreLocation& where, const std::string& command) {
  std::string db = where.db_path();
  if (!fs::exists(db))
    throw ConfigError(command, "--db",
                      db + ": no store here (run `repro run EXPERIMENT.yaml` first, or pass --project/--db)");
  return db;
}

runner::Store open_existing_store(const StoreLocation& where, const std::string& command) {
  return runner::Store(existing_store(where, command), runner::read_only_options());
}

Report load_report(const StoreLocation& where, const std::string& experiment, bool sample_grids, bool allow_no_results,
                   bool include_stale) {
  runner::Store store = open_existing_store(where, "repro report");
  const std::string db = store.path();
  const std::vector<runner::ExperimentRow> known = runner::experiment_rows(store);
  std::string names;
  for (const auto& e : known) names += (names.empty() ? "" : ", ") + e.name;

  std::optional<runner::ExperimentFile> file;
  std::string name = experiment;
  if (!experiment.empty() && looks_like_file(experiment)) {
    file = runner::read_experiment_file(experiment);
    name = file->name;
  }
  if (name.empty()) {
    if (known.size() != 1)
      throw ConfigError("repro report", "EXPERIMENT",
                        known.empty() ? "the store " + db + " holds no experiment yet"
                                      : "the store holds several experiments; name one of: " + names);
    name = known.front().name;
  }
  const auto recorded =
      std::find_if(known.begin(), known.end(), [&](const runner::ExperimentRow& e) { return e.name == name; });
  if (recorded == known.end())
    throw ConfigError("repro report", "EXPERIMENT",
                      "no experiment '" + name + "' in " + db + (names.empty() ? "" : " (it holds: " + names + ")"));

  ReportInput in;
  in.experiment = name;
  in.sample_grids = sample_grids;
  in.allow_no_results = allow_no_results;
  in.include_stale = include_stale;
  if (!file) {
    std::vector<fs::path> candidates = {recorded->file};
    if (fs::path(recorded->file).is_relative()) candidates.push_back(fs::path(where.project) / recorded->file);
    for (const auto& c : candidates)
      if (!file && fs::is_regular_file(c)) file = runner::read_experiment_file(c.string());
    if (!file)
      in.warnings.push_back(
          "experiment file '" + recorded->file +
          "' not found: default table layout (pass the file as EXPERIMENT to use its report: section)");
  }
  if (file) {
    if (file->name != name)
      throw ConfigError(file->path, "name", "the file is experiment '" + file->name + "', not '" + name + "'");
    if (recorded->file_sha256 != file->sha256)
      in.warnings.push_back("the experiment file " + file->path +
                            " changed since it was last run (its results may not match its matrix any more)");
    in.file = file->path;
    in.description = file->description;
    std::vector<std::string> axis_names;
    for (const auto& a : file->axes) {
      std::vector<std::string> labels;
      for (const auto& v : a.values) labels.push_back(v.label);
      in.axes.emplace_back(a.name, labels);
      axis_names.push_back(a.name);
    }
    in.spec = read_report_spec(file->report, file->path, axis_names);
  }
  return build_report(store, in);
}

void write_output(const std::string& path, const std::string& text, std::ostream& out) {
  if (path.empty() || path == "-") {
    out << text;
    return;
  }
  write_file_atomic(path, text);
}

namespace {
// The link goes as it is into Markdown links and \includegraphics: a space, ')' or '%' would break
// them, so only characters both take literally are allowed.
void check_assets_link(const std::string& link) {
  for (const char c : link)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string("._-/").find(c) == std::string::npos)
      throw ConfigError("repro report", "--assets",
                        "the figures' folder as linked from the report ('" + link +
                            "') may hold only letters, digits and . _ - /: choose another folder");
}
}  // namespace

int report_command(const ReportArgs& args, std::ostream& out, std::ostream& err) {
  const Format format = parse_format(args.format);  // before any work: a bad name fails fast
  const Report report = load_report(args.where, args.experiment, format == Format::kHtml || !args.assets.empty(), false,
                                    args.include_stale);
  RenderOptions options;
  if (!args.assets.empty()) {
    // Links relative to the document's folder; on stdout, the folder as given.
    const fs::path dir = fs::absolute(fs::path(args.assets) / "").lexically_normal().parent_path();
    const bool to_file = !args.out.empty() && args.out != "-";
    options.assets_link =
        to_file ? dir.lexically_relative(fs::absolute(args.out).lexically_normal().parent_path()).generic_string()
                : (fs::path(args.assets) / "").lexically_normal().parent_path().generic_string();
    if (options.assets_link.empty()) options.assets_link = ".";
    check_assets_link(options.assets_link);
    write_figure_files(args.assets, report.grids,
                       {&report.fid_curves, &report.step_curves, &report.loss_curves, &report.exposure_curves});
  }
  write_output(args.out, render(report, format, options), out);
  for (const auto& w : report.warnings) err << "warning: " << w << "\n";
  if (!args.out.empty() && args.out != "-") err << "wrote " << args.out << "\n";
  return 0;
}

int compare_command(const CompareArgs& args, std::ostream& out, std::ostream& err) {
  if (args.baseline.empty() && args.write_baseline.empty())
    throw ConfigError("repro compare", "--baseline",
                      "expected a baseline JSON (or --write-baseline FILE to record one)");
  const CompareTolerance tolerance = parse_compare_tolerance(args.tolerance);
  std::optional<nlohmann::json> baseline;
  if (!args.baseline.empty()) {
    baseline = nlohmann::json::parse(read_file(args.baseline), nullptr, false);
    if (baseline->is_discarded()) throw ConfigError(args.baseline, "--baseline", "not JSON");
  }
  // Without EXPERIMENT: the baseline's experiment when the store has it, else the store's only one
  // (a baseline of another experiment is then refused by check_baseline with both names).
  std::string experiment = args.experiment;
  if (experiment.empty() && baseline && baseline->is_object() && fs::exists(args.where.db_path())) {
    runner::Store store(args.where.db_path(), runner::read_only_options());
    for (const auto& e : runner::experiment_rows(store))
      if (e.name == baseline->value("experiment", "")) experiment = e.name;
  }
  // With a baseline, an experiment without results is a comparison where every value is missing
  // (exit 8), not bad input; recording a baseline of nothing is refused.
  const Report report = load_report(args.where, experiment, false, baseline.has_value() && args.write_baseline.empty());
  const nlohmann::json current = report_json(report);
  for (const auto& w : report.warnings) err << "warning: " << w << "\n";
  // The candidate baseline first: a run that fails the comparison (or meets a placeholder) still
  // leaves the values a person may review and commit.
  if (!args.write_baseline.empty()) {
    write_output(args.write_baseline, current.dump(2) + "\n", out);
    err << "wrote baseline " << args.write_baseline << "\n";
  }
  int code = 0;
  if (baseline) {
    check_baseline(*baseline, report.experiment, args.baseline);
    const Comparison c = compare_reports(*baseline, current, tolerance);
    out << comparison_text(c);
    if (!args.junit.empty()) write_output(args.junit, junit_xml(c), out);
    code = c.ok() ? 0 : to_int(ExitCode::kRegression);
  }
  return code;
}

}  // namespace repro::reports
