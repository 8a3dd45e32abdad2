#include "digm/assemble.h"

#include <zstd.h>

#include "digm/chunk_format.h"
#include "digm/file.h"

namespace digm {

struct ChunkOpener::Impl {
  const Manifest& manifest;
  std::optional<Aes256Gcm> main, preview;
  Sha256Hasher hasher;
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  Bytes scratch;
  explicit Impl(const Manifest& m) : manifest(m) {}
  ~Impl() { ZSTD_freeDCtx(dctx); }
};

ChunkOpener::ChunkOpener(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChunkOpener::ChunkOpener(ChunkOpener&&) noexcept = default;
ChunkOpener::~ChunkOpener() = default;

Result<ChunkOpener> ChunkOpener::Create(const Manifest& manifest, const TrackKey* key) {
  auto impl = std::make_unique<Impl>(manifest);
  if (const auto& e = manifest.encryption) {
    if (key) {
      if (key->id != e->key_id) {
        return Status::Integrity("wrong key: the key's id is " + HexEncode(key->id) +
                                 ", the track's is " + HexEncode(e->key_id));
      }
      impl->main.emplace(key->key);
    }
    if (e->preview_chunks > 0) impl->preview.emplace(e->preview_key);
  }
  return ChunkOpener(std::move(impl));
}

Result<Bytes> ChunkOpener::Open(uint64_t index, std::span<const uint8_t> stored,
                                bool hash_checked) {
  Impl& s = *impl_;
  const Manifest& m = s.manifest;
  std::string at = "chunk " + std::to_string(index);
  if (index >= m.chunks.size()) {
    return Status::BadInput(at + " is past the end of the track (" +
                            std::to_string(m.chunks.size()) + " chunks)");
  }
  const ChunkRef& ref = m.chunks[index];
  if (stored.size() != ref.size || (!hash_checked && s.hasher.Digest(stored) != ref.hash)) {
    return Status::Integrity(at + ": hash mismatch (expected " + HexEncode(ref.hash) + ")");
  }
  Bytes payload;
  if (m.encryption) {
    bool in_preview = InPreview(*m.encryption, index);
    Aes256Gcm* gcm = in_preview ? &*s.preview : (s.main ? &*s.main : nullptr);
    if (!gcm) return Status::Usage(at + " is encrypted and no track key was given");
    payload.resize(stored.size() - kGcmTagSize);
    auto aad = ChunkAad(index, ref.plain, ref.z);
    Status st = gcm->Open(ChunkNonce(m.encryption->nonce_prefix, index), aad, stored, payload);
    if (!st.ok()) {
      return Status::Integrity(
          at + ": authentication tag mismatch (wrong key, or the chunk was altered)");
    }
  } else {
    payload.assign(stored.begin(), stored.end());
  }
  if (!ref.z) {
    if (payload.size() != ref.plain) return Status::Integrity(at + ": wrong length");
    return payload;
  }
  Bytes plain(ref.plain);
  size_t n =
      ZSTD_decompressDCtx(s.dctx, plain.data(), plain.size(), payload.data(), payload.size());
  if (ZSTD_isError(n) || n != ref.plain) {
    return Status::Integrity(at + ": does not decompress to " + std::to_string(ref.plain) +
                             " bytes");
  }
  return plain;
}

Status AssembleTrack(const Manifest& manifest, const ChunkStore& store, const TrackKey* key,
                     int fd) {
  DIGM_ASSIGN_OR_RETURN(ChunkOpener opener, ChunkOpener::Create(manifest, key));
  Sha256Hasher source;
  StreamWriter out(fd);
  for (uint64_t i = 0; i < manifest.chunks.size(); ++i) {
    DIGM_ASSIGN_OR_RETURN(Bytes stored, store.Get(manifest.chunks[i].hash));
    DIGM_ASSIGN_OR_RETURN(Bytes plain, opener.Open(i, stored));
    source.Update(plain);
    DIGM_RETURN_IF_ERROR(out.Write(plain));
  }
  if (source.Final() != manifest.source_sha256) {
    return Status::Integrity("the reassembled track does not match \"source.sha256\"");
  }
  return Status::Ok();
}

Status AssembleTrackTo(const Manifest& manifest, const ChunkStore& store, const TrackKey* key,
                       const std::string& path) {
  if (path == "-") return AssembleTrack(manifest, store, key, 1);
  DIGM_ASSIGN_OR_RETURN(AtomicFile out, AtomicFile::Create(path));
  DIGM_RETURN_IF_ERROR(AssembleTrack(manifest, store, key, out.fd()));
  return out.Commit();
}

}  // namespace digm
