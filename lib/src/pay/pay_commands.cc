#include "digm/pay_commands.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <istream>
#include <map>

#include "digm/channel_pay.h"
#include "digm/file.h"
#include "digm/key_wrap.h"
#include "digm/payments.h"
#include "digm/track_key.h"

namespace digm {
namespace {

Result<Address> AddressArg(const std::string& text) {
  auto a = ParseAddress(text);
  if (!a.ok()) return Status::Usage("'" + text + "' is not an address (0x and 40 hex digits)");
  return a;
}

Result<int64_t> Money(const PayBackend& b, const std::string& text) {
  return ParseAmount(text, b.asset.decimals);
}

// KIND:REF, or KIND and 16 random bytes when no reference was given.
std::string UniqueRef(const PayBackend& b, const std::string& kind, const std::string& ref) {
  if (!ref.empty()) return kind + ":" + ref;
  std::array<uint8_t, 16> r;
  b.random(r);
  return kind + ":" + HexEncode(r);
}

Bytes Sha256Of(const std::string& text) {
  Hash256 h = Sha256(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return Bytes(h.begin(), h.end());
}

// Runs `body` in one ledger transaction, committed only when all of it holds.
Result<Posted> InTxn(const PayBackend& b,
                     const std::function<Status(Ledger::Txn&, Posted&)>& body) {
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(b.ledger, true, b.clock));
  DIGM_ASSIGN_OR_RETURN(auto txn, ledger->Begin());
  Posted posted;
  DIGM_RETURN_IF_ERROR(body(*txn, posted));
  DIGM_RETURN_IF_ERROR(txn->Commit());
  return posted;
}

// Pays on the chain, the ledger remembering what was sent; `after` runs once mined.
Result<Posted> OnChain(const PayBackend& b, const std::vector<ChainPayment>& payments,
                       const std::function<Status(Ledger&)>& after = {}) {
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(b.ledger, true, b.clock));
  DIGM_ASSIGN_OR_RETURN(auto mined, PayOnChain(*ledger, *b.chain, *b.payer, payments));
  if (after) DIGM_RETURN_IF_ERROR(after(*ledger));
  return Posted{std::move(mined), {}};
}

}  // namespace

Result<std::unique_ptr<Ledger>> OpenPayLedger(const std::string& path, bool create, Clock clock) {
  if (path.empty()) {
    return Status::Usage("no ledger given").WithHint("add --ledger FILE or set DIGM_LEDGER");
  }
  return Ledger::Open(path, create, std::move(clock));
}

Status UseChain(PayBackend& b, const ChainFlags& f) {
  if (f.chain.empty()) {
    if (!f.target.rpc.empty() || f.target.chain_id != 0 || !f.wallet.empty()) {
      return Status::Usage("--rpc, --chain-id and --wallet only go with --chain evm");
    }
    return Status::Ok();
  }
  if (f.target.rpc.empty() || f.target.chain_id == 0) {
    return Status::Usage("--chain evm needs --rpc URL and --chain-id ID");
  }
  if (f.confirm_timeout_s <= 0) return Status::Usage("--confirm-timeout must be more than zero");
  if (f.wallet.empty()) {
    return Status::Usage("--chain evm needs --wallet FILE: the key that signs the transactions");
  }
  DIGM_ASSIGN_OR_RETURN(Wallet payer, ReadWalletFile(f.wallet));
  b.chain = f.target;
  b.chain->confirm_timeout_ms = f.confirm_timeout_s * 1000;
  b.payer = std::move(payer);
  return Status::Ok();
}

Result<std::string> ParseAccount(const std::string& text) {
  if (text == kWorldAccount || text == kRewardPool || text == kBurnAccount) return text;
  std::string address = text.rfind("stake:", 0) == 0 ? text.substr(6) : text;
  auto a = ParseAddress(address);
  if (!a.ok()) return Status::Usage(a.status().message());
  return (text == address ? "" : "stake:") + AddressToString(*a);
}

