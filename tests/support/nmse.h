#pragma once
// Normalised mean squared error of `got` against `want`: Σ(got − want)² / Σ want².
#include <cstddef>
#include <vector>

namespace ferry::test {

inline double nmse(const std::vector<float>& got, const std::vector<float>& want) {
    double err = 0, ref = 0;
    for (std::size_t i = 0; i < want.size(); ++i) {
        err += (double(got[i]) - want[i]) * (double(got[i]) - want[i]);
        ref += double(want[i]) * want[i];
    }
    return err / ref;
}

}  // namespace ferry::test
