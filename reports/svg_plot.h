#pragma once
// A small SVG line-plot writer for the reports (metrics against iterations and sampling steps,
// training curves): linear or log10 axes with round tick values, one polyline with markers per
// series over an optional shaded band (the spread over seeds), a legend. Every text is escaped.
#include <array>
#include <string>
#include <utility>
#include <vector>

namespace repro::reports {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are skipped
  // (x, low, high) in x order: a shaded band under the line (min-max over seeds); empty = none.
  std::vector<std::array<double, 3>> band;
};

struct Plot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  bool log_x = false;  // log10 axes (as the paper's FID and loss plots); values <= 0 are skipped
  bool log_y = false;
  std::string file;  // the file name when written beside a document ("plot-<n>-<what>.svg")
};

// Round tick positions covering [lo, hi] (about `count` of them, steps of 1, 2 or 5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

// Ticks of a log10 axis covering [lo, hi] (0 < lo <= hi): 1, 2 and 5 x 10^k from the largest at
// or below lo to the smallest at or above hi when the range spans at most two decades, else the
// powers of ten from 10^floor(log10 lo) to 10^ceil(log10 hi); when that gives fewer than three,
// nice_ticks(lo, hi). Empty when lo <= 0.
std::vector<double> log_ticks(double lo, double hi);

// The plot as an <svg> element (no XML prolog), `width` x `height` pixels. A plot without
// drawable points is an SVG that says so.
std::string svg_line_plot(const Plot& plot, int width = 640, int height = 360);

}  // namespace repro::reports