Result<Posted> MoveMoney(const PayBackend& b, const MoveRequest& r) {
  DIGM_ASSIGN_OR_RETURN(int64_t atomic, Money(b, r.amount));
  if (atomic <= 0) return Status::Usage("the amount must be more than zero");
  std::string from = r.from;
  if (r.kind == "transfer" && from.empty()) {
    if (!b.payer)
      return Status::Usage("transfer needs --from ACCOUNT (or --chain evm with --wallet)");
    from = AddressToString(b.payer->address);
  }
  auto dst = ParseAccount(r.to);
  auto src = r.kind == "deposit" ? Result<std::string>(std::string(kWorldAccount))
                                 : ParseAccount(r.kind == "stake" ? r.to : from);
  if (!dst.ok() || !src.ok()) return (dst.ok() ? src : dst).status();
  if (r.kind == "stake") dst = StakeAccount(*src);
  if (b.chain) {
    auto to_address = AddressArg(r.to);
    if (!to_address.ok())
      return Status::Usage("--to: on a chain, " + to_address.status().message());
    std::string payer = AddressToString(b.payer->address);
    if (*src != payer) {
      return Status::Usage("--from " + from + " is not the address of --wallet (" + payer + ")");
    }
    std::string ref = UniqueRef(b, r.kind, r.ref);
    TransferSpec spec{b.asset.name, payer, AddressToString(*to_address), atomic, "", ""};
    return OnChain(b, {{r.kind, ref, 0, spec, Sha256Of(ref)}});
  }
  return InTxn(b, [&](Ledger::Txn& txn, Posted& p) {
    TransferSpec spec{b.asset.name, *src, *dst, atomic, "", ""};
    return txn.Post(r.kind, UniqueRef(b, r.kind, r.ref), {spec}, &p.transfers).status();
  });
}

Result<Posted> SettleReceipts(const PayBackend& b, const std::vector<std::string>& paths,
                              const std::string& price_per_mb) {
  DIGM_ASSIGN_OR_RETURN(int64_t price, Money(b, price_per_mb));
  // A receipt is settled once: at price 0 it would be used up, paying nothing.
  if (price <= 0) return Status::Usage("--price-per-mb must be more than zero");
  std::vector<Json> docs;
  for (const auto& path : paths) {
    DIGM_ASSIGN_OR_RETURN(Json d, ReadDocument(path, "receipt", 1));
    docs.push_back(std::move(d));
  }
  if (b.chain) {
    std::vector<ChainPayment> payments;
    for (size_t i = 0; i < docs.size(); ++i) {
      auto specs = ReceiptPayments(docs[i], b.asset, price);
      if (!specs.ok()) return specs.status().Context("'" + paths[i] + "'");
      Bytes data = *HexDecode(ReceiptHash(docs[i]));
      for (size_t k = 0; k < specs->size(); ++k) {
        payments.push_back({"settle", ReceiptRef(docs[i]), static_cast<int>(k), (*specs)[k], data});
      }
    }
    return OnChain(b, payments);
  }
  return InTxn(b, [&](Ledger::Txn& txn, Posted& p) -> Status {
    for (size_t i = 0; i < docs.size(); ++i) {
      auto t = SettleReceipt(txn, docs[i], b.asset, price);
      if (!t.ok()) return t.status().Context("'" + paths[i] + "'");
      p.transfers.insert(p.transfers.end(), t->begin(), t->end());
    }
    return Status::Ok();
  });
}

Result<Posted> Purchase(const PayBackend& b, const std::string& root,
                        const std::string& buyer_wallet, const std::string& artist,
                        const std::string& price_text) {
  DIGM_ASSIGN_OR_RETURN(int64_t price, Money(b, price_text));
  DIGM_ASSIGN_OR_RETURN(Wallet buyer, ReadWalletFile(buyer_wallet));
  DIGM_ASSIGN_OR_RETURN(Address to, AddressArg(artist));
  std::string who = AddressToString(buyer.address);
  if (b.chain) {
    std::string ref = PurchaseRef(root, buyer.address);
    TransferSpec spec{b.asset.name, who, AddressToString(to), price, root, ""};
    return OnChain(b, {{"purchase", ref, 0, spec, Sha256Of(ref)}},
                   [&](Ledger& l) { return l.RecordPurchase(root, who, ref); });
  }
  return InTxn(b, [&](Ledger::Txn& txn, Posted& p) -> Status {
    DIGM_ASSIGN_OR_RETURN(
        bool fresh, RecordPurchase(txn, root, buyer.address, to, b.asset, price, &p.transfers));
    if (!fresh) p.warnings.push_back(who + " bought " + root + " before; nothing changed");
    return Status::Ok();
  });
}

