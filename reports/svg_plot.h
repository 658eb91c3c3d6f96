#pragma once
// A small SVG line-plot writer for the HTML report (FID vs iterations, loss curves): axes with
// round tick values, one polyline with markers per series, a legend. Every text is escaped.
#include <string>
#include <utility>
#include <vector>

namespace repro::reports {

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y); non-finite points are skipped
};

struct Plot {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
};

// Round tick positions covering [lo, hi] (about `count` of them, steps of 1, 2 or 5 x 10^k).
std::vector<double> nice_ticks(double lo, double hi, int count = 5);

// The plot as an <svg> element (no XML prolog), `width` x `height` pixels. A plot without
// finite points is an SVG that says so.
std::string svg_line_plot(const Plot& plot, int width = 640, int height = 360);

}  // namespace repro::reports
