#include "text/harmony_tools.h"

#include "base/error.h"
#include "text/python_json.h"

#include <nlohmann/json.hpp>

namespace ferry::text {
namespace {

using nlohmann::ordered_json;

std::string field_string(const ordered_json& j, const char* name) {
    const auto it = j.find(name);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool in_required(const ordered_json& spec, const std::string& name) {
    const auto r = spec.find("required");
    if (r == spec.end() || !r->is_array()) return false;
    for (const ordered_json& n : *r)
        if (n.is_string() && n.get<std::string>() == name) return true;
    return false;
}

// A default's text where the template writes it raw (enums, oneOf): strings as they are.
std::string raw(const ordered_json& v) {
    return v.is_string() ? v.get<std::string>() : python_json(v);
}

// The template's render_typescript_type. Whitespace its Jinja leaves (trim_blocks,
// lstrip_blocks) is kept: a nested object's property types follow "\n" + 16 spaces, a
// oneOf's variants are joined by " | \n", a variant's default follows 20 spaces.
std::string ts_type(const ordered_json& spec) {
    const std::string type = field_string(spec, "type");
    const bool nullable = spec.value("nullable", false);
    if (type == "array") {
        std::string t = "any[]";
        if (const auto items = spec.find("items"); items != spec.end() && items->is_object()) {
            const std::string item = field_string(*items, "type");
            if (item == "string") t = "string[]";
            else if (item == "number" || item == "integer") t = "number[]";
            else if (item == "boolean") t = "boolean[]";
            else {
                const std::string inner = ts_type(*items);
                t = inner == "object | object" || inner.size() > 50 ? "any[]" : inner + "[]";
            }
        }
        return nullable ? t + " | null" : t;
    }
    if (const auto types = spec.find("type"); types != spec.end() && types->is_array() && !types->empty()) {
        std::string t;
        for (std::size_t i = 0; i < types->size(); ++i) t += (i ? " | " : "") + raw((*types)[i]);
        return t;
    }
    if (const auto one_of = spec.find("oneOf"); one_of != spec.end() && one_of->is_array() && !one_of->empty()) {
        bool objects = false;
        for (const ordered_json& v : *one_of) objects = objects || field_string(v, "type") == "object";
        if (objects && one_of->size() > 1) return "any";
        std::string t;
        for (std::size_t i = 0; i < one_of->size(); ++i) {
            const ordered_json& v = (*one_of)[i];
            t += ts_type(v);
            if (const std::string d = field_string(v, "description"); !d.empty()) t += "// " + d;
            if (v.contains("default")) t += std::string(20, ' ') + "// default: " + python_json(v["default"]);
            if (i + 1 < one_of->size()) t += " | \n";
        }
        return t;
    }
    if (type == "string") {
        if (const auto e = spec.find("enum"); e != spec.end() && e->is_array() && !e->empty()) {
            std::string t;
            for (std::size_t i = 0; i < e->size(); ++i) t += (i ? " | " : "") + ("\"" + raw((*e)[i]) + "\"");
            return t;
        }
        return nullable ? "string | null" : "string";
    }
    if (type == "number" || type == "integer") return "number";
    if (type == "boolean") return "boolean";
    if (type == "object") {
        const auto props = spec.find("properties");
        if (props == spec.end() || !props->is_object() || props->empty()) return "object";
        std::string t = "{\n";
        bool first = true;
        for (const auto& [name, prop] : props->items()) {
            if (!first) t += ", ";
            first = false;
            t += name + (in_required(spec, name) ? "" : "?") + ": \n" + std::string(16, ' ') + ts_type(prop);
        }
        return t + "}";
    }
    return "any";
}

}  // namespace

std::string harmony_functions(std::span<const std::string> tools) {
    std::string s = "# Tools\n\n## functions\n\nnamespace functions {\n\n";
    for (const std::string& text : tools) {
        const ordered_json tool = ordered_json::parse(text, nullptr, false);
        if (tool.is_discarded() || !tool.is_object() || !tool.contains("function") || !tool["function"].is_object())
            fail("a tool for the harmony format must be {{\"type\": \"function\", \"function\": {{...}}}}");
        const ordered_json& fn = tool["function"];
        s += "// " + field_string(fn, "description") + "\n";
        s += "type " + field_string(fn, "name") + " = ";
        const auto params = fn.find("parameters");
        const ordered_json* props = nullptr;
        if (params != fn.end() && params->is_object())
            if (const auto p = params->find("properties"); p != params->end() && p->is_object() && !p->empty())
                props = &*p;
        if (!props) {
            s += "() => any;\n\n";
            continue;
        }
        s += "(_: {\n";
        for (const auto& [name, spec] : props->items()) {
            if (const std::string d = field_string(spec, "description"); !d.empty()) s += "// " + d + "\n";
            s += name + (in_required(*params, name) ? "" : "?") + ": " + ts_type(spec);
            if (spec.contains("default")) {
                if (spec.contains("enum"))
                    s += ", // default: " + raw(spec["default"]);
                else if (spec.contains("oneOf"))
                    s += "// default: " + raw(spec["default"]);
                else
                    s += ", // default: " + python_json(spec["default"]);
            }
            s += ",\n";
        }
        s += "}) => any;\n\n";
    }
    return s + "} // namespace functions";
}

std::string harmony_arguments(std::string_view arguments) {
    const ordered_json parsed = ordered_json::parse(arguments, nullptr, false);
    if (!parsed.is_discarded() && parsed.is_object()) return python_json(parsed);
    return json_string(arguments);
}

std::string json_string(std::string_view text) {
    return python_json(ordered_json(std::string(text)));
}

}  // namespace ferry::text
