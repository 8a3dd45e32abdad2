// A priced node's book of payment channels (SPEC §12), one SQLite file in its
// data folder: per channel the channel document, the best voucher it took
// and the bytes it served on it. Every request of a paying client is decided
// here: a better voucher is taken, then the request is allowed only while the
// bytes served stay within those paid for plus the credit. A voucher taken is
// committed before the request it came with is answered, so one acknowledged
// is never lost to a crash of the node (the file is in WAL mode with
// synchronous=NORMAL: a killed process loses nothing; a power cut may lose
// the last transactions). The bytes served are kept in memory and written
// with each voucher taken and when the book closes: a node killed -9 forgets
// at most what it served since a channel's last voucher (within the credit).
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "digm/channel.h"

namespace SQLite {
class Database;
class Statement;
}  // namespace SQLite

namespace digm {

class VoucherBook {
 public:
  // The book at `path`; without `create`, a missing file is BadInput.
  static Result<std::unique_ptr<VoucherBook>> Open(const std::string& path, bool create = true);
  ~VoucherBook();

  struct Decision {
    bool allowed = false;     // serve it; false: answer 402
    int64_t paid = 0;         // the best voucher's amount
    int64_t owed = 0;         // the price of what was served, with this request if allowed
    uint64_t paid_bytes = 0;  // of this request, those already paid for (the rest is credit)
    bool stale = false;       // the voucher was below the best one, and not taken
  };

  // Decides a request of `bytes` on `channel` carrying `voucher` (null: none
  // came). A voucher is taken when it pays more at a higher seq than the best
  // one; one below it, or of a seq taken before, is not (`stale`: requests a
  // client has in flight together arrive in any order) and the best one
  // counts. Allowed while served + bytes <= the bytes the best voucher pays
  // for at `per_mb`, plus `credit`, and <= the bytes the channel's whole
  // amount pays for. A channel whose id the book holds with
  // another payer's document is an Integrity error, and changes nothing:
  // ids are the payer's to choose, so another may claim one it has seen. A
  // channel first served at another price than `per_mb` is No: its bytes
  // and vouchers were counted at that price.
  Result<Decision> Charge(const Channel& channel, const Voucher* voucher, uint64_t bytes,
                          int64_t per_mb, uint64_t credit);

  // A channel's best voucher (null: none yet) and the bytes served on it;
  // nullopt for a channel never seen.
  struct Account {
    Json voucher;
    uint64_t served = 0;
  };
  Result<std::optional<Account>> Find(const std::string& id);

  // Whether `text` is the channel's best voucher as it came: a request that
  // carries the same text needs no second check.
  bool Holds(const std::string& id, const std::string& text);
  // Whether the channel's best voucher has a seq of `seq` or more: a voucher
  // of `seq` would be stale, and needs no check.
  bool Overtaken(const std::string& id, uint64_t seq);

  // Each channel's best voucher, oldest channel first, after the channel's
  // document when `with_channels`; channels with no voucher are left out.
  Result<std::vector<Json>> Best(bool with_channels = false);

 private:
  explicit VoucherBook(std::unique_ptr<SQLite::Database> db);
  struct State {
    int64_t paid = 0;
    uint64_t seq = 0;
    uint64_t served = 0, saved_served = 0;
    std::string best;    // the best voucher's text
    Address payer{};     // of the channel document the book holds under the id
    int64_t per_mb = 0;  // the price it was first served at; 0: not yet
  };
  // Under mu_: the channel's state, from the file; a channel it lacks is
  // added (priced `per_mb`) when given, else null.
  State* Load(const std::string& id, const Channel* channel = nullptr, int64_t per_mb = 0);
  Status SaveServed();
  static constexpr size_t kMaxStates = 65536;
  std::mutex mu_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<SQLite::Statement> take_;  // the voucher taken, prepared once
  std::unordered_map<std::string, State> states_;
};

}  // namespace digm
