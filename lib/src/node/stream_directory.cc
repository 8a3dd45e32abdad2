#include "digm/stream_directory.h"

#include <algorithm>
#include <cctype>

#include "digm/http.h"
#include "digm/node_client.h"

namespace digm {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The entry's holders that a node at `self` may reach, `self` left out.
std::vector<std::string> Holders(const Json& entry, const std::string& self, size_t most) {
  std::vector<std::string> out;
  auto it = entry.find("holders");
  if (it == entry.end() || !it->is_array()) return out;
  for (const auto& h : *it) {
    if (out.size() >= most) break;
    if (!h.is_string()) continue;
    std::string url = BaseUrl(h.get<std::string>());
    if (url.empty() || url == self || !PeerUrlAllowed(url, self)) continue;
    if (std::find(out.begin(), out.end(), url) == out.end()) out.push_back(url);
  }
  return out;
}

}  // namespace

bool StreamMatches(const StreamInfo& info, const std::string& query) {
  if (query.empty()) return true;
  std::string q = Lower(query);
  return Lower(info.title).find(q) != std::string::npos ||
         Lower(info.artist).find(q) != std::string::npos;
}

Json StreamDirectory::Entry::ToJson() const {
  return Json{{"id", HexEncode(stream.id)},
              {"stream", stream.doc},
              {"head", head.doc},
              {"last_heard", Rfc3339(last_heard)},
              {"holders", holders}};
}

StreamDirectory::StreamDirectory(Options options) : options_(std::move(options)) {
  options_.self_url = BaseUrl(options_.self_url);
}

size_t StreamDirectory::Learn(const Json& entries) {
  if (!entries.is_array()) return 0;
  int64_t now = options_.clock();
  size_t kept = 0;
  std::lock_guard<std::mutex> lock(mu_);
  DropStale(now);
  for (const auto& e : entries) {
    if (!e.is_object()) continue;
    std::string id = StringOr(e, "id");
    auto doc = e.find("stream");
    auto head_doc = e.find("head");
    if (!IsHash(id) || doc == e.end() || head_doc == e.end() || head_doc->is_null()) continue;
    auto it = heard_.find(id);
    std::optional<Stream> read;
    if (it == heard_.end()) {
      if (heard_.size() >= options_.max_streams) continue;
      auto s = ReadStreamDocument(*doc);
      if (!s.ok() || HexEncode(s->id) != id) continue;
      read = std::move(*s);
    }
    const Stream& stream = read ? *read : it->second.stream;
    // The same head as last time needs no second look at its signature.
    if (it != heard_.end() && *head_doc == it->second.head.doc) {
      for (auto& h : Holders(e, options_.self_url, options_.max_holders)) {
        auto& hs = it->second.holders;
        if (std::find(hs.begin(), hs.end(), h) == hs.end() && hs.size() < options_.max_holders)
          hs.push_back(h);
      }
      ++kept;
      continue;
    }
    auto head = ReadTreeHead(*head_doc, stream);
    if (!head.ok()) continue;
    if (head->ended) {  // an ended stream leaves every list at once
      if (it != heard_.end()) heard_.erase(it);
      continue;
    }
    int64_t heard = std::min(head->time, now);
    if (heard < now - options_.stale_after) continue;
    auto holders = Holders(e, options_.self_url, options_.max_holders);
    if (it == heard_.end()) {
      if (holders.empty()) continue;  // nobody to follow
      heard_.emplace(id, Entry{std::move(*read), std::move(*head), heard, std::move(holders)});
      ++kept;
      continue;
    }
    Entry& known = it->second;
    // A head older than the one kept is news only of its holders.
    if (head->size > known.head.size ||
        (head->size == known.head.size && head->time > known.head.time)) {
      known.head = std::move(*head);
      known.last_heard = heard;
    }
    for (auto h = holders.rbegin(); h != holders.rend(); ++h) {
      known.holders.erase(std::remove(known.holders.begin(), known.holders.end(), *h),
                          known.holders.end());
      known.holders.insert(known.holders.begin(), *h);
    }
    if (known.holders.size() > options_.max_holders) known.holders.resize(options_.max_holders);
    ++kept;
  }
  return kept;
}

std::optional<StreamDirectory::Entry> StreamDirectory::Find(const std::string& id) {
  std::lock_guard<std::mutex> lock(mu_);
  DropStale(options_.clock());
  auto it = heard_.find(id);
  if (it == heard_.end()) return std::nullopt;
  return it->second;
}

std::vector<StreamDirectory::Entry> StreamDirectory::Live(const std::string& query) {
  std::lock_guard<std::mutex> lock(mu_);
  DropStale(options_.clock());
  std::vector<Entry> out;
  for (const auto& [_, e] : heard_) {
    if (StreamMatches(e.stream.info, query)) out.push_back(e);
  }
  return out;
}

void StreamDirectory::DropStale(int64_t now) {
  std::erase_if(heard_,
                [&](const auto& kv) { return kv.second.last_heard < now - options_.stale_after; });
}

}  // namespace digm
