#pragma once
// An error answered to an HTTP client in OpenAI's shape:
//   {"error": {"message": ..., "type": ..., "param": ..., "code": ...}}
// Thrown by the request parser and the handlers; the connection turns it into a response
// and keeps serving.
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>

namespace ferry::serve {

class ApiError : public std::runtime_error {
public:
    ApiError(int status, std::string message, std::string type = "invalid_request_error",
             std::string param = {}, std::string code = {})
        : std::runtime_error(message),
          status_(status),
          type_(std::move(type)),
          param_(std::move(param)),
          code_(std::move(code)) {}

    int status() const { return status_; }
    nlohmann::json body() const { return error_body(what(), type_, param_, code_); }

    // param and code are null in the JSON when empty, as OpenAI writes them.
    static nlohmann::json error_body(const std::string& message, const std::string& type,
                                     const std::string& param, const std::string& code) {
        nlohmann::json e = {{"message", message}, {"type", type}, {"param", nullptr}, {"code", nullptr}};
        if (!param.empty()) e["param"] = param;
        if (!code.empty()) e["code"] = code;
        return {{"error", e}};
    }

private:
    int status_;
    std::string type_, param_, code_;
};

// The JSON text of `j` with invalid UTF-8 (never expected: generated text is whole
// characters) replaced instead of throwing.
inline std::string dump_json(const nlohmann::json& j) {
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ferry::serve
