#include "digm/peer_record.h"

#include "digm/clock.h"

namespace digm {

Json MakePeerRecord(const Wallet& identity, const std::string& url, int64_t seen,
                    const Json& price) {
  std::string id = AddressToString(identity.address);
  Json r = Json{{"schema", "digm.peer/1"},
                {"node_id", id},
                {"url", url},
                {"address", id},
                {"public", HexEncode(identity.public_key)},
                {"seen", Rfc3339(seen)}};
  if (!price.is_null()) r["price"] = price;
  SignDocument(r, identity);
  return r;
}

Result<PeerRecord> ReadPeerRecord(const Json& in) {
  if (!in.is_object()) return Status::Integrity("a peer record is an object");
  PeerRecord p;
  p.record = in;
  if (auto it = p.record.find("available_tracks"); it != p.record.end()) {
    if (it->is_array()) {
      p.has_roots = true;
      for (const auto& r : *it) {
        if (r.is_string() && IsHash(r.get<std::string>())) p.roots.push_back(r.get<std::string>());
      }
    }
    p.record.erase(it);  // not part of what the node signed
  }
  if (Status s = CheckSchema(p.record, "peer", 1); !s.ok()) return Status::Integrity(s.message());
  DIGM_ASSIGN_OR_RETURN(p.signer, VerifyDocument(p.record));
  p.node_id = StringOr(p.record, "node_id");
  p.url = StringOr(p.record, "url");
  auto seen = ParseRfc3339(StringOr(p.record, "seen"));
  if (p.node_id != AddressToString(p.signer)) {
    return Status::Integrity("the peer record's node_id is not its signer");
  }
  if (p.url.rfind("http://", 0) != 0 && p.url.rfind("https://", 0) != 0) {
    return Status::Integrity("the peer record's url is not an http(s) URL");
  }
  if (!seen) return Status::Integrity("the peer record's seen is not an RFC 3339 time");
  p.seen = *seen;
  return p;
}

}  // namespace digm
