// Summary statistics of latency samples (ms).
#pragma once
#include <vector>

namespace wgnas {

struct Stats {
  double median = 0, mean = 0, std = 0, p25 = 0, p75 = 0, iqr = 0, min = 0, max = 0, cv = 0;
  int count = 0;
};

// Quantiles use linear interpolation between order statistics (numpy's default); std is the
// sample standard deviation (n - 1); cv = std / mean.
Stats summarize(std::vector<double> samples);

}  // namespace wgnas
