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

std::string svg_line_plot(const Plot& plot, int width, int height) {
  const double left = 64, right = 180, top = 32, bottom = 48;
  const double pw = width - left - right, ph = height - top - bottom;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : plot.series)
    for (const auto& [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) {
        x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
      }
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
    << width << " " << height << "\" font-family=\"sans-serif\" font-size=\"12\">\n";
  o << "<title>" << html_escape(plot.title) << "</title>\n";
  o << "<text x=\"" << fmt(width / 2.0) << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\">"
    << html_escape(plot.title) << "</text>\n";
  if (!std::isfinite(x0)) {
    o << "<text x=\"" << fmt(width / 2.0) << "\" y=\"" << fmt(height / 2.0)
      << "\" text-anchor=\"middle\">no data</text>\n</svg>\n";
    return o.str();
  }
  if (x1 == x0) x0 -= 1, x1 += 1;
  if (y1 == y0) y0 -= std::max(1e-6, std::fabs(y0) * 0.05), y1 += std::max(1e-6, std::fabs(y1) * 0.05);
  const auto xt = nice_ticks(x0, x1), yt = nice_ticks(y0, y1);
  x0 = std::min(x0, xt.front()), x1 = std::max(x1, xt.back());
  y0 = std::min(y0, yt.front()), y1 = std::max(y1, yt.back());
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + ph - (y - y0) / (y1 - y0) * ph; };
  o << "<rect x=\"" << fmt(left) << "\" y=\"" << fmt(top) << "\" width=\"" << fmt(pw) << "\" height=\"" << fmt(ph)
    << "\" fill=\"none\" stroke=\"#444\"/>\n";
  for (double t : xt)
    o << "<line x1=\"" << fmt(px(t)) << "\" y1=\"" << fmt(top + ph) << "\" x2=\"" << fmt(px(t)) << "\" y2=\""
      << fmt(top + ph + 4) << "\" stroke=\"#444\"/><text x=\"" << fmt(px(t)) << "\" y=\"" << fmt(top + ph + 16)
      << "\" text-anchor=\"middle\">" << tick_label(t) << "</text>\n";
  for (double t : yt)
    o << "<line x1=\"" << fmt(left - 4) << "\" y1=\"" << fmt(py(t)) << "\" x2=\"" << fmt(left + pw) << "\" y2=\""
      << fmt(py(t)) << "\" stroke=\"#ddd\"/><text x=\"" << fmt(left - 6) << "\" y=\"" << fmt(py(t) + 4)
      << "\" text-anchor=\"end\">" << tick_label(t) << "</text>\n";
  o << "<text x=\"" << fmt(left + pw / 2) << "\" y=\"" << fmt(height - 8.0) << "\" text-anchor=\"middle\">"
    << html_escape(plot.x_label) << "</text>\n";
  o << "<text transform=\"translate(14," << fmt(top + ph / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
    << html_escape(plot.y_label) << "</text>\n";
  for (size_t i = 0; i < plot.series.size(); ++i) {
    const auto& s = plot.series[i];
    const char* colour = kColours[i % (sizeof kColours / sizeof kColours[0])];
    std::string pts;
    for (const auto& [x, y] : s.points)
      if (std::isfinite(x) && std::isfinite(y)) pts += (pts.empty() ? "" : " ") + fmt(px(x)) + "," + fmt(py(y));
    o << "<g><title>" << html_escape(s.name) << "</title><polyline fill=\"none\" stroke=\"" << colour
      << "\" stroke-width=\"2\" points=\"" << pts << "\"/>";
    if (s.points.size() <= 50)
      for (const auto& [x, y] : s.points)
        if (std::isfinite(x) && std::isfinite(y))
          o << "<circle cx=\"" << fmt(px(x)) << "\" cy=\"" << fmt(py(y)) << "\" r=\"3\" fill=\"" << colour << "\"/>";
    o << "</g>\n";
    const double ly = top + 12 + 18.0 * static_cast<double>(i);
    o << "<line x1=\"" << fmt(left + pw + 12) << "\" y1=\"" << fmt(ly) << "\" x2=\"" << fmt(left + pw + 32)
      << "\" y2=\"" << fmt(ly) << "\" stroke=\"" << colour << "\" stroke-width=\"2\"/><text x=\"" << fmt(left + pw + 36)
      << "\" y=\"" << fmt(ly + 4) << "\">" << html_escape(s.name) << "</text>\n";
  }
  o << "</svg>\n";
  return o.str();
}

}  // namespace repro::reports
