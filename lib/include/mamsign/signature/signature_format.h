// The two signature containers of SPEC section 4 and the files they live in.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace mamsign {

enum class SignatureFormat { Cms, Raw };

std::string_view format_name(SignatureFormat format);       // "cms", "raw"
std::string_view format_extension(SignatureFormat format);  // ".p7s", ".sig"
std::optional<SignatureFormat> parse_format(std::string_view name);

// FILE.p7s or FILE.sig
std::filesystem::path signature_path(const std::filesystem::path& file, SignatureFormat format);
// True for names that are signatures (".p7s", ".sig"), which are never taken as data files.
bool is_signature_name(std::string_view file_name);

}  // namespace mamsign