Result<Json> Grant(const std::string& ledger_path, const std::string& root,
                   const std::string& key_path, const std::string& identity_path) {
  DIGM_ASSIGN_OR_RETURN(TrackKey key, ReadKeyFile(key_path));
  auto id = ReadDocument(identity_path, "identity", 1);
  if (!id.ok()) {
    return id.status().WithHint(
        "the buyer makes one with: digm-pay wallet identity WALLET -o buyer.id");
  }
  auto pub = HexDecode(StringOr(*id, "public"));
  if (!pub.ok()) return Status::BadInput("'" + identity_path + "': \"public\" is not hex");
  auto buyer = AddressOfPublicKey(*pub);
  if (!buyer.ok()) return buyer.status().Context("'" + identity_path + "'");
  // Read in a transaction, so the purchase cannot be half-seen.
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(ledger_path, true));
  DIGM_ASSIGN_OR_RETURN(auto txn, ledger->Begin());
  if (!txn->HasPurchase(root, AddressToString(*buyer))) {
    return Status::No(AddressToString(*buyer) + " has not purchased " + root);
  }
  DIGM_ASSIGN_OR_RETURN(Json wrapped, WrapKey(key, *pub));
  DIGM_RETURN_IF_ERROR(txn->Commit());
  return wrapped;
}

Result<Posted> Reward(const PayBackend& b, const RewardRequest& r) {
  if (r.receipt.empty() == (r.seconds < 0)) {
    return Status::Usage("give --receipt FILE, or --seconds S with --listener");
  }
  DIGM_ASSIGN_OR_RETURN(Address artist, AddressArg(r.artist));
  std::string who, ref;
  int64_t seconds = r.seconds;
  std::vector<std::string> warnings;
  if (!r.receipt.empty()) {
    if (r.manifest.empty()) {
      return Status::Usage("--receipt needs --manifest FILE: the track's duration caps the reward");
    }
    DIGM_ASSIGN_OR_RETURN(Json d, ReadDocument(r.receipt, "receipt", 1));
    auto signer = VerifyDocument(d);
    if (!signer.ok()) return signer.status().Context("'" + r.receipt + "'");
    if (StringOr(d, "listener") != AddressToString(*signer)) {
      return Status::Integrity("'" + r.receipt + "' is not signed by its listener");
    }
    DIGM_ASSIGN_OR_RETURN(Manifest track, ReadManifest(r.manifest, true));
    auto claim = ReceiptReward(d, track);
    if (!claim.ok()) return claim.status().Context("'" + r.receipt + "'");
    who = AddressToString(*signer);
    seconds = claim->seconds;
    ref = claim->ref;
    if (seconds == 0) {
      warnings.push_back("'" + r.receipt +
                         "' earns nothing: less than a second of the track was "
                         "delivered by identified nodes");
    }
  } else {
    auto listener = AddressArg(r.listener);
    if (!listener.ok()) {
      return r.listener.empty() ? Status::Usage("--seconds needs --listener ADDRESS")
                                : listener.status();
    }
    who = AddressToString(*listener);
    ref = UniqueRef(b, "seconds", r.ref);
  }
  DIGM_ASSIGN_OR_RETURN(
      Posted posted, InTxn(b, [&](Ledger::Txn& txn, Posted& p) {
        return PayReward(txn, ref, seconds, who, AddressToString(artist), &p.transfers).status();
      }));
  posted.warnings = std::move(warnings);
  return posted;
}

