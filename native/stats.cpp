#include "stats.hpp"

#include <algorithm>
#include <cmath>

namespace wgnas {

static double quantile(const std::vector<double>& sorted, double q) {
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos));
  size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (pos - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

Stats summarize(std::vector<double> samples) {
  Stats s;
  s.count = static_cast<int>(samples.size());
  if (samples.empty()) return s;
  std::sort(samples.begin(), samples.end());
  double sum = 0;
  for (double v : samples) sum += v;
  s.mean = sum / s.count;
  double ss = 0;
  for (double v : samples) ss += (v - s.mean) * (v - s.mean);
  s.std = s.count > 1 ? std::sqrt(ss / (s.count - 1)) : 0.0;
  s.median = quantile(samples, 0.5);
  s.p25 = quantile(samples, 0.25);
  s.p75 = quantile(samples, 0.75);
  s.iqr = s.p75 - s.p25;
  s.min = samples.front();
  s.max = samples.back();
  s.cv = s.mean > 0 ? s.std / s.mean : 0.0;
  return s;
}

}  // namespace wgnas
