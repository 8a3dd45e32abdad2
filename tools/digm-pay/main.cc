// digm-pay: wallets and the double-entry ledger (SPEC §8). Receipts, purchases,
// listening seconds, slash records and fresh indexes in; digm.transfer/1
// records (NDJSON), balances and wrapped keys out.
#include <fcntl.h>

#include <cstdlib>
#include <iostream>

#include "cli.h"
#include "digm/chain_pay.h"
#include "digm/crypto.h"
#include "digm/key_wrap.h"
#include "digm/payments.h"

namespace {

using namespace digm;

// An address (any case) or one of the ledger's own accounts.
Result<std::string> ParseAccount(const std::string& text) {
  if (text == kWorldAccount || text == kRewardPool || text == kBurnAccount) return text;
  std::string address = text.rfind("stake:", 0) == 0 ? text.substr(6) : text;
  DIGM_ASSIGN_OR_RETURN(Address a, ParseAddress(address));
  return (text == address ? "" : "stake:") + AddressToString(a);
}

Result<Address> AddressArg(const std::string& text) {
  auto a = ParseAddress(text);
  if (!a.ok()) return Status::Usage("'" + text + "' is not an address (0x and 40 hex digits)");
  return a;
}

// Opens the ledger at `path` into `out`: -1, or the exit code when it cannot.
// `create`: a command that writes may start a new ledger; one that only reads never does.
int OpenLedger(const std::string& path, std::unique_ptr<Ledger>* out, bool create = true) {
  if (path.empty()) return cli::UsageError("no ledger given", "add --ledger FILE or set DIGM_LEDGER");
  auto l = Ledger::Open(path, create);
  if (!l.ok()) return diag::Fail(l.status());
  *out = std::move(*l);
  return -1;
}

// Runs `body` in one ledger transaction and prints what it posted.
int InTxn(const std::string& path, const std::function<Status(Ledger::Txn&, std::vector<Transfer>&)>& body) {
  std::unique_ptr<Ledger> ledger;
  if (int rc = OpenLedger(path, &ledger); rc >= 0) return rc;
  auto txn = ledger->Begin();
  if (!txn.ok()) return diag::Fail(txn.status());
  std::vector<Transfer> posted;
  Status s = body(**txn, posted);
  if (s.ok()) s = (*txn)->Commit();
  if (!s.ok()) return diag::Fail(s);
  for (const auto& t : posted) cli::PrintLine(t.ToJson());
  return 0;
}

// The chain backend: pays `payments` from `payer` on the chain, keeping track in the ledger.
int OnChain(const std::string& path, const ChainTarget& target, const Wallet& payer,
            const std::vector<ChainPayment>& payments, const std::function<Status(Ledger&)>& after = {}) {
  std::unique_ptr<Ledger> ledger;  // it remembers what was sent
  if (int rc = OpenLedger(path, &ledger); rc >= 0) return rc;
  auto mined = PayOnChain(*ledger, target, payer, payments);
  if (!mined.ok()) return diag::Fail(mined.status());
  if (after) {
    if (Status s = after(*ledger); !s.ok()) return diag::Fail(s);
  }
  for (const auto& t : *mined) cli::PrintLine(t.ToJson());
  return 0;
}

Bytes Sha256Of(const std::string& text) {
  Hash256 h = Sha256(std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  return Bytes(h.begin(), h.end());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Wallets and the ledger: settle receipts, sell tracks, reward, stake and slash.", "digm-pay");
  cli::Init(app, "digm-pay");
  app.require_subcommand(1, 1);
  app.fallthrough();  // --ledger and --asset may follow the subcommand
  const char* env = std::getenv("DIGM_LEDGER");
  std::string ledger = env ? env : "", asset_name = "XFG", out, file, amount, ref, from, to, price,
              root, buyer, artist, listener, key, receipt, index, pool, manifest_path;
  std::vector<std::string> receipts, auditors;
  int64_t seconds = -1;
  int share = 50;
  app.add_option("--ledger", ledger, "the ledger database (default $DIGM_LEDGER)")->type_name("FILE");
  app.add_option("--asset", asset_name, "XFG (7 decimals) or PARA (8)")->capture_default_str()->check(CLI::IsMember({"XFG", "PARA"}));
  std::string chain, payer_file;
  ChainTarget target;
  long confirm_s = 60;
  auto chain_opts = [&](CLI::App* c) {
    c->add_option("--chain", chain, "pay on a chain instead of in the ledger")->check(CLI::IsMember({"evm"}))->type_name("evm");
    c->add_option("--rpc", target.rpc, "the chain's JSON-RPC URL")->type_name("URL");
    c->add_option("--chain-id", target.chain_id, "the chain id the RPC must serve (EIP-155)")->type_name("ID");
    c->add_option("--confirm-timeout", confirm_s, "seconds to wait for the transactions to be mined")->capture_default_str()->check(CLI::Range(1L, 86400L))->type_name("S");
  };

  auto* wallet = app.add_subcommand("wallet", "make or read a wallet")->require_subcommand(1, 1);
  auto* wnew = wallet->add_subcommand("new", "make a wallet (mode 0600) and print its address");
  wnew->add_option("-o,--output", out, "the new wallet file")->required()->type_name("FILE");
  auto* wshow = wallet->add_subcommand("show", "print a wallet's address and public key");
  wshow->add_option("WALLET", file)->required()->type_name("");
  auto* wid = wallet->add_subcommand("identity", "print the public digm.identity/1 of a wallet");
  wid->add_option("WALLET", file)->required()->type_name("");
  wid->add_option("-o,--output", out, "write it here instead")->type_name("FILE");

  auto amount_opts = [&](CLI::App* c) {
    c->add_option("--amount", amount, "a decimal amount, e.g. 12.5")->required()->type_name("A");
    c->add_option("--ref", ref, "a unique reference: applying it twice does nothing")->type_name("REF");
  };
  auto* deposit = app.add_subcommand("deposit", "bring money into an account from outside");
  deposit->add_option("--to", to, "the account")->required()->type_name("ACCOUNT");
  amount_opts(deposit);
  auto* transfer = app.add_subcommand("transfer", "move money between two accounts");
  transfer->add_option("--from", from)->type_name("ACCOUNT");
  transfer->add_option("--to", to)->required()->type_name("ACCOUNT");
  transfer->add_option("--wallet", payer_file, "with --chain: the payer's wallet")->type_name("FILE");
  amount_opts(transfer);
  chain_opts(transfer);
  auto* balance = app.add_subcommand("balance", "print balances (digm.balance/1 lines)");
  balance->add_option("ACCOUNT", from, "only this account")->type_name("");
  auto* history = app.add_subcommand("history", "print transfers, oldest first (NDJSON)");
  history->add_option("ACCOUNT", from, "only those touching this account")->type_name("");

  auto* check = app.add_subcommand("check", "verify the ledger: transfers balance, balances equal the journal");
  auto* settle = app.add_subcommand("settle", "pay nodes for the bytes each receipt says they delivered");
  settle->add_option("RECEIPT", receipts, "signed digm.receipt/1 files (- for stdin)")->required()->type_name("");
  settle->add_option("--price-per-mb", price, "price of 1,000,000 delivered bytes")->required()->type_name("P");
  settle->add_option("--wallet", payer_file, "with --chain: the listener's wallet, which pays")->type_name("FILE");
  chain_opts(settle);
  auto* purchase = app.add_subcommand("purchase", "record a purchase: the buyer pays the artist");
  purchase->add_option("ROOT", root)->required()->type_name("");
  purchase->add_option("--buyer", buyer, "the buyer's wallet")->required()->type_name("WALLET");
  purchase->add_option("--artist", artist)->required()->type_name("ADDRESS");
  purchase->add_option("--price", price)->required()->type_name("P");
  chain_opts(purchase);
  auto* grant = app.add_subcommand("grant", "wrap a track key for a buyer who purchased it");
  grant->add_option("ROOT", root)->required()->type_name("");
  grant->add_option("--key", key, "the track key")->required()->type_name("FILE");
  grant->add_option("--to", file, "the buyer's digm.identity/1")->required()->type_name("IDENTITY");
  grant->add_option("-o,--output", out, "write the digm.wrapped-key/1 here")->type_name("FILE");
  auto* reward = app.add_subcommand("reward", "pay 0.1 PARA per streamed second: 60% listener, 40% artist");
  reward->add_option("--receipt", receipt, "a signed receipt: its listener and its seconds")->type_name("FILE");
  reward->add_option("--manifest", manifest_path, "with --receipt: the track's manifest, whose duration caps the reward")->type_name("FILE");
  reward->add_option("--seconds", seconds, "seconds streamed")->type_name("S");
  reward->add_option("--listener", listener)->type_name("ADDRESS");
  reward->add_option("--artist", artist)->required()->type_name("ADDRESS");
  reward->add_option("--ref", ref, "with --seconds: a unique reference")->type_name("REF");
  auto* stake = app.add_subcommand("stake", "lock a node's money as its stake");
  stake->add_option("--node", to)->required()->type_name("ADDRESS");
  amount_opts(stake);
  auto* slash = app.add_subcommand("slash", "burn stake for each digm.slash/1 read on stdin");
  slash->add_option("--share", share, "percent of the stake burnt")->capture_default_str()->check(CLI::Range(0, 100));
  slash->add_option("--auditor", auditors, "burn only for records signed by this auditor (repeatable)")->required()->type_name("ADDRESS");
  auto* noder = app.add_subcommand("node-rewards", "share a pool among the healthy nodes by score");
  noder->add_option("--index", index, "a digm.fresh-index/1")->required()->type_name("FILE");
  noder->add_option("--pool", pool, "the amount to share")->required()->type_name("A");
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (wallet->parsed()) {
    if (wnew->parsed()) {
      Wallet w = Wallet::Generate();
      if (Status s = WriteWalletFile(out, w); !s.ok()) return diag::Fail(s);
      std::printf("%s\n", AddressToString(w.address).c_str());
      return 0;
    }
    auto w = ReadWalletFile(file);
    if (!w.ok()) return diag::Fail(w.status());
    if (wshow->parsed()) {
      std::printf("address %s\npublic  %s\n", AddressToString(w->address).c_str(),
                  HexEncode(w->public_key).c_str());
      return 0;
    }
    Status s = WriteOutput(out.empty() ? "-" : out, DumpDocument(IdentityToJson(*w)) + "\n");
    return s.ok() ? 0 : diag::Fail(s);
  }
  // The chain backend: its options come together, with the payer's wallet.
  std::optional<Wallet> payer;
  if (!chain.empty()) {
    if (target.rpc.empty() || target.chain_id == 0) return cli::UsageError("--chain evm needs --rpc URL and --chain-id ID");
    if (confirm_s <= 0) return cli::UsageError("--confirm-timeout must be more than zero");
    target.confirm_timeout_ms = confirm_s * 1000;
    std::string wallet_file = purchase->parsed() ? buyer : payer_file;
    if (wallet_file.empty()) return cli::UsageError("--chain evm needs --wallet FILE: the key that signs the transactions");
    auto w = ReadWalletFile(wallet_file);
    if (!w.ok()) return diag::Fail(w.status());
    payer = *w;
  } else if (!target.rpc.empty() || target.chain_id != 0 || !payer_file.empty()) {
    return cli::UsageError("--rpc, --chain-id and --wallet only go with --chain evm");
  }
  Asset asset = *ParseAsset(asset_name);
  if (reward->parsed()) asset = *ParseAsset("PARA");
  auto money = [&](const std::string& text, int64_t* atomic) {
    auto a = ParseAmount(text, asset.decimals);
    if (a.ok()) *atomic = *a;
    return a.status();
  };
  auto unique_ref = [&](const std::string& kind) {
    std::array<uint8_t, 16> r;
    RandomBytes(r);
    return ref.empty() ? kind + ":" + HexEncode(r) : kind + ":" + ref;
  };

  if (check->parsed()) {
    std::unique_ptr<Ledger> l;
    if (int rc = OpenLedger(ledger, &l, false); rc >= 0) return rc;
    if (Status s = l->Check(); !s.ok()) return diag::Fail(s);
    return 0;
  }

  if (balance->parsed() || history->parsed()) {
    auto account = from.empty() ? Result<std::string>(std::string()) : ParseAccount(from);
    if (!account.ok()) return cli::UsageError(account.status().message());
    std::unique_ptr<Ledger> l;
    if (int rc = OpenLedger(ledger, &l, false); rc >= 0) return rc;
    if (history->parsed()) {
      auto h = l->History(*account);
      if (!h.ok()) return diag::Fail(h.status());
      for (const auto& t : *h) cli::PrintLine(t.ToJson());
      auto sent = l->ChainSends(*account);  // the chain backend's, mined ones
      if (!sent.ok()) return diag::Fail(sent.status());
      for (const auto& c : *sent) {
        if (c.state == "mined") cli::PrintLine(c.AsTransfer().ToJson());
      }
      return 0;
    }
    auto rows = l->Balances(*account);
    if (!rows.ok()) return diag::Fail(rows.status());
    for (const auto& r : *rows) {
      cli::PrintLine(Json{{"schema", "digm.balance/1"}, {"account", r.account}, {"asset", r.asset},
                     {"amount", FormatAmount(r.amount, ParseAsset(r.asset)->decimals)}});
    }
    return 0;
  }

  if (grant->parsed()) {
    auto k = ReadKeyFile(key);
    if (!k.ok()) return diag::Fail(k.status());
    auto id = ReadDocument(file, "identity", 1);
    if (!id.ok()) {
      diag::Error(id.status().message());
      diag::Hint("the buyer makes one with: digm-pay wallet identity WALLET -o buyer.id");
      return id.status().exit_code();
    }
    auto pub = HexDecode(StringOr(*id, "public"));
    if (!pub.ok()) return diag::Fail(Status::BadInput("'" + file + "': \"public\" is not hex"));
    auto addr = AddressOfPublicKey(*pub);
    if (!addr.ok()) return diag::Fail(addr.status().Context("'" + file + "'"));
    Json wrapped;
    int rc = InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>&) -> Status {
      if (!txn.HasPurchase(root, AddressToString(*addr))) {
        return Status::No(AddressToString(*addr) + " has not purchased " + root);
      }
      DIGM_ASSIGN_OR_RETURN(wrapped, WrapKey(*k, *pub));
      return Status::Ok();
    });
    if (rc != 0) return rc;
    Status s = WriteOutput(out.empty() ? "-" : out, DumpDocument(wrapped) + "\n");
    return s.ok() ? 0 : diag::Fail(s);
  }