Result<Posted> Slash(const PayBackend& b, std::istream& in,
                     const std::vector<std::string>& auditors_in, int share) {
  std::vector<std::string> auditors;
  for (const auto& a : auditors_in) {
    auto parsed = ParseAddress(a);
    if (!parsed.ok()) return Status::Usage("--auditor '" + a + "': " + parsed.status().message());
    auditors.push_back(AddressToString(*parsed));
  }
  std::vector<Json> records;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    std::string at = "stdin line " + std::to_string(n);
    auto d = ParseJson(line);
    if (!d.ok()) return d.status().Context(at);
    if (StringOr(*d, "schema") != "digm.slash/1") continue;  // audit results pass by
    // Only a record signed by a configured auditor burns stake.
    auto signer = VerifyDocument(*d);
    if (!signer.ok()) return signer.status().Context(at);
    if (std::find(auditors.begin(), auditors.end(), AddressToString(*signer)) == auditors.end()) {
      return Status::Integrity(at + ": signed by " + AddressToString(*signer) +
                               ", not by a given --auditor");
    }
    records.push_back(std::move(*d));
  }
  if (in.bad()) return Status::BadInput("cannot read stdin");
  return InTxn(b, [&](Ledger::Txn& txn, Posted& p) -> Status {
    for (const auto& r : records) {
      DIGM_RETURN_IF_ERROR(ApplySlash(txn, r, b.asset, share, &p.transfers).status());
    }
    return Status::Ok();
  });
}

Result<Posted> NodeRewards(const PayBackend& b, const std::string& index_path,
                           const std::string& pool_text) {
  DIGM_ASSIGN_OR_RETURN(int64_t pool, Money(b, pool_text));
  DIGM_ASSIGN_OR_RETURN(Json index, ReadDocument(index_path, "fresh-index", 1));
  return InTxn(b, [&](Ledger::Txn& txn, Posted& p) {
    return PayNodeRewards(txn, index, b.asset, pool, &p.transfers).status();
  });
}

Result<std::vector<Json>> BalanceLines(const std::string& ledger_path, const std::string& account) {
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(ledger_path, false));
  DIGM_ASSIGN_OR_RETURN(auto rows, ledger->Balances(account));
  std::vector<Json> lines;
  for (const auto& r : rows) {
    auto asset = ParseAsset(r.asset);
    lines.push_back(Json{{"schema", "digm.balance/1"},
                         {"account", r.account},
                         {"asset", r.asset},
                         {"amount", FormatAmount(r.amount, asset.ok() ? asset->decimals : 0)}});
  }
  return lines;
}

Result<std::vector<Json>> HistoryLines(const std::string& ledger_path, const std::string& account) {
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(ledger_path, false));
  DIGM_ASSIGN_OR_RETURN(auto transfers, ledger->History(account));
  DIGM_ASSIGN_OR_RETURN(auto sent, ledger->ChainSends(account));
  std::vector<Json> lines;
  for (const auto& t : transfers) lines.push_back(t.ToJson());
  for (const auto& c : sent) {
    if (c.state == "mined") lines.push_back(c.AsTransfer().ToJson());
  }
  return lines;
}

}  // namespace digm

namespace digm {
namespace {

// A digm.channel/1 file's id, or the argument itself when it is an id.
Result<std::string> ChannelId(const std::string& arg) {
  if (arg.size() == 64 && HexDecode(arg).ok()) return arg;
  DIGM_ASSIGN_OR_RETURN(Json doc, ReadDocument(arg, "channel", 1));
  DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(doc));
  return c.id;
}

}  // namespace

Result<Json> ChannelDeploy(const PayBackend& b, const std::string& bytecode) {
  if (!b.chain)
    return Status::Usage("channel deploy needs --chain evm --rpc URL --chain-id ID --wallet FILE");
  DIGM_ASSIGN_OR_RETURN(std::string text, ReadWholeFile(bytecode));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.rfind("0x", 0) == 0) text = text.substr(2);
  auto code = HexDecode(text);
  if (!code.ok() || code->empty())
    return Status::BadInput("'" + bytecode + "' is not hex init code (solc --bin)");
  DIGM_ASSIGN_OR_RETURN(Address at, DeployChannelContract(*b.chain, *b.payer, *code));
  return Json{{"schema", "digm.channel-contract/1"},
              {"address", AddressToString(at)},
              {"chain_id", b.chain->chain_id}};
}

