#include "digm/track_key.h"

#include <sys/stat.h>

#include <cstring>

#include "digm/file.h"

namespace digm {

KeyId DeriveKeyId(const Key256& key) {
  static constexpr char kLabel[] = "digm.key-id/1";
  Sha256Hasher h;
  Hash256 d = h.Digest(std::span(reinterpret_cast<const uint8_t*>(kLabel), sizeof kLabel - 1), key);
  KeyId id;
  std::memcpy(id.data(), d.data(), id.size());
  return id;
}

TrackKey TrackKey::FromKey(const Key256& key) { return TrackKey{key, DeriveKeyId(key)}; }

TrackKey TrackKey::Generate() {
  Key256 key;
  RandomBytes(key);
  return FromKey(key);
}

Json TrackKeyToJson(const TrackKey& k) {
  return Json{{"schema", "digm.key/1"},
              {"alg", "aes-256-gcm"},
              {"key_id", HexEncode(k.id)},
              {"key", HexEncode(k.key)}};
}

Result<TrackKey> TrackKeyFromJson(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "key", 1));
  DIGM_ASSIGN_OR_RETURN(std::string alg, GetString(doc, "alg", "alg"));
  if (alg != "aes-256-gcm")
    return Status::BadInput("\"alg\" is \"" + alg + "\", expected \"aes-256-gcm\"");
  DIGM_ASSIGN_OR_RETURN(std::string key_hex, GetString(doc, "key", "key"));
  DIGM_ASSIGN_OR_RETURN(std::string id_hex, GetString(doc, "key_id", "key_id"));
  Key256 key;
  DIGM_RETURN_IF_ERROR(HexDecodeInto(key_hex, key).Context("\"key\""));
  KeyId id;
  DIGM_RETURN_IF_ERROR(HexDecodeInto(id_hex, id).Context("\"key_id\""));
  TrackKey k = TrackKey::FromKey(key);
  if (k.id != id) {
    return Status::BadInput("\"key_id\" " + id_hex + " is not the id of this key (" +
                            HexEncode(k.id) + "): the key file is damaged");
  }
  return k;
}

Status WriteKeyFile(const std::string& path, const TrackKey& key) {
  return WriteSecretDocument(path, TrackKeyToJson(key), "a track key");
}

Result<TrackKey> ReadKeyFile(const std::string& path) {
  DIGM_ASSIGN_OR_RETURN(Json doc, ReadSecretDocument(path, "key", 1));
  auto key = TrackKeyFromJson(doc);
  if (!key.ok()) return key.status().Context("reading '" + path + "'");
  return key;
}

}  // namespace digm
