#include "reports/table_layout.h"

#include <algorithm>

#include "base/util/strings.h"

namespace repro::reports {
namespace {

using Key = std::vector<std::string>;  // one value per dimension of a side

// Values of one dimension in display order, as they are added; equal values (dim_equal) once.
class DimOrder {
 public:
  void add(const std::string& v) {
    for (const auto& x : values_)
      if (dim_equal(x, v)) return;
    values_.push_back(v);
  }
  void add_sorted(std::vector<std::string> rest) {
    std::sort(rest.begin(), rest.end(), dim_less);
    for (const auto& v : rest) add(v);
  }
  size_t index(const std::string& v) const {
    for (size_t i = 0; i < values_.size(); ++i)
      if (dim_equal(values_[i], v)) return i;
    return values_.size();
  }

 private:
  std::vector<std::string> values_;
};

// The row and column dimensions, metric excluded.
std::vector<std::string> cell_dimensions(const TableSpec& spec) {
  std::vector<std::string> dims;
  for (const auto* list : {&spec.rows, &spec.columns})
    for (const auto& d : *list)
      if (d != kMetricDimension) dims.push_back(d);
  return dims;
}

std::map<std::string, DimOrder> dimension_orders(
    const TableSpec& spec, const std::vector<std::string>& dims, const std::vector<const Observation*>& selected,
    const std::vector<std::pair<std::string, std::vector<std::string>>>& axes) {
  std::map<std::string, DimOrder> order;
  for (const auto& d : dims) {
    for (const auto& [axis, labels] : axes)
      if (axis == d)
        for (const auto& l : labels) order[d].add(l);
    for (const auto& p : spec.published)
      if (auto it = p.dims.find(d); it != p.dims.end()) order[d].add(it->second);
    std::vector<std::string> rest;
    for (const auto* o : selected)
      if (auto it = o->dims.find(d); it != o->dims.end()) rest.push_back(it->second);
    order[d].add_sorted(rest);
  }
  return order;
}

// The cells present: the combinations of the non-metric dimensions that some result or some
// published value (of the table's metrics, agreeing with its where:) has, each once.
std::vector<Dims> cell_combinations(const TableSpec& spec, const std::vector<std::string>& dims,
                                    const std::vector<const Observation*>& selected) {
  std::vector<Dims> combos;
  auto add_combo = [&](const Dims& source) {
    Dims c;
    for (const auto& d : dims) {
      auto it = source.find(d);
      if (it == source.end()) return;
      c[d] = it->second;
    }
    for (const auto& x : combos)
      if (dims_match(x, c)) return;
    combos.push_back(c);
  };
  for (const auto* o : selected) add_combo(o->dims);
  for (const auto& p : spec.published) {
    bool has_metric = false;
    for (const auto& m : spec.metrics) has_metric = has_metric || p.metrics.count(m);
    if (agrees_with_where(spec, p) && has_metric) add_combo(p.dims);
  }
  return combos;
}

// The keys of one side a combination gives: its values, crossed with every metric where the side
// holds the metric dimension.
std::vector<Key> side_keys_of(const std::vector<std::string>& side, const Dims& combo,
                              const std::vector<std::string>& metrics) {
  std::vector<Key> expanded = {{}};
  for (const auto& d : side) {
    std::vector<Key> next;
    for (const auto& k : expanded) {
      if (d == kMetricDimension) {
        for (const auto& m : metrics) {
          next.push_back(k);
          next.back().push_back(m);
        }
      } else {
        next.push_back(k);
        next.back().push_back(combo.at(d));
      }
    }
    expanded = std::move(next);
  }
  return expanded;
}

bool same_key(const Key& a, const Key& b) {
  bool same = true;
  for (size_t i = 0; i < b.size(); ++i) same = same && dim_equal(a[i], b[i]);
  return same;
}

// Keys of one side (rows or columns): the distinct projections of the combinations, in order.
std::vector<Key> side_keys(const TableSpec& spec, const std::vector<std::string>& side, const std::vector<Dims>& combos,
                           const std::map<std::string, DimOrder>& order) {
  std::vector<Key> keys;
  for (const auto& c : combos)
    for (const auto& k : side_keys_of(side, c, spec.metrics))
      if (std::none_of(keys.begin(), keys.end(), [&](const Key& x) { return same_key(x, k); })) keys.push_back(k);
  auto rank = [&](const Key& k) {
    std::vector<size_t> r;
    for (size_t i = 0; i < side.size(); ++i)
      r.push_back(
          side[i] == kMetricDimension
              ? static_cast<size_t>(std::find(spec.metrics.begin(), spec.metrics.end(), k[i]) - spec.metrics.begin())
              : order.at(side[i]).index(k[i]));
    return r;
  };
  std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
  return keys;
}

}  // namespace

bool dims_match(const Dims& have, const Dims& want) {
  for (const auto& [d, v] : want) {
    auto it = have.find(d);
    if (it == have.end() || !dim_equal(it->second, v)) return false;
  }
  return true;
}

bool agrees_with_where(const TableSpec& spec, const PublishedValue& published) {
  for (const auto& [d, v] : spec.where)
    if (auto it = published.dims.find(d); it != published.dims.end() && !dim_equal(it->second, v)) return false;
  return true;
}

bool names_dimension(const TableSpec& spec, const std::string& d) {
  return contains(spec.rows, d) || contains(spec.columns, d) || spec.where.count(d) > 0;
}

bool at_neutral_values(const TableSpec& spec, const Dims& dims) {
  for (const auto& [d, neutral] : neutral_dimensions())
    if (!names_dimension(spec, d))
      if (auto it = dims.find(d); it != dims.end() && !dim_equal(it->second, neutral)) return false;
  return true;
}

std::vector<const Observation*> select_observations(const TableSpec& spec, const std::vector<Observation>& all) {
  std::vector<const Observation*> selected;
  for (const auto& o : all)
    if (contains(spec.metrics, o.metric) && dims_match(o.dims, spec.where) && at_neutral_values(spec, o.dims))
      selected.push_back(&o);
  return selected;
}

TableLayout table_layout(const TableSpec& spec, const std::vector<const Observation*>& selected,
                         const std::vector<std::pair<std::string, std::vector<std::string>>>& axes) {
  const std::vector<std::string> dims = cell_dimensions(spec);
  const auto order = dimension_orders(spec, dims, selected, axes);
  const auto combos = cell_combinations(spec, dims, selected);
  return {side_keys(spec, spec.rows, combos, order), side_keys(spec, spec.columns, combos, order)};
}

std::vector<std::string> stale_row_key(const TableSpec& spec, std::vector<std::string> key) {
  size_t at = spec.rows.size() - 1;
  for (size_t i = 0; i < spec.rows.size(); ++i)
    if (spec.rows[i] != kMetricDimension) at = i;
  key[at] = spec.label(spec.rows[at], key[at]) + " (stale)";
  return key;
}

}  // namespace repro::reports