  if (deposit->parsed() || transfer->parsed() || stake->parsed()) {
    int64_t atomic = 0;
    if (Status s = money(amount, &atomic); !s.ok()) return diag::Fail(s);
    if (atomic <= 0) return cli::UsageError("the amount must be more than zero");
    if (transfer->parsed() && from.empty()) {
      if (!payer) return cli::UsageError("transfer needs --from ACCOUNT (or --chain evm with --wallet)");
      from = AddressToString(payer->address);
    }
    auto dst = ParseAccount(to);
    auto src = deposit->parsed() ? Result<std::string>(std::string(kWorldAccount)) : ParseAccount(stake->parsed() ? to : from);
    if (!dst.ok() || !src.ok()) return cli::UsageError((dst.ok() ? src : dst).status().message());
    std::string kind = deposit->parsed() ? "deposit" : stake->parsed() ? "stake" : "transfer";
    if (stake->parsed()) dst = StakeAccount(*src);
    if (payer) {
      auto dst_address = AddressArg(to);
      if (!dst_address.ok()) return cli::UsageError("--to: on a chain, " + dst_address.status().message());
      std::string payer_address = AddressToString(payer->address);
      if (*src != payer_address) return cli::UsageError("--from " + from + " is not the address of --wallet (" + payer_address + ")");
      std::string r = unique_ref(kind);
      return OnChain(ledger, target, *payer, {{kind, r, 0, {asset.name, payer_address, AddressToString(*dst_address), atomic, "", ""}, Sha256Of(r)}});
    }
    return InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>& posted) {
      return txn.Post(kind, unique_ref(kind), {{asset.name, *src, *dst, atomic, "", ""}}, &posted).status();
    });
  }

  if (settle->parsed()) {
    int64_t p = 0;
    if (Status s = money(price, &p); !s.ok()) return diag::Fail(s);
    // A receipt is settled once: at price 0 it would be used up, paying nothing.
    if (p <= 0) return cli::UsageError("--price-per-mb must be more than zero");
    std::vector<Json> docs;
    for (const auto& r : receipts) {
      auto d = ReadDocument(r, "receipt", 1);
      if (!d.ok()) return diag::Fail(d.status());
      docs.push_back(std::move(*d));
    }
    if (payer) {
      std::vector<ChainPayment> payments;
      for (size_t i = 0; i < docs.size(); ++i) {
        auto specs = ReceiptPayments(docs[i], asset, p);
        if (!specs.ok()) return diag::Fail(specs.status().Context("'" + receipts[i] + "'"));
        Bytes data = *HexDecode(ReceiptHash(docs[i]));
        for (size_t k = 0; k < specs->size(); ++k) {
          payments.push_back({"settle", ReceiptRef(docs[i]), static_cast<int>(k), (*specs)[k], data});
        }
      }
      return OnChain(ledger, target, *payer, payments);
    }
    return InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>& posted) -> Status {
      for (size_t i = 0; i < docs.size(); ++i) {
        auto t = SettleReceipt(txn, docs[i], asset, p);
        if (!t.ok()) return t.status().Context("'" + receipts[i] + "'");
        posted.insert(posted.end(), t->begin(), t->end());
      }
      return Status::Ok();
    });
  }

  if (purchase->parsed()) {
    int64_t p = 0;
    if (Status s = money(price, &p); !s.ok()) return diag::Fail(s);
    auto w = ReadWalletFile(buyer);
    if (!w.ok()) return diag::Fail(w.status());
    auto a = AddressArg(artist);
    if (!a.ok()) return cli::UsageError(a.status().message());
    if (payer) {
      std::string r = PurchaseRef(root, w->address);
      TransferSpec spec{asset.name, AddressToString(w->address), AddressToString(*a), p, root, ""};
      return OnChain(ledger, target, *payer, {{"purchase", r, 0, spec, Sha256Of(r)}},
                     [&](Ledger& l) { return l.RecordPurchase(root, AddressToString(w->address), r); });
    }
    return InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>& posted) -> Status {
      DIGM_ASSIGN_OR_RETURN(bool fresh, RecordPurchase(txn, root, w->address, *a, asset, p, &posted));
      if (!fresh) diag::Warning(AddressToString(w->address) + " bought " + root + " before; nothing changed");
      return Status::Ok();
    });
  }

  if (reward->parsed()) {
    if (receipt.empty() == (seconds < 0)) return cli::UsageError("give --receipt FILE, or --seconds S with --listener");
    auto a = AddressArg(artist);
    if (!a.ok()) return cli::UsageError(a.status().message());
    std::string who = listener, key_ref;
    int64_t secs = seconds;
    if (!receipt.empty()) {
      if (manifest_path.empty()) return cli::UsageError("--receipt needs --manifest FILE: the track's duration caps the reward");
      auto d = ReadDocument(receipt, "receipt", 1);
      if (!d.ok()) return diag::Fail(d.status());
      auto signer = VerifyDocument(*d);
      if (!signer.ok()) return diag::Fail(signer.status().Context("'" + receipt + "'"));
      if (StringOr(*d, "listener") != AddressToString(*signer)) {
        return diag::Fail(Status::Integrity("'" + receipt + "' is not signed by its listener"));
      }
      auto track = ReadManifest(manifest_path, true);
      if (!track.ok()) return diag::Fail(track.status());
      auto claim = ReceiptReward(*d, *track);
      if (!claim.ok()) return diag::Fail(claim.status().Context("'" + receipt + "'"));
      who = AddressToString(*signer);
      secs = claim->seconds;
      if (secs == 0) diag::Warning("'" + receipt + "' earns nothing: less than a second of the track was delivered by identified nodes");
      key_ref = claim->ref;
    } else {
      auto l = AddressArg(listener);
      if (!l.ok()) return cli::UsageError(listener.empty() ? "--seconds needs --listener ADDRESS" : l.status().message());
      who = AddressToString(*l);
      key_ref = unique_ref("seconds");
    }
    return InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>& posted) {
      return PayReward(txn, key_ref, secs, who, AddressToString(*a), &posted).status();
    });
  }

  if (slash->parsed()) {
    for (auto& a : auditors) {
      auto parsed = ParseAddress(a);
      if (!parsed.ok()) return cli::UsageError("--auditor '" + a + "': " + parsed.status().message());
      a = AddressToString(*parsed);
    }
    if (fcntl(0, F_GETFD) == -1) return diag::Fail(Status::BadInput("stdin is closed: give the slash records on stdin"));
    std::vector<Json> records;
    std::string line;
    for (size_t n = 1; std::getline(std::cin, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto d = ParseJson(line);
      if (!d.ok()) return diag::Fail(d.status().Context("stdin line " + std::to_string(n)));
      if (StringOr(*d, "schema") != "digm.slash/1") continue;  // audit results pass by
      // Only a record signed by a configured auditor burns stake.
      auto signer = VerifyDocument(*d);
      if (!signer.ok()) return diag::Fail(signer.status().Context("stdin line " + std::to_string(n)));
      if (std::find(auditors.begin(), auditors.end(), AddressToString(*signer)) == auditors.end()) {
        return diag::Fail(Status::Integrity("stdin line " + std::to_string(n) + ": signed by " +
                                            AddressToString(*signer) + ", not by a given --auditor"));
      }
      records.push_back(std::move(*d));
    }
    return InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>& posted) -> Status {
      for (const auto& r : records) DIGM_RETURN_IF_ERROR(ApplySlash(txn, r, asset, share, &posted).status());
      return Status::Ok();
    });
  }

  // node-rewards
  if (!app.get_option("--asset")->count()) asset = *ParseAsset("PARA");
  int64_t p = 0;
  if (Status s = money(pool, &p); !s.ok()) return diag::Fail(s);
  auto doc = ReadDocument(index, "fresh-index", 1);
  if (!doc.ok()) return diag::Fail(doc.status());
  return InTxn(ledger, [&](Ledger::Txn& txn, std::vector<Transfer>& posted) {
    return PayNodeRewards(txn, *doc, asset, p, &posted).status();
  });
}
