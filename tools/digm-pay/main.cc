// digm-pay: wallets and the double-entry ledger (SPEC §8). Receipts, purchases,
// listening seconds, slash records and fresh indexes in; digm.transfer/1
// records (NDJSON), balances and wrapped keys out. What each command does is
// digm/pay_commands.h; this file parses, calls it, and prints.
#include <fcntl.h>

#include <cstdlib>
#include <iostream>

#include "channel_flags.h"
#include "cli.h"
#include "digm/pay_commands.h"
#include "pay_flags.h"

namespace {

using namespace digm;

int PrintLines(const Result<std::vector<Json>>& r) {
  if (!r.ok()) return diag::Fail(r.status());
  for (const auto& line : *r) cli::PrintLine(line);
  return 0;
}

int WriteDoc(const std::string& out, const Result<Json>& doc) {
  Status s =
      doc.ok() ? WriteOutput(out.empty() ? "-" : out, DumpDocument(*doc) + "\n") : doc.status();
  return s.ok() ? 0 : diag::Fail(s);
}

int Wallets(CLI::App* wnew, CLI::App* wshow, const std::string& file, const std::string& out) {
  if (wnew->parsed()) {
    Wallet w = Wallet::Generate();
    if (Status s = WriteWalletFile(out, w); !s.ok()) return diag::Fail(s);
    cli::PrintText(AddressToString(w.address));
    return 0;
  }
  auto w = ReadWalletFile(file);
  if (!w.ok()) return diag::Fail(w.status());
  if (!wshow->parsed()) return WriteDoc(out, IdentityToJson(*w));
  cli::PrintText("address " + AddressToString(w->address));
  cli::PrintText("public  " + HexEncode(w->public_key));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Wallets and the ledger: settle receipts, sell tracks, pay per chunk, reward, stake and "
      "slash.",
      "digm-pay");
  cli::Init(app, "digm-pay");
  app.require_subcommand(1, 1);
  app.fallthrough();  // --ledger and --asset may follow the subcommand
  PayFlags f;
  AddPayFlags(app, f);
  ChannelFlags ch;
  AddChannelFlags(app, ch, f.chain);
  if (int rc = cli::Parse(app, argc, argv); rc >= 0) return rc;

  if (f.wallet->parsed()) return Wallets(f.wnew, f.wshow, f.file, f.out);
  if (f.purchase->parsed() && !f.chain.chain.empty())
    f.chain.wallet = f.file;  // the buyer's key signs
  Status chain = ch.cmd->parsed() ? UseChannelChain(f.b, f.chain, ch) : UseChain(f.b, f.chain);
  if (!chain.ok()) return diag::Fail(chain);
  // Rewards are PARA; node rewards too unless --asset says otherwise.
  bool para = f.reward->parsed() || (f.noder->parsed() && !app.get_option("--asset")->count());
  f.b.asset = *ParseAsset(para ? "PARA" : f.asset_name);
  if (ch.cmd->parsed()) return RunChannel(f.b, ch);
  if (f.check->parsed()) {
    auto l = OpenPayLedger(f.b.ledger, false);
    Status s = l.ok() ? (*l)->Check() : l.status();
    return s.ok() ? 0 : diag::Fail(s);
  }
  if (f.balance->parsed() || f.history->parsed()) {
    auto account =
        f.move.from.empty() ? Result<std::string>(std::string()) : ParseAccount(f.move.from);
    if (!account.ok()) return diag::Fail(account.status());
    return PrintLines(f.history->parsed() ? HistoryLines(f.b.ledger, *account)
                                          : BalanceLines(f.b.ledger, *account));
  }
  if (f.grant->parsed()) return WriteDoc(f.out, Grant(f.b.ledger, f.root, f.key, f.file));
  if (f.deposit->parsed() || f.transfer->parsed() || f.stake->parsed()) {
    f.move.kind = f.deposit->parsed() ? "deposit" : f.stake->parsed() ? "stake" : "transfer";
    return PrintPosted(MoveMoney(f.b, f.move));
  }
  if (f.settle->parsed()) return PrintPosted(SettleReceipts(f.b, f.receipts, f.price));
  if (f.purchase->parsed())
    return PrintPosted(Purchase(f.b, f.root, f.file, f.reward_r.artist, f.price));
  if (f.reward->parsed()) return PrintPosted(Reward(f.b, f.reward_r));
  if (f.slash->parsed()) {
    if (fcntl(0, F_GETFD) == -1)
      return diag::Fail(Status::BadInput("stdin is closed: give the slash records on stdin"));
    return PrintPosted(Slash(f.b, std::cin, f.auditors, f.share));
  }
  return PrintPosted(NodeRewards(f.b, f.index, f.pool));
}