Result<Json> ChannelOpen(const PayBackend& b, const ChannelOpenRequest& r, Posted* posted) {
  DIGM_ASSIGN_OR_RETURN(int64_t amount, Money(b, r.amount));
  if (amount <= 0) return Status::Usage("the amount must be more than zero");
  if (r.days < 1 || r.days > 3650) return Status::Usage("--expires must be 1 to 3650 days");
  DIGM_ASSIGN_OR_RETURN(Address payee, AddressArg(r.payee));
  DIGM_ASSIGN_OR_RETURN(Wallet payer, ReadWalletFile(r.payer_wallet));
  if (payee == payer.address) return Status::Usage("a channel to its own payer pays no one");
  if (b.chain) {
    if (r.contract.empty())
      return Status::Usage("on a chain, channel open needs --contract ADDRESS");
    DIGM_ASSIGN_OR_RETURN(Address contract, AddressArg(r.contract));
    Json doc = MakeChannel(payer, payee, b.asset, amount, b.clock() + r.days * 86400,
                           "evm:" + std::to_string(b.chain->chain_id), contract);
    DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(doc));
    DIGM_ASSIGN_OR_RETURN(Posted p, InTxn(b, [&](Ledger::Txn& txn, Posted&) {
                            return OpenChainChannel(txn, *b.chain, payer, c);
                          }));
    if (posted) *posted = std::move(p);
    return doc;
  }
  if (!r.contract.empty()) return Status::Usage("--contract goes with --chain evm");
  Json doc = MakeChannel(payer, payee, b.asset, amount, b.clock() + r.days * 86400, "ledger");
  DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(doc));
  DIGM_ASSIGN_OR_RETURN(Posted p, InTxn(b, [&](Ledger::Txn& txn, Posted& p) {
                          return OpenLedgerChannel(txn, c, &p.transfers);
                        }));
  if (posted) *posted = std::move(p);
  return doc;
}

