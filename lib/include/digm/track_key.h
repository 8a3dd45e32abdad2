// The per-track key and its key file, digm.key/1 (SPEC §2): 32 random bytes
// and a key id derived from them, key_id = first 16 bytes of
// SHA-256("digm.key-id/1" ‖ key), so a wrong key is named before any chunk is
// touched. Key files are written with mode 0600; reading refuses a key file
// that others can read.
#pragma once

#include <string>

#include "digm/crypto.h"
#include "digm/document.h"
#include "digm/manifest.h"

namespace digm {

struct TrackKey {
  Key256 key{};
  KeyId id{};

  static TrackKey Generate();
  static TrackKey FromKey(const Key256& key);
};

KeyId DeriveKeyId(const Key256& key);

Json TrackKeyToJson(const TrackKey& key);
Result<TrackKey> TrackKeyFromJson(const Json& doc);

// Refuses to replace an existing file (a lost key cannot be recovered).
Status WriteKeyFile(const std::string& path, const TrackKey& key);
Result<TrackKey> ReadKeyFile(const std::string& path);

}  // namespace digm
