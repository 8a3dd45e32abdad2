#include "format/manifest_scan.h"

#include <simdjson.h>

namespace digm {

std::optional<ScannedManifest> ScanManifest(std::string_view text, size_t capacity) {
  namespace od = simdjson::ondemand;
  simdjson::padded_string copy;
  if (capacity < text.size() + simdjson::SIMDJSON_PADDING) {
    copy = simdjson::padded_string(text);
    text = copy;
    capacity = copy.size() + simdjson::SIMDJSON_PADDING;
  }
  try {
    od::parser parser;
    od::document doc = parser.iterate(simdjson::padded_string_view(text, capacity));
    // On-Demand reads only what it is asked for: first make sure the text is
    // one value and nothing after it.
    std::string_view whole = simdjson::to_json_string(doc).value();
    size_t end = text.find_last_not_of(" \t\r\n");
    if (end == std::string_view::npos ||
        whole.size() != end + 1 - static_cast<size_t>(whole.data() - text.data())) {
      return std::nullopt;
    }
    doc.rewind();
    ScannedManifest out;
    out.header = Json::object();
    bool saw_chunks = false;
    for (auto field : doc.get_object()) {
      std::string_view key = field.unescaped_key();
      od::value value = field.value();
      if (key != "chunks") {
        out.header[std::string(key)] = Json::parse(simdjson::to_json_string(value).value());
        continue;
      }
      saw_chunks = true;
      for (auto entry : value.get_array()) {
        ChunkRef c;
        int seen = 0;
        for (auto member : entry.get_object()) {
          std::string_view name = member.unescaped_key();
          if (name == "hash") {
            if (!HexDecodeInto(member.value().get_string().value(), c.hash).ok())
              return std::nullopt;
            seen |= 1;
          } else if (name == "size") {
            c.size = member.value().get_uint64();
            seen |= 2;
          } else if (name == "plain") {
            c.plain = member.value().get_uint64();
            seen |= 4;
          } else if (name == "z") {
            c.z = member.value().get_bool();
          }
        }
        if (seen != 7) return std::nullopt;
        out.chunks.push_back(c);
      }
    }
    if (!saw_chunks) return std::nullopt;
    return out;
  } catch (const simdjson::simdjson_error&) {
    return std::nullopt;
  } catch (const Json::exception&) {
    return std::nullopt;
  }
}

}  // namespace digm