Result<Posted> ChannelRedeem(const PayBackend& b, std::istream& in) {
  std::vector<Json> vouchers;
  std::map<std::string, Json> channels;  // digm.channel/1 lines (digm-seed vouchers --channels)
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto doc = ParseJson(line);
    if (!doc.ok()) return doc.status().Context("line " + std::to_string(n));
    if (!doc->is_object()) continue;
    std::string schema = StringOr(*doc, "schema");
    if (schema.rfind("digm.channel/", 0) == 0) {
      // The key first: the right side of an assignment is evaluated (and
      // here moved from) before the left.
      std::string id = StringOr(*doc, "id");
      channels[id] = std::move(*doc);
    }
    if (schema.rfind("digm.voucher/", 0) == 0) vouchers.push_back(std::move(*doc));
  }
  if (in.bad()) return Status::BadInput("reading the vouchers: " + std::string(strerror(errno)));
  // A node holds vouchers of both kinds: each run redeems those of its own
  // backend and names the others.
  std::string here = b.chain ? "evm:" + std::to_string(b.chain->chain_id) : "ledger";
  // Each voucher on its own: a node's book holds whatever channels its
  // payers signed, and one this ledger cannot redeem (a channel it never
  // held, one refunded) must not keep the payee from the others.
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(b.ledger, true, b.clock));
  Posted all;
  for (size_t i = 0; i < vouchers.size(); ++i) {
    std::string name = "voucher " + std::to_string(i + 1);
    Posted p;
    Status s = [&]() -> Status {
      DIGM_ASSIGN_OR_RETURN(auto txn, ledger->Begin());
      // Where its channel is: as its document says (it moves no money
      // unchecked), else as the ledger has it.
      auto doc = channels.find(StringOr(vouchers[i], "channel"));
      auto chain = doc != channels.end() ? Result<std::string>(StringOr(doc->second, "chain"))
                                         : VoucherChain(*txn, vouchers[i]);
      if (!chain.ok() && b.chain && chain.status().code() == Code::kIntegrity) {
        return chain.status().WithHint(
            "for a channel opened by someone else, give its document before the voucher: "
            "digm-seed vouchers --channels");
      }
      DIGM_RETURN_IF_ERROR(chain.status());
      if (*chain != here) {
        p.warnings.push_back(name + " is of a channel " +
                             (*chain == "ledger"
                                  ? "in the ledger: redeem it without --chain"
                                  : "on " + *chain + ": redeem it with --chain evm"));
        return Status::Ok();
      }
      // A channel opened on the chain by its payer, which this ledger never
      // saw: learnt from its document, once the contract is found to hold it.
      if (b.chain && doc != channels.end())
        DIGM_RETURN_IF_ERROR(LearnChainChannel(*txn, *b.chain, doc->second));
      if (b.chain) {
        // One transaction, recorded as it is mined: a re-run sends only
        // what the contract has not redeemed.
        DIGM_ASSIGN_OR_RETURN(bool sent, RedeemChainVoucher(*txn, *b.chain, *b.payer, vouchers[i]));
        if (!sent) p.warnings.push_back(name + " was redeemed before");
      } else {
        DIGM_RETURN_IF_ERROR(RedeemVoucher(*txn, vouchers[i], &p.transfers));
      }
      return txn->Commit();
    }();
    if (!s.ok()) {
      all.refused.push_back(s.Context(name));
      continue;
    }
    std::move(p.transfers.begin(), p.transfers.end(), std::back_inserter(all.transfers));
    std::move(p.warnings.begin(), p.warnings.end(), std::back_inserter(all.warnings));
  }
  return all;
}

Result<Posted> ChannelRefund(const PayBackend& b, const std::string& channel,
                             const std::string& payer_wallet) {
  DIGM_ASSIGN_OR_RETURN(std::string id, ChannelId(channel));
  DIGM_ASSIGN_OR_RETURN(Wallet payer, ReadWalletFile(payer_wallet));
  if (b.chain) {
    return InTxn(
        b, [&](Ledger::Txn& txn, Posted&) { return RefundChainChannel(txn, *b.chain, payer, id); });
  }
  return InTxn(b, [&](Ledger::Txn& txn, Posted& p) {
    return RefundChannel(txn, id, payer.address, b.clock(), &p.transfers);
  });
}

Result<Json> ChannelShow(const PayBackend& b, const std::string& channel) {
  DIGM_ASSIGN_OR_RETURN(std::string id, ChannelId(channel));
  DIGM_ASSIGN_OR_RETURN(auto ledger, OpenPayLedger(b.ledger, false, b.clock));
  DIGM_ASSIGN_OR_RETURN(auto txn, ledger->Begin());
  DIGM_ASSIGN_OR_RETURN(Json state, ChannelState(*txn, id));
  if (b.chain) {
    // The contract's view beside the ledger's.
    DIGM_ASSIGN_OR_RETURN(auto row, txn->FindChannel(id));
    DIGM_ASSIGN_OR_RETURN(Json doc, ParseJson(row->doc));
    DIGM_ASSIGN_OR_RETURN(Channel c, ReadChannel(doc));
    if (!c.contract) return state;
    DIGM_ASSIGN_OR_RETURN(ChainChannel on, ReadChainChannel(*b.chain, *c.contract, id, c.asset));
    state["chain"] =
        Json{{"contract", AddressToString(*c.contract)},
             {"amount", FormatAmount(on.amount, c.asset.decimals)},
             {"redeemed", FormatAmount(on.redeemed, c.asset.decimals)},
             {"left", FormatAmount(on.refunded ? 0 : on.amount - on.redeemed, c.asset.decimals)},
             {"refunded", on.refunded}};
  }
  return state;
}

}  // namespace digm
