#include "digm/stream.h"

#include "digm/clock.h"
#include "digm/crypto.h"

namespace digm {
namespace {

template <size_t N>
Status HexMember(const Json& obj, std::string_view key, std::array<uint8_t, N>* out) {
  DIGM_ASSIGN_OR_RETURN(std::string text, GetString(obj, key, key));
  auto v = HexDecodeArray<N>(text);
  if (!v.ok())
    return Status::BadInput("\"" + std::string(key) + "\" is not " + std::to_string(N) +
                            " bytes of hex");
  *out = *v;
  return Status::Ok();
}

Result<int64_t> TimeMember(const Json& obj, std::string_view key) {
  DIGM_ASSIGN_OR_RETURN(std::string text, GetString(obj, key, key));
  auto t = ParseRfc3339(text);
  if (!t) return Status::BadInput("\"" + std::string(key) + "\" is not an RFC 3339 UTC time");
  return *t;
}

// The document's signer, which must be `publisher`.
Status SignedBy(const Json& doc, const Address& publisher, std::string_view what) {
  auto signer = VerifyDocument(doc);
  if (!signer.ok()) return signer.status().Context(what);
  if (*signer != publisher) {
    return Status::Integrity(std::string(what) + " is signed by " + AddressToString(*signer) +
                             ", not by the stream's publisher " + AddressToString(publisher));
  }
  return Status::Ok();
}

Result<Stream> ReadStreamChecked(const Json& doc) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "stream", 1));
  Stream s;
  s.doc = doc;
  StreamInfo& i = s.info;
  DIGM_ASSIGN_OR_RETURN(std::string publisher, GetString(doc, "publisher", "publisher"));
  auto address = ParseAddress(publisher);
  if (!address.ok()) return Status::BadInput("\"publisher\": " + address.status().message());
  i.publisher = *address;
  i.title = StringOr(doc, "title");
  i.artist = StringOr(doc, "artist");
  DIGM_ASSIGN_OR_RETURN(i.mime, GetString(doc, "mime", "mime"));
  DIGM_ASSIGN_OR_RETURN(i.bitrate, GetUint(doc, "bitrate", "bitrate"));
  DIGM_ASSIGN_OR_RETURN(i.part_ms, GetUint(doc, "part_ms", "part_ms"));
  if (i.part_ms == 0 || i.part_ms > 60000) {
    return Status::BadInput("\"part_ms\" must be 1 to 60000");
  }
  DIGM_ASSIGN_OR_RETURN(std::string created, GetString(doc, "created", "created"));
  auto created_ms = ParseRfc3339Ms(created);
  if (!created_ms) return Status::BadInput("\"created\" is not an RFC 3339 UTC time");
  i.created_ms = *created_ms;
  auto enc = doc.find("encryption");
  if (enc == doc.end()) return Status::BadInput("expected \"encryption\" (null or an object)");
  if (!enc->is_null()) {
    if (!enc->is_object() || StringOr(*enc, "alg") != "aes-256-gcm") {
      return Status::BadInput("\"encryption\" must be null or {\"alg\":\"aes-256-gcm\",…}");
    }
    Encryption e;
    DIGM_RETURN_IF_ERROR(HexMember(*enc, "key_id", &e.key_id));
    DIGM_RETURN_IF_ERROR(HexMember(*enc, "nonce_prefix", &e.nonce_prefix));
    i.encryption = e;
  }
  DIGM_RETURN_IF_ERROR(SignedBy(doc, i.publisher, "the stream document"));
  s.id = StreamId(doc);
  return s;
}

}  // namespace

Json MakeStreamDocument(StreamInfo info, const Wallet& wallet) {
  Json enc = nullptr;
  if (info.encryption) {
    enc = {{"alg", "aes-256-gcm"},
           {"key_id", HexEncode(info.encryption->key_id)},
           {"nonce_prefix", HexEncode(info.encryption->nonce_prefix)}};
  }
  Json doc{{"schema", "digm.stream/1"}, {"publisher", AddressToString(wallet.address)},
           {"title", info.title},       {"artist", info.artist},
           {"mime", info.mime},         {"bitrate", info.bitrate},
           {"part_ms", info.part_ms},   {"created", Rfc3339Ms(info.created_ms)},
           {"encryption", enc}};
  SignDocument(doc, wallet);
  return doc;
}

Hash256 StreamId(const Json& stream) {
  std::string canonical = CanonicalForm(stream);
  return Sha256(std::span(reinterpret_cast<const uint8_t*>(canonical.data()), canonical.size()));
}

