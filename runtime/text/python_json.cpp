#include "text/python_json.h"

namespace ferry::text {

using nlohmann::ordered_json;

std::string python_json(const ordered_json& value) {
    if (value.is_object()) {
        std::string s = "{";
        bool first = true;
        for (const auto& [key, item] : value.items()) {
            if (!first) s += ", ";
            first = false;
            s += ordered_json(key).dump(-1, ' ', false) + ": " + python_json(item);
        }
        return s + "}";
    }
    if (value.is_array()) {
        std::string s = "[";
        for (std::size_t i = 0; i < value.size(); ++i) s += (i ? ", " : "") + python_json(value[i]);
        return s + "]";
    }
    return value.dump(-1, ' ', false);  // strings escaped as json.dumps with ensure_ascii=False
}

}  // namespace ferry::text
