#pragma once
// Numbers that cannot mean what they seem. Each kind is a banner above the tables (every format)
// and a mark on the cells it concerns:
//   ‡  computed with random-weight Inception features (the recipe's comparable_with_published false);
//   §  fewer samples than the metric needs: FID/sFID below 2,048, precision/recall below k + 1 = 4,
//      the sample task's num_samples or the reference batch's size (the recipe's num_reference);
//   ¶  computed on a data subset: the reference batch or the training data is part of the data
//      (the recipe's data_subset, which the eval task copies from the batch's and dataset's recipes).
#include <string>
#include <vector>

#include "reports/observations.h"

namespace repro::reports {

struct Report;

struct Banner {
  std::string mark;  // the mark its cells carry ("‡", "§", "¶")
  std::string text;  // one sentence: what is wrong and what to do
};

// Adds r.banners (in the order above, only the kinds some cell shows) and the cells' marks, from
// the observations behind each cell's value.
void apply_result_banners(Report& r, const std::vector<Observation>& obs);

}  // namespace repro::reports
