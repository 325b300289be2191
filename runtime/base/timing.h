#pragma once
// Wall-clock helpers shared by the commands, the model and the benches: elapsed seconds
// and repeated measurements summarised as mean ± sample standard deviation.
#include <chrono>
#include <cmath>
#include <numeric>
#include <vector>

namespace ferry {

inline double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

struct Samples {
    std::vector<double> values;

    double mean() const {
        return values.empty() ? 0
                              : std::accumulate(values.begin(), values.end(), 0.0) / double(values.size());
    }
    // Sample standard deviation (n - 1); 0 with fewer than two values.
    double sd() const {
        if (values.size() < 2) return 0;
        const double m = mean();
        double s = 0;
        for (double v : values) s += (v - m) * (v - m);
        return std::sqrt(s / double(values.size() - 1));
    }
};

}  // namespace ferry
