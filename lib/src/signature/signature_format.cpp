#include "mamsign/signature/signature_format.h"

namespace mamsign {

std::string_view format_name(SignatureFormat format) { return format == SignatureFormat::Cms ? "cms" : "raw"; }

std::string_view format_extension(SignatureFormat format) { return format == SignatureFormat::Cms ? ".p7s" : ".sig"; }

std::optional<SignatureFormat> parse_format(std::string_view name) {
  if (name == "cms") return SignatureFormat::Cms;
  if (name == "raw") return SignatureFormat::Raw;
  return std::nullopt;
}

std::filesystem::path signature_path(const std::filesystem::path& file, SignatureFormat format) {
  std::filesystem::path out = file;
  out += std::string(format_extension(format));
  return out;
}

bool is_signature_name(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() > ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  return ends(".p7s") || ends(".sig");
}

}  // namespace mamsign
