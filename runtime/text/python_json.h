#pragma once
// JSON text as Python's json.dumps writes it, which is what the chat templates' `tojson`
// filter produces (Hugging Face's: ensure_ascii=False, default separators): ", " between
// items, ": " after keys, keys in their given order, non-ASCII as it is.
#include <nlohmann/json.hpp>

#include <string>

namespace ferry::text {

std::string python_json(const nlohmann::ordered_json& value);

}  // namespace ferry::text
