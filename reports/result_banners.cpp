#include "reports/result_banners.h"

#include <algorithm>
#include <cstdint>
#include <functional>

#include "reports/report.h"
#include "reports/table_layout.h"

namespace repro::reports {
namespace {

// pool_3 features have 2,048 dimensions: with fewer samples their covariance is rank-deficient
// and FID (sFID likewise) is biased upward, more the fewer the samples (pytorch-fid warns so).
constexpr int64_t kFidMinSamples = 2048;
// Precision and recall take each point's k = 3rd nearest neighbour within its own set: k + 1.
constexpr int64_t kPrMinPerSet = 4;

std::string thousands(int64_t n) {
  std::string s = std::to_string(n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<size_t>(i), ",");
  return s;
}

// One kind of number that cannot mean what it seems: which results it concerns and what its
// banner says about them.
struct Kind {
  std::string mark;
  std::function<bool(const Observation&)> concerns;
  std::function<std::string(const std::vector<const Observation*>&)> text;
};

std::string random_features_text(const std::vector<const Observation*>&) {
  return "Computed with random-weight Inception features (eval.features: random-inception), not the FID network's "
         "trained weights: these values show that the pipeline runs, say nothing about sample quality and cannot "
         "be compared with published numbers. Evaluate with eval.features: inception for numbers that can.";
}

// The samples and the reference images each count (0 = unknown, not flagged).
bool too_few(const std::string& metric, int64_t n) {
  if (n <= 0) return false;
  if (metric == "fid" || metric == "sfid") return n < kFidMinSamples;
  if (metric == "precision" || metric == "recall") return n < kPrMinPerSet;
  return false;
}

bool too_few_samples(const Observation& o) {
  return too_few(o.metric, o.num_samples) || too_few(o.metric, o.num_reference);
}

std::string few_samples_text(const std::vector<const Observation*>& concerned) {
  int64_t fewest = 0, fewest_ref = 0;
  for (const auto* o : concerned) {
    if (too_few(o->metric, o->num_samples) && (fewest == 0 || o->num_samples < fewest)) fewest = o->num_samples;
    if (too_few(o->metric, o->num_reference) && (fewest_ref == 0 || o->num_reference < fewest_ref))
      fewest_ref = o->num_reference;
  }
  std::string here;
  if (fewest > 0) here = "as few as " + thousands(fewest);
  if (fewest_ref > 0)
    here += (here.empty() ? "" : "; ") + ("a reference batch of " + thousands(fewest_ref) + " images");
  return "Computed from fewer samples than the metric needs (here " + here + "): FID and sFID below " +
         thousands(kFidMinSamples) +
         " samples are biased upward (the 2,048-dimensional feature covariance is rank-deficient) and only "
         "comparable at the same sample count; precision and recall need at least " +
         std::to_string(kPrMinPerSet) +
         " images per set (k = 3 nearest neighbours). Raise eval.num_samples (the papers use 50,000) and use a "
         "reference batch of at least as many images.";
}

bool on_subset(const Observation& o) { return !o.data_subset.empty(); }

std::string subset_text(const std::vector<const Observation*>& concerned) {
  std::vector<std::string> seen;  // each distinct description once, in order
  for (const auto* o : concerned)
    if (std::find(seen.begin(), seen.end(), o->data_subset) == seen.end()) seen.push_back(o->data_subset);
  std::string which;
  for (const auto& s : seen) which += (which.empty() ? "" : "; ") + s;
  return "Computed on a subset of the data (" + which +
         "): these numbers are not comparable with ones on the full data, published ones included. Evaluate "
         "against a reference batch of the whole split (repro data export without --limit, or repro eval ref) "
         "and train on the whole dataset for numbers that are.";
}

// The kinds in banner order; "†" is not among the marks: LaTeX cells already use it for
// provenance warnings.
const std::vector<Kind>& kinds() {
  static const std::vector<Kind> k = {
      {"\xE2\x80\xA1", [](const Observation& o) { return !o.comparable; }, random_features_text},  // ‡
      {"\xC2\xA7", too_few_samples, few_samples_text},                                             // §
      {"\xC2\xB6", on_subset, subset_text},                                                        // ¶
  };
  return k;
}

// The results behind a cell's value: its metric and runs, with the cell's and the picked dimensions.
std::vector<const Observation*> results_of(const CellResult& c, const std::vector<const Observation*>& selected) {
  Dims want = c.dims;
  want.insert(c.picked.begin(), c.picked.end());
  std::vector<const Observation*> out;
  for (const auto* o : selected)
    if (o->metric == c.metric && std::find(c.runs.begin(), c.runs.end(), o->run_id) != c.runs.end() &&
        dims_match(o->dims, want))
      out.push_back(o);
  return out;
}

}  // namespace

void apply_result_banners(Report& r, const std::vector<Observation>& obs) {
  std::vector<std::vector<const Observation*>> concerned(kinds().size());  // [kind]: the results shown
  for (auto& t : r.tables) {
    const std::vector<const Observation*> selected = select_observations(t.spec, obs);
    for (auto& row : t.cells)
      for (auto& c : row) {
        if (!c.ours) continue;
        const auto behind = results_of(c, selected);
        for (size_t k = 0; k < kinds().size(); ++k) {
          bool marked = false;
          for (const auto* o : behind)
            if (kinds()[k].concerns(*o)) {
              concerned[k].push_back(o);
              marked = true;
            }
          if (marked) c.marks.push_back(kinds()[k].mark);
        }
      }
  }
  for (size_t k = 0; k < kinds().size(); ++k)
    if (!concerned[k].empty()) r.banners.push_back({kinds()[k].mark, kinds()[k].text(concerned[k])});
}

}  // namespace repro::reports