Hash256 StreamDirectoryKey() {
  static constexpr std::string_view kName = "digm.stream-directory/1";
  return Sha256(std::span(reinterpret_cast<const uint8_t*>(kName.data()), kName.size()));
}

Result<Stream> ReadStreamDocument(const Json& doc) {
  try {
    return ReadStreamChecked(doc);
  } catch (const Json::exception& e) {  // a member of a type no check foresaw
    return Status::BadInput(std::string("the stream document: ") + e.what());
  }
}

Json MakeTreeHead(const Hash256& stream, uint64_t size, const Hash256& root, int64_t time,
                  bool ended, const Wallet& publisher) {
  Json doc{{"schema", "digm.tree-head/1"}, {"stream", HexEncode(stream)}, {"size", size},
           {"root", HexEncode(root)},      {"time", Rfc3339(time)},       {"ended", ended}};
  SignDocument(doc, publisher);
  return doc;
}

Result<TreeHead> ReadTreeHead(const Json& doc, const Stream& stream) {
  DIGM_RETURN_IF_ERROR(CheckSchema(doc, "tree-head", 1));
  TreeHead h;
  h.doc = doc;
  DIGM_RETURN_IF_ERROR(HexMember(doc, "stream", &h.stream));
  DIGM_ASSIGN_OR_RETURN(h.size, GetUint(doc, "size", "size"));
  DIGM_RETURN_IF_ERROR(HexMember(doc, "root", &h.root));
  DIGM_ASSIGN_OR_RETURN(h.time, TimeMember(doc, "time"));
  DIGM_ASSIGN_OR_RETURN(h.ended, GetBool(doc, "ended", "ended"));
  if (h.stream != stream.id) {
    return Status::Integrity("the tree head is of stream " + HexEncode(h.stream) + ", not " +
                             HexEncode(stream.id));
  }
  DIGM_RETURN_IF_ERROR(SignedBy(doc, stream.info.publisher, "the tree head"));
  return h;
}

Status StreamLog::Equivocation(const TreeHead& offered) {
  evidence_ = Json::array({head_->doc, offered.doc});
  return Status::Integrity("equivocation: two signed heads of size " +
                           std::to_string(offered.size) + " with different roots (" +
                           HexEncode(head_->root) + " and " + HexEncode(offered.root) + ")");
}

Status StreamLog::Heartbeat(const TreeHead& head) {
  if (!head_ || head.size != head_->size) {
    return Status::Integrity("a heartbeat must repeat the size of the last head (" +
                             std::to_string(size()) + "), not " + std::to_string(head.size));
  }
  if (head.root != head_->root) return Equivocation(head);
  if (head.time < head_->time) return Status::Integrity("the tree head's time goes back");
  if (head_->ended && !head.ended) return Status::Integrity("the stream has ended");
  head_ = head;
  return Status::Ok();
}

Status StreamLog::Join(const TreeHead& head, const Hash256& last_leaf,
                       std::span<const Hash256> path) {
  if (head_ || size() != 0) return Status::Integrity("the log has begun; it is not joined again");
  auto f = MerkleFrontier::FromLastLeaf(last_leaf, head.size, path, head.root);
  if (!f) {
    return Status::Integrity("chunk " + std::to_string(head.size - 1) +
                             " and its audit path do not make the root of the head of size " +
                             std::to_string(head.size));
  }
  frontier_ = std::move(*f);
  head_ = head;
  return Status::Ok();
}

Status StreamLog::Extend(std::span<const Hash256> added, const TreeHead& head) {
  if (head_ && head.size == head_->size && added.empty()) return Heartbeat(head);
  if (head_ && head.size == head_->size && head.root != head_->root) return Equivocation(head);
  if (head.size < size()) {
    return Status::Integrity("the tree head's size goes back (" + std::to_string(head.size) +
                             " after " + std::to_string(size()) + ")");
  }
  if (head.size != size() + added.size()) {
    return Status::Integrity("a head of size " + std::to_string(head.size) + " after " +
                             std::to_string(size()) + " chunks needs " +
                             std::to_string(head.size - size()) + " new chunks, not " +
                             std::to_string(added.size()));
  }
  if (head_ && head.time < head_->time) return Status::Integrity("the tree head's time goes back");
  if (head_ && head_->ended) return Status::Integrity("the stream has ended; nothing follows it");
  MerkleFrontier grown = frontier_;
  for (const Hash256& leaf : added) grown.Append(leaf);
  if (grown.Root() != head.root) {
    return Status::Integrity("the tree head's root " + HexEncode(head.root) +
                             " is not that of the chunks (" + HexEncode(grown.Root()) + ")");
  }
  frontier_ = std::move(grown);
  head_ = head;
  return Status::Ok();
}

}  // namespace digm
