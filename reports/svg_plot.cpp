#include "reports/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "reports/text_escape.h"

namespace repro::reports {
namespace {

// Colour-blind-safe palette (Okabe-Ito).
const char* const kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"};

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string tick_label(double v) {
  char buf[32];
  if (v != 0 && (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-3))
    std::snprintf(buf, sizeof buf, "%.2g", v);
  else
    std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

// One axis: its data range widened to its outer ticks, linear or log10.
struct Axis {
  bool log = false;
  double lo = INFINITY, hi = -INFINITY;
  std::vector<double> ticks;

  bool drawable(double v) const { return std::isfinite(v) && (!log || v > 0); }
  double scaled(double v) const { return log ? std::log10(v) : v; }
  // 0 at lo, 1 at hi.
  double fraction(double v) const { return (scaled(v) - scaled(lo)) / (scaled(hi) - scaled(lo)); }
  void include(double v) { lo = std::min(lo, v), hi = std::max(hi, v); }
  bool empty() const { return !(lo <= hi); }

  // After every include(): a single value is widened (x by 1, y by 5%; log axes by a factor 2),
  // then the range grows to the outer ticks.
  void finish(bool is_x) {
    if (hi == lo && log) {
      lo /= 2, hi *= 2;
    } else if (hi == lo && is_x) {
      lo -= 1, hi += 1;
    } else if (hi == lo) {
      lo -= std::max(1e-6, std::fabs(lo) * 0.05), hi += std::max(1e-6, std::fabs(hi) * 0.05);
    }
    ticks = log ? log_ticks(lo, hi) : nice_ticks(lo, hi);
    lo = std::min(lo, ticks.front()), hi = std::max(hi, ticks.back());
  }
};

// The finite ranges of the points and bands that both axes can draw.
void fit_axes(const Plot& plot, Axis& x, Axis& y) {
  for (const auto& s : plot.series) {
    for (const auto& [px, py] : s.points)
      if (x.drawable(px) && y.drawable(py)) x.include(px), y.include(py);
    for (const auto& [bx, low, high] : s.band)
      if (x.drawable(bx) && y.drawable(low) && y.drawable(high)) x.include(bx), y.include(low), y.include(high);
  }
}

struct Frame {
  double left = 64, right = 180, top = 32, bottom = 48;
  double width = 0, height = 0;  // of the plot area
  Axis x, y;
  double px(double v) const { return left + x.fraction(v) * width; }
  double py(double v) const { return top + height - y.fraction(v) * height; }
};

void write_axes(std::ostringstream& o, const Plot& plot, const Frame& f, int height) {
  o << "<rect x=\"" << fmt(f.left) << "\" y=\"" << fmt(f.top) << "\" width=\"" << fmt(f.width) << "\" height=\""
    << fmt(f.height) << "\" fill=\"none\" stroke=\"#444\"/>\n";
  const double base = f.top + f.height;
  for (double t : f.x.ticks)
    o << "<line x1=\"" << fmt(f.px(t)) << "\" y1=\"" << fmt(base) << "\" x2=\"" << fmt(f.px(t)) << "\" y2=\""
      << fmt(base + 4) << "\" stroke=\"#444\"/><text x=\"" << fmt(f.px(t)) << "\" y=\"" << fmt(base + 16)
      << "\" text-anchor=\"middle\">" << tick_label(t) << "</text>\n";
  for (double t : f.y.ticks)
    o << "<line x1=\"" << fmt(f.left - 4) << "\" y1=\"" << fmt(f.py(t)) << "\" x2=\"" << fmt(f.left + f.width)
      << "\" y2=\"" << fmt(f.py(t)) << "\" stroke=\"#ddd\"/><text x=\"" << fmt(f.left - 6) << "\" y=\""
      << fmt(f.py(t) + 4) << "\" text-anchor=\"end\">" << tick_label(t) << "</text>\n";
  const std::string x_scale = plot.log_x ? " (log scale)" : "", y_scale = plot.log_y ? " (log scale)" : "";
  o << "<text x=\"" << fmt(f.left + f.width / 2) << "\" y=\"" << fmt(height - 8.0) << "\" text-anchor=\"middle\">"
    << html_escape(plot.x_label + x_scale) << "</text>\n";
  o << "<text transform=\"translate(14," << fmt(f.top + f.height / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
    << html_escape(plot.y_label + y_scale) << "</text>\n";
}

// The band as one polygon: along the highs, back along the lows.
std::string band_points(const Series& s, const Frame& f) {
  std::vector<std::array<double, 3>> band;
  for (const auto& b : s.band)
    if (f.x.drawable(b[0]) && f.y.drawable(b[1]) && f.y.drawable(b[2])) band.push_back(b);
  std::string pts;
  for (const auto& b : band) pts += (pts.empty() ? "" : " ") + fmt(f.px(b[0])) + "," + fmt(f.py(b[2]));
  for (auto it = band.rbegin(); it != band.rend(); ++it) pts += " " + fmt(f.px((*it)[0])) + "," + fmt(f.py((*it)[1]));
  return band.size() >= 2 ? pts : "";
}

void write_series(std::ostringstream& o, const Series& s, size_t i, const Frame& f) {
  const char* colour = kColours[i % (sizeof kColours / sizeof kColours[0])];
  std::string pts;
  size_t drawn = 0;
  for (const auto& [x, y] : s.points)
    if (f.x.drawable(x) && f.y.drawable(y))
      pts += (pts.empty() ? "" : " ") + fmt(f.px(x)) + "," + fmt(f.py(y)), ++drawn;
  o << "<g><title>" << html_escape(s.name) << "</title>";
  if (const std::string band = band_points(s, f); !band.empty())
    o << "<polygon class=\"band\" fill=\"" << colour << "\" fill-opacity=\"0.2\" stroke=\"none\" points=\"" << band
      << "\"/>";
  o << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"" << pts << "\"/>";
  if (drawn <= 50)
    for (const auto& [x, y] : s.points)
      if (f.x.drawable(x) && f.y.drawable(y))
        o << "<circle cx=\"" << fmt(f.px(x)) << "\" cy=\"" << fmt(f.py(y)) << "\" r=\"3\" fill=\"" << colour << "\"/>";
  o << "</g>\n";
  const double ly = f.top + 12 + 18.0 * static_cast<double>(i), lx = f.left + f.width;
  o << "<line x1=\"" << fmt(lx + 12) << "\" y1=\"" << fmt(ly) << "\" x2=\"" << fmt(lx + 32) << "\" y2=\"" << fmt(ly)
    << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/><text x=\"" << fmt(lx + 36) << "\" y=\"" << fmt(ly + 4)
    << "\">" << html_escape(s.name) << "</text>\n";
}

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  return ticks;
}

std::vector<double> log_ticks(double lo, double hi) {
  if (!(lo > 0) || !(hi >= lo)) return {};
  const int a = static_cast<int>(std::floor(std::log10(lo) + 1e-12));
  const int b = std::max(a + 1, static_cast<int>(std::ceil(std::log10(hi) - 1e-12)));
  std::vector<double> ticks;
  if (b - a > 2) {
    for (int k = a; k <= b; ++k) ticks.push_back(std::pow(10.0, k));
    return ticks;
  }
  std::vector<double> all;
  for (int k = a; k <= b; ++k)
    for (double m : {1.0, 2.0, 5.0}) all.push_back(m * std::pow(10.0, k));
  size_t first = 0, last = all.size() - 1;
  for (size_t i = 0; i < all.size(); ++i)
    if (all[i] <= lo * (1 + 1e-9)) first = i;
  for (size_t i = all.size(); i-- > 0;)
    if (all[i] >= hi * (1 - 1e-9)) last = i;
  ticks.assign(all.begin() + static_cast<std::ptrdiff_t>(first), all.begin() + static_cast<std::ptrdiff_t>(last) + 1);
  // A range inside one 1-2-5 step (a loss from 0.6 to 0.9) would get two ticks: round linear ones.
  return ticks.size() >= 3 ? ticks : nice_ticks(lo, hi);
}

std::string svg_line_plot(const Plot& plot, int width, int height) {
  Frame f;
  f.width = width - f.left - f.right, f.height = height - f.top - f.bottom;
  f.x.log = plot.log_x, f.y.log = plot.log_y;
  fit_axes(plot, f.x, f.y);
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<title>" << html_escape(plot.title) << "</title>\n";
  o << "<text x=\"" << fmt(width / 2.0) << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">"
    << html_escape(plot.title) << "</text>\n";
  if (f.x.empty()) {
    o << "<text x=\"" << fmt(width / 2.0) << "\" y=\"" << fmt(height / 2.0)
      << "\" text-anchor=\"middle\">no data</text>\n</svg>\n";
    return o.str();
  }
  f.x.finish(true);
  f.y.finish(false);
  write_axes(o, plot, f, height);
  for (size_t i = 0; i < plot.series.size(); ++i) write_series(o, plot.series[i], i, f);
  o << "</svg>\n";
  return o.str();
}

}  // namespace repro::reports
