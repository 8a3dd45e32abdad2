// The flags of digm-pay: its commands and what each takes, parsed into the
// requests of digm/pay_commands.h.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <string>
#include <tuple>
#include <vector>

#include "cli.h"
#include "diag.h"
#include "digm/pay_commands.h"

namespace digm {

// Prints what a command posted, one digm.transfer/1 per line, after its
// warnings; then each item it refused as an error, and exits with the first
// one's code.
inline int PrintPosted(const Result<Posted>& r) {
  if (!r.ok()) return diag::Fail(r.status());
  for (const auto& w : r->warnings) diag::Warning(w);
  for (const auto& t : r->transfers) cli::PrintLine(t.ToJson());
  int code = 0;
  for (const auto& s : r->refused) {
    int c = diag::Fail(s);
    if (code == 0) code = c;
  }
  return code;
}

struct PayFlags {
  PayBackend b{.ledger = std::getenv("DIGM_LEDGER") ? std::getenv("DIGM_LEDGER") : ""};
  std::string asset_name = "XFG", out, file, price, root, key, index, pool;
  MoveRequest move;
  RewardRequest reward_r;
  ChainFlags chain;
  std::vector<std::string> receipts, auditors;
  int share = 50;
  CLI::App *wallet = nullptr, *wnew = nullptr, *wshow = nullptr, *wid = nullptr, *deposit = nullptr,
           *transfer = nullptr, *balance = nullptr, *history = nullptr, *check = nullptr,
           *settle = nullptr, *purchase = nullptr, *grant = nullptr, *reward = nullptr,
           *stake = nullptr, *slash = nullptr, *noder = nullptr;
};

// --chain, --rpc, --chain-id and --confirm-timeout of a command, into `chain`
// (see UseChain); `what` says what --chain does for it.
inline void AddChainFlags(CLI::App* c, ChainFlags& chain, const char* what) {
  c->add_option("--chain", chain.chain, what)->check(CLI::IsMember({"evm"}))->type_name("evm");
  c->add_option("--rpc", chain.target.rpc, "the chain's JSON-RPC URL")->type_name("URL");
  c->add_option("--chain-id", chain.target.chain_id, "the chain id the RPC must serve (EIP-155)")
      ->type_name("ID");
  c->add_option("--confirm-timeout", chain.confirm_timeout_s,
                "seconds to wait for the transactions to be mined")
      ->capture_default_str()
      ->check(CLI::Range(1L, 86400L))
      ->type_name("S");
}

inline void AddPayFlags(CLI::App& app, PayFlags& f) {
  auto [b, asset_name, out, file, price, root, key, index, pool, move, reward_r, chain, receipts,
        auditors, share] =
      std::tie(f.b, f.asset_name, f.out, f.file, f.price, f.root, f.key, f.index, f.pool, f.move,
               f.reward_r, f.chain, f.receipts, f.auditors, f.share);
  app.add_option("--ledger", b.ledger, "the ledger database (default $DIGM_LEDGER)")
      ->type_name("FILE");
  app.add_option("--asset", asset_name, "XFG (7 decimals) or PARA (8)")
      ->capture_default_str()
      ->check(CLI::IsMember({"XFG", "PARA"}));
  auto chain_opts = [&](CLI::App* c, const char* wallet_help) {
    AddChainFlags(c, chain, "pay on a chain instead of in the ledger");
    if (wallet_help) c->add_option("--wallet", chain.wallet, wallet_help)->type_name("FILE");
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
    c->add_option("--amount", move.amount, "a decimal amount, e.g. 12.5")
        ->required()
        ->type_name("A");
    c->add_option("--ref", move.ref, "a unique reference: applying it twice does nothing")
        ->type_name("REF");
  };
  auto* deposit = app.add_subcommand("deposit", "bring money into an account from outside");
  deposit->add_option("--to", move.to, "the account")->required()->type_name("ACCOUNT");
  amount_opts(deposit);
  auto* transfer = app.add_subcommand("transfer", "move money between two accounts");
  transfer->add_option("--from", move.from)->type_name("ACCOUNT");
  transfer->add_option("--to", move.to)->required()->type_name("ACCOUNT");
  amount_opts(transfer);
  chain_opts(transfer, "with --chain: the payer's wallet");
  auto* balance = app.add_subcommand("balance", "print balances (digm.balance/1 lines)");
  balance->add_option("ACCOUNT", move.from, "only this account")->type_name("");
  auto* history = app.add_subcommand("history", "print transfers, oldest first (NDJSON)");
  history->add_option("ACCOUNT", move.from, "only those touching this account")->type_name("");
  auto* check = app.add_subcommand(
      "check", "verify the ledger: transfers balance, balances equal the journal");
  auto* settle =
      app.add_subcommand("settle", "pay nodes for the bytes each receipt says they delivered");
  settle->add_option("RECEIPT", receipts, "signed digm.receipt/1 files (- for stdin)")
      ->required()
      ->type_name("");
  settle->add_option("--price-per-mb", price, "price of 1,000,000 delivered bytes")
      ->required()
      ->type_name("P");
  chain_opts(settle, "with --chain: the listener's wallet, which pays");
  auto* purchase = app.add_subcommand("purchase", "record a purchase: the buyer pays the artist");
  purchase->add_option("ROOT", root)->required()->type_name("");
  purchase->add_option("--buyer", file, "the buyer's wallet")->required()->type_name("WALLET");
  purchase->add_option("--artist", reward_r.artist)->required()->type_name("ADDRESS");
  purchase->add_option("--price", price)->required()->type_name("P");
  chain_opts(purchase, nullptr);
  auto* grant = app.add_subcommand("grant", "wrap a track key for a buyer who purchased it");
  grant->add_option("ROOT", root)->required()->type_name("");
  grant->add_option("--key", key, "the track key")->required()->type_name("FILE");
  grant->add_option("--to", file, "the buyer's digm.identity/1")->required()->type_name("IDENTITY");
  grant->add_option("-o,--output", out, "write the digm.wrapped-key/1 here")->type_name("FILE");
  auto* reward =
      app.add_subcommand("reward", "pay 0.1 PARA per streamed second: 60% listener, 40% artist");
  reward
      ->add_option("--receipt", reward_r.receipt, "a signed receipt: its listener and its seconds")
      ->type_name("FILE");
  reward
      ->add_option("--manifest", reward_r.manifest,
                   "with --receipt: the track's manifest, whose duration caps the reward")
      ->type_name("FILE");
  reward->add_option("--seconds", reward_r.seconds, "seconds streamed")->type_name("S");
  reward->add_option("--listener", reward_r.listener)->type_name("ADDRESS");
  reward->add_option("--artist", reward_r.artist)->required()->type_name("ADDRESS");
  reward->add_option("--ref", reward_r.ref, "with --seconds: a unique reference")->type_name("REF");
  auto* stake = app.add_subcommand("stake", "lock a node's money as its stake");
  stake->add_option("--node", move.to)->required()->type_name("ADDRESS");
  amount_opts(stake);
  auto* slash = app.add_subcommand("slash", "burn stake for each digm.slash/1 read on stdin");
  slash->add_option("--share", share, "percent of the stake burnt")
      ->capture_default_str()
      ->check(CLI::Range(0, 100));
  slash
      ->add_option("--auditor", auditors,
                   "burn only for records signed by this auditor (repeatable)")
      ->required()
      ->type_name("ADDRESS");
  auto* noder = app.add_subcommand("node-rewards", "share a pool among the healthy nodes by score");
  noder->add_option("--index", index, "a digm.fresh-index/1")->required()->type_name("FILE");
  noder->add_option("--pool", pool, "the amount to share")->required()->type_name("A");
  f.wallet = wallet;
  f.wnew = wnew;
  f.wshow = wshow;
  f.wid = wid;
  f.deposit = deposit;
  f.transfer = transfer;
  f.balance = balance;
  f.history = history;
  f.check = check;
  f.settle = settle;
  f.purchase = purchase;
  f.grant = grant;
  f.reward = reward;
  f.stake = stake;
  f.slash = slash;
  f.noder = noder;
}

}  // namespace digm
