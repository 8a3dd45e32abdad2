// Paying per chunk (SPEC §12): prices with known answers, channel and voucher
// documents against tampering, a node's voucher book and its credit rule
// (also across a reopen), and ledger escrow: redeem once, refuse bad
// vouchers without changing anything, refund only after expiry; a batch of
// vouchers redeemed each on its own; a node finding a channel's money in the
// ledger before it takes the channel.
#include "digm/channel.h"

#include <SQLiteCpp/SQLiteCpp.h>

#include "digm/channel_pay.h"
#include "digm/evm.h"
#include "digm/ledger.h"
#include "digm/pay_commands.h"
#include "digm/voucher_book.h"
#include "test_util.h"

namespace digm {
namespace {

const Asset kXfg{"XFG", 7};
constexpr int64_t kNow = 1800000000;

TEST(Price, RoundsTowardsTheNodeByLessThanAUnit) {
  EXPECT_EQ(PriceOf(1000000, 100000), 100000);  // 1 MB at 0.01 XFG
  EXPECT_EQ(PriceOf(262144, 100000), 26215);    // 26214.4 up
  EXPECT_EQ(PriceOf(1, 1), 1);
  EXPECT_EQ(PriceOf(0, 100000), 0);
  EXPECT_EQ(PriceOf(12345, 0), 0);
  EXPECT_EQ(BytesPaidBy(100000, 100000), 1000000u);
  EXPECT_EQ(BytesPaidBy(26215, 100000), 262150u);  // never short of what PriceOf asked
  EXPECT_EQ(BytesPaidBy(0, 100000), 0u);
  EXPECT_EQ(BytesPaidBy(5, 0), UINT64_MAX);
  for (uint64_t n : {1ull, 999ull, 262144ull, 1000001ull, 987654321ull})
    EXPECT_GE(BytesPaidBy(PriceOf(n, 7777), 7777), n) << n;
}

TEST(Price, ReadsBackItsCreditAndChannelMarginAndRefusesAnAbsurdMargin) {
  Price p{{"XFG", 7}, 100000, 1 << 20, 3600};
  auto back = ReadPrice(p.ToJson());
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->per_mb, 100000);
  EXPECT_EQ(back->credit, 1u << 20);
  EXPECT_EQ(back->channel_margin, 3600);
  Json old = p.ToJson();
  old.erase("channel_margin");  // a node from before margins: none
  EXPECT_EQ(ReadPrice(old)->channel_margin, 0);
  for (Json bad : {Json(-1), Json(kMaxChannelMargin + 1), Json("3600")}) {
    Json doc = p.ToJson();
    doc["channel_margin"] = bad;
    EXPECT_EQ(ReadPrice(doc).status().code(), Code::kBadInput) << bad;
  }
}

struct Parties {
  Wallet payer = Wallet::Generate(), payee = Wallet::Generate(), other = Wallet::Generate();
  Channel channel;
  Parties() {
    channel =
        *ReadChannel(MakeChannel(payer, payee.address, kXfg, 10000000, kNow + 86400, "ledger"));
  }
};

TEST(ChannelDocs, ASignedChannelReadsBackAndTamperingIsCaught) {
  Parties p;
  EXPECT_EQ(p.channel.amount, 10000000);
  EXPECT_EQ(p.channel.payee, p.payee.address);
  EXPECT_EQ(p.channel.id.size(), 64u);
  Json forged = p.channel.doc;
  forged["amount"] = "100";
  EXPECT_EQ(ReadChannel(forged).status().code(), Code::kIntegrity);
  Json resigned = p.channel.doc;
  SignDocument(resigned, p.other);  // signed, but not by its payer
  EXPECT_EQ(ReadChannel(resigned).status().code(), Code::kIntegrity);
  Json bad = p.channel.doc;
  bad["chain"] = "paypal";
  SignDocument(bad, p.payer);
  EXPECT_EQ(ReadChannel(bad).status().code(), Code::kBadInput);
  Json wrong = p.channel.doc;
  wrong["schema"] = "digm.voucher/1";
  EXPECT_EQ(ReadChannel(wrong).status().code(), Code::kBadInput);
}

TEST(ChannelDocs, VouchersAreCheckedAgainstTheirChannel) {
  Parties p;
  Json v = MakeVoucher(p.payer, p.channel, 5000, 1, "", 1000);
  auto ok = ReadVoucher(v, p.channel);
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->amount, 5000);
  Parties q;  // another channel
  EXPECT_EQ(ReadVoucher(v, q.channel).status().code(), Code::kIntegrity);
  EXPECT_EQ(
      ReadVoucher(MakeVoucher(p.payer, p.channel, 10000001, 2, "", 0), p.channel).status().code(),
      Code::kIntegrity);  // more than the channel holds
  EXPECT_EQ(ReadVoucher(MakeVoucher(p.other, p.channel, 5, 2, "", 0), p.channel).status().code(),
            Code::kIntegrity);  // not the payer's
  Json raised = v;
  raised["amount"] = "1";
  EXPECT_EQ(ReadVoucher(raised, p.channel).status().code(), Code::kIntegrity);
}

TEST(ChannelAbi, SelectorsAndWordsMatchKnownAnswers) {
  // Published selectors (ERC-20) and the channel contract's own.
  EXPECT_EQ(HexEncode(evm::AbiSelector("transfer(address,uint256)")), "a9059cbb");
  EXPECT_EQ(HexEncode(evm::AbiSelector("balanceOf(address)")), "70a08231");
  EXPECT_EQ(HexEncode(evm::AbiSelector("channels(bytes32)")), "7a7ebd7b");
  Bytes words;
  evm::AbiWord(words, evm::Wei{1000000000000000000ull});
  evm::AbiWord(words, *ParseAddress("0x00000000000000000000000000000000000000b7"));
  EXPECT_EQ(HexEncode(words),
            "0000000000000000000000000000000000000000000000000de0b6b3a7640000"
            "00000000000000000000000000000000000000000000000000000000000000b7");
  EXPECT_EQ(*evm::AbiUint(words, 0), evm::Wei{1000000000000000000ull});
  EXPECT_EQ(AddressToString(*evm::AbiAddress(words, 1)),
            "0x00000000000000000000000000000000000000b7");
  EXPECT_EQ(evm::AbiUint(words, 2).status().code(), Code::kBadInput);  // too short
  words[0] = 1;
  EXPECT_EQ(evm::AbiUint(words, 0).status().code(), Code::kBadInput);  // over 128 bits
}

TEST(ChannelDocs, AChainVoucherCarriesAnEvmSignatureOfThePayer) {
  Wallet payer = Wallet::Generate(), payee = Wallet::Generate(), other = Wallet::Generate();
  Address contract = *ParseAddress("0x00000000000000000000000000000000000000c1");
  auto c = *ReadChannel(
      MakeChannel(payer, payee.address, kXfg, 10000000, kNow + 86400, "evm:98765", contract));
  ASSERT_TRUE(c.contract);
  Json v = MakeVoucher(payer, c, 5000, 1, "", 0);
  auto read = ReadVoucher(v, c);
  ASSERT_TRUE(read.ok()) << read.status().message();
  EXPECT_EQ(*RecoverSigner(VoucherDigest(contract, c.id, 5000, 7), *read->evm_signature),
            payer.address);
  // The same amount for another contract or another amount does not recover to the payer.
  EXPECT_NE(*RecoverSigner(VoucherDigest(contract, c.id, 5001, 7), *read->evm_signature),
            payer.address);
  Json forged = v;
  forged["evm_signature"] = HexEncode(SignHash(other, VoucherDigest(contract, c.id, 5000, 7)));
  SignDocument(forged, payer);  // the document is the payer's, the chain signature not
  EXPECT_EQ(ReadVoucher(forged, c).status().code(), Code::kIntegrity);
  Json bare = v;
  bare.erase("evm_signature");
  SignDocument(bare, payer);
  EXPECT_EQ(ReadVoucher(bare, c).status().code(), Code::kBadInput);
  Json no_contract = c.doc;
  no_contract.erase("contract");
  SignDocument(no_contract, payer);
  EXPECT_EQ(ReadChannel(no_contract).status().code(), Code::kBadInput);
}

TEST(VoucherBook, ServesCreditUnpaidThenOnlyWhatVouchersPayFor) {
  testing::TempDir dir;
  Parties p;
  const int64_t per_mb = 100000;  // 0.01 XFG
  const uint64_t credit = 300000;
  {
    auto book = std::move(VoucherBook::Open(dir / "v.db")).value();
    auto d = *book->Charge(p.channel, nullptr, 262144, per_mb, credit);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.paid_bytes, 0u);
    d = *book->Charge(p.channel, nullptr, 262144, per_mb, credit);
    EXPECT_FALSE(d.allowed);  // 524288 > 0 + 300000
    auto v1 =
        *ReadVoucher(MakeVoucher(p.payer, p.channel, PriceOf(524288, per_mb), 1, "", 0), p.channel);
    d = *book->Charge(p.channel, &v1, 262144, per_mb, credit);
    EXPECT_TRUE(d.allowed);
    EXPECT_EQ(d.paid_bytes, 262144u);
    EXPECT_EQ(d.paid, v1.amount);
    // An older voucher arriving late is not taken; the best one counts.
    auto v0 = *ReadVoucher(MakeVoucher(p.payer, p.channel, 100, 0, "", 0), p.channel);
    d = *book->Charge(p.channel, &v0, 1, per_mb, credit);
    EXPECT_TRUE(d.stale);
    EXPECT_EQ(d.paid, v1.amount);
    // A voucher of seq 1 or below would be stale now; one of seq 2 would not.
    EXPECT_TRUE(book->Overtaken(p.channel.id, 1));
    EXPECT_TRUE(book->Overtaken(p.channel.id, 0));
    EXPECT_FALSE(book->Overtaken(p.channel.id, 2));
    EXPECT_FALSE(book->Overtaken("0000", 0));  // a channel never seen
  }
  // Reopened (a restart): the voucher and the bytes served are still there.
  auto book = std::move(VoucherBook::Open(dir / "v.db", false)).value();
  auto best = *book->Best();
  ASSERT_EQ(best.size(), 1u);
  EXPECT_EQ(best[0]["seq"], 1);
  auto with_channels = *book->Best(true);  // digm-seed vouchers --channels
  ASSERT_EQ(with_channels.size(), 2u);
  EXPECT_EQ(with_channels[0], p.channel.doc);
  EXPECT_EQ(with_channels[1], best[0]);
  auto account = **book->Find(p.channel.id);
  EXPECT_EQ(account.served, 524289u);
  // 524289 served, 524290 paid for, 300000 of credit: 300001 more is refused.
  EXPECT_FALSE(book->Charge(p.channel, nullptr, 300002, per_mb, credit)->allowed);
  EXPECT_TRUE(book->Charge(p.channel, nullptr, 300001, per_mb, credit)->allowed);
  EXPECT_FALSE(*book->Find(std::string(64, 'a')));
  EXPECT_EQ(VoucherBook::Open(dir / "none.db", false).status().code(), Code::kBadInput);
}

// A channel of a few units gets a few units' worth: the credit never runs
// past what the whole channel could pay, so many tiny channels are no way to
// be served unpaid.
TEST(VoucherBook, NeverServesMoreThanTheWholeChannelPaysFor) {
  testing::TempDir dir;
  Parties p;
  const int64_t per_mb = 100000;  // 0.01 XFG: 1000 units pay for 10,000 bytes
  Channel tiny =
      *ReadChannel(MakeChannel(p.payer, p.payee.address, kXfg, 1000, kNow + 86400, "ledger"));
  auto book = std::move(VoucherBook::Open(dir / "v.db")).value();
  EXPECT_FALSE(book->Charge(tiny, nullptr, 10001, per_mb, 1 << 20)->allowed);
  EXPECT_TRUE(book->Charge(tiny, nullptr, 6000, per_mb, 1 << 20)->allowed);
  EXPECT_FALSE(book->Charge(tiny, nullptr, 4001, per_mb, 1 << 20)->allowed);
  auto all = *ReadVoucher(MakeVoucher(p.payer, tiny, 1000, 1, "", 0), tiny);
  auto d = *book->Charge(tiny, &all, 4000, per_mb, 1 << 20);
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.paid_bytes, 4000u);
  EXPECT_FALSE(book->Charge(tiny, nullptr, 1, per_mb, 1 << 20)->allowed);  // spent
  // A channel big enough leaves the credit rule as it was.
  EXPECT_TRUE(book->Charge(p.channel, nullptr, 1 << 20, per_mb, 1 << 20)->allowed);
}

// A channel's bytes and vouchers count at the price it was first served
// at, as its payer counted them: were they re-read at a new price, a raise
// would refuse every honest returning payer and a cut would give away what
// the old vouchers paid for. So after a change its old channels are closed.
TEST(VoucherBook, AChannelKeepsThePriceItWasFirstServedAt) {
  testing::TempDir dir;
  Parties p;
  {
    auto book = std::move(VoucherBook::Open(dir / "v.db")).value();
    auto v = *ReadVoucher(MakeVoucher(p.payer, p.channel, PriceOf(1000000, 100000), 1, "", 0),
                          p.channel);
    EXPECT_TRUE(book->Charge(p.channel, &v, 1000000, 100000, 0)->allowed);
  }
  auto book = std::move(VoucherBook::Open(dir / "v.db", false)).value();  // restarted...
  auto raised = book->Charge(p.channel, nullptr, 1, 200000, 1 << 20);     // ...at another price
  EXPECT_EQ(raised.status().code(), Code::kNo);
  EXPECT_NE(raised.status().message().find("served here at 0.01 XFG per MB"), std::string::npos);
  EXPECT_EQ(book->Charge(p.channel, nullptr, 1, 50000, 1 << 20).status().code(), Code::kNo);
  EXPECT_EQ((*book->Find(p.channel.id))->served, 1000000u);                       // nothing changed
  EXPECT_TRUE(book->Charge(p.channel, nullptr, 1000, 100000, 1 << 20)->allowed);  // as before
  Parties q;  // a new channel takes the new price
  EXPECT_TRUE(book->Charge(q.channel, nullptr, 1000, 200000, 1 << 20)->allowed);
}

// A book from before channels kept their price gets the column, and its
// channels take the price they are next served at.
TEST(VoucherBook, AnOlderBookGainsThePriceColumn) {
  testing::TempDir dir;
  Parties p;
  {
    SQLite::Database db(dir / "v.db", SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE channels(id TEXT PRIMARY KEY, doc TEXT NOT NULL, paid INTEGER NOT NULL "
        "DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, voucher TEXT, served INTEGER NOT NULL DEFAULT "
        "0, added INTEGER NOT NULL)");
    SQLite::Statement insert(db, "INSERT INTO channels(id, doc, served, added) VALUES(?, ?, 5, 1)");
    insert.bind(1, p.channel.id);
    insert.bind(2, DumpDocument(p.channel.doc));
    insert.exec();
  }
  auto book = std::move(VoucherBook::Open(dir / "v.db", false)).value();
  EXPECT_TRUE(book->Charge(p.channel, nullptr, 10, 300000, 1 << 20)->allowed);
  EXPECT_EQ(book->Charge(p.channel, nullptr, 10, 100000, 1 << 20).status().code(), Code::kNo);
  EXPECT_EQ((*book->Find(p.channel.id))->served, 15u);
}

// A channel id is the payer's to choose, so another payer may sign a
// channel document of its own under an id it has seen: the book holds each id
// for the payer it first saw, and the other's vouchers change nothing, in
// this run or after a restart.
TEST(VoucherBook, AnIdClaimedByAnotherPayerIsRefused) {
  testing::TempDir dir;
  Parties p;
  const int64_t per_mb = 100000;
  Json claimed = MakeChannel(p.other, p.payee.address, kXfg, 10000000, kNow + 86400, "ledger");
  claimed["id"] = p.channel.id;
  SignDocument(claimed, p.other);
  Channel mallory = *ReadChannel(claimed);
  auto forged = *ReadVoucher(MakeVoucher(p.other, mallory, 5000000, 9, "", 0), mallory);
  auto v1 = *ReadVoucher(MakeVoucher(p.payer, p.channel, 1000, 1, "", 0), p.channel);
  for (bool reopened : {false, true}) {
    auto book = std::move(VoucherBook::Open(dir / "v.db")).value();
    if (!reopened) {
      ASSERT_TRUE(book->Charge(p.channel, &v1, 1, per_mb, 1 << 20)->allowed);
    }
    auto d = book->Charge(mallory, &forged, 1, per_mb, 1 << 20);
    EXPECT_EQ(d.status().code(), Code::kIntegrity) << reopened;
    EXPECT_EQ(book->Charge(mallory, nullptr, 1, per_mb, 1 << 20).status().code(), Code::kIntegrity);
    auto best = *book->Best();
    ASSERT_EQ(best.size(), 1u);
    EXPECT_EQ(best[0]["seq"], 1) << "the payer's voucher is still the best";
    EXPECT_EQ((**book->Find(p.channel.id)).served, 1u);
  }
}

// Runs `body` in one transaction, committed when it and the commit succeed.
Status InTxn(Ledger& l, const std::function<Status(Ledger::Txn&)>& body) {
  auto txn = std::move(l.Begin()).value();
  Status s = body(*txn);
  return s.ok() ? txn->Commit() : s;
}

int64_t BalanceOf(Ledger& l, const std::string& account) {
  auto txn = std::move(l.Begin()).value();
  return *txn->Balance(account, "XFG");
}

// Deposits the channel's amount for its payer and opens the channel.
Status OpenFunded(Ledger& l, const Parties& p) {
  return InTxn(l, [&](Ledger::Txn& t) {
    std::string payer = AddressToString(p.payer.address);
    DIGM_RETURN_IF_ERROR(t.Post("deposit", "d" + payer,
                                {{"XFG", kWorldAccount, payer, p.channel.amount, "", ""}}, nullptr)
                             .status());
    return OpenLedgerChannel(t, p.channel, nullptr);
  });
}

Status RefundAfterExpiry(Ledger& l, const Parties& p) {
  return InTxn(l, [&](Ledger::Txn& t) {
    return RefundChannel(t, p.channel.id, p.payer.address, p.channel.expires, nullptr);
  });
}

TEST(LedgerChannel, RedeemsOnceRefusesBadVouchersAndRefundsAfterExpiry) {
  testing::TempDir dir;
  auto ledger = std::move(Ledger::Open(dir / "l.db")).value();
  Parties p;
  std::string payer = AddressToString(p.payer.address), payee = AddressToString(p.payee.address);
  ASSERT_TRUE(
      InTxn(*ledger, [&](Ledger::Txn& t) {
        return t.Post("deposit", "d", {{"XFG", kWorldAccount, payer, 20000000, "", ""}}, nullptr)
            .status();
      }).ok());
  ASSERT_TRUE(InTxn(*ledger, [&](Ledger::Txn& t) {
                return OpenLedgerChannel(t, p.channel, nullptr);
              }).ok());
  EXPECT_EQ(BalanceOf(*ledger, ChannelAccount(p.channel.id)), 10000000);
  EXPECT_EQ(InTxn(*ledger, [&](Ledger::Txn& t) { return OpenLedgerChannel(t, p.channel, nullptr); })
                .code(),
            Code::kUsage);  // once

  auto redeem = [&](const Json& v) {
    return InTxn(*ledger, [&](Ledger::Txn& t) { return RedeemVoucher(t, v, nullptr); });
  };
  Json v3 = MakeVoucher(p.payer, p.channel, 3000000, 3, "", 0);
  ASSERT_TRUE(redeem(v3).ok());
  ASSERT_TRUE(redeem(v3).ok());  // twice: nothing more
  EXPECT_EQ(BalanceOf(*ledger, payee), 3000000);

  Parties q;
  Json refused[] = {
      MakeVoucher(p.payer, p.channel, 2000000, 2, "", 0),   // stale
      MakeVoucher(p.payer, p.channel, 4000000, 3, "", 0),   // replayed seq
      MakeVoucher(p.payer, p.channel, 10000001, 9, "", 0),  // over the amount
      MakeVoucher(q.payer, q.channel, 100, 9, "", 0),       // a channel the ledger lacks
      MakeVoucher(p.other, p.channel, 4000000, 9, "", 0),   // not the payer's
  };
  for (const auto& v : refused) {
    EXPECT_EQ(redeem(v).code(), Code::kIntegrity) << DumpDocument(v);
    EXPECT_EQ(BalanceOf(*ledger, payee), 3000000);
  }
  ASSERT_TRUE(redeem(MakeVoucher(p.payer, p.channel, 4500000, 4, "", 0)).ok());
  EXPECT_EQ(BalanceOf(*ledger, payee), 4500000);

  auto refund = [&](const Address& who, int64_t now) {
    return InTxn(*ledger,
                 [&](Ledger::Txn& t) { return RefundChannel(t, p.channel.id, who, now, nullptr); });
  };
  EXPECT_EQ(refund(p.payer.address, kNow).code(), Code::kNo);  // not expired
  EXPECT_EQ(refund(p.other.address, kNow + 86400).code(), Code::kIntegrity);
  ASSERT_TRUE(refund(p.payer.address, kNow + 86400).ok());
  EXPECT_EQ(BalanceOf(*ledger, payer), 20000000 - 4500000);
  EXPECT_EQ(BalanceOf(*ledger, ChannelAccount(p.channel.id)), 0);
  EXPECT_EQ(refund(p.payer.address, kNow + 86400).code(), Code::kNo);  // once
  EXPECT_EQ(redeem(MakeVoucher(p.payer, p.channel, 5000000, 5, "", 0)).code(), Code::kNo);
  auto txn = std::move(ledger->Begin()).value();
  auto state = *ChannelState(*txn, p.channel.id);
  EXPECT_EQ(state["redeemed"], "0.45");
  EXPECT_EQ(state["left"], "0");
  EXPECT_EQ(state["refunded"], true);
  EXPECT_TRUE(ledger->Check().ok());
}

// What digm-seed vouchers prints for a node holds every channel its payers
// signed: one no ledger holds (a payer's that was never opened), one refunded
// since. Each is refused on its own; the others are redeemed, every time.
TEST(LedgerChannel, ABatchRedeemsEveryVoucherItCanAndRefusesEachOtherAlone) {
  testing::TempDir dir;
  std::string path = dir / "l.db";
  auto ledger = std::move(Ledger::Open(path)).value();
  Parties good, refunded, unknown;
  ASSERT_TRUE(OpenFunded(*ledger, good).ok());
  ASSERT_TRUE(OpenFunded(*ledger, refunded).ok());
  ASSERT_TRUE(RefundAfterExpiry(*ledger, refunded).ok());
  std::string lines =
      DumpDocument(MakeVoucher(unknown.payer, unknown.channel, 100, 1, "", 0)) + "\n" +
      DumpDocument(MakeVoucher(good.payer, good.channel, 3000000, 3, "", 0)) + "\n" +
      DumpDocument(MakeVoucher(refunded.payer, refunded.channel, 5, 1, "", 0)) + "\n" +
      DumpDocument(MakeVoucher(good.other, good.channel, 9000000, 9, "", 0)) + "\n";
  PayBackend b{.ledger = path, .clock = [] { return kNow + 86400 * 2; }};
  std::string payee = AddressToString(good.payee.address);
  for (int run = 0; run < 2; ++run) {
    std::istringstream in(lines);
    auto r = ChannelRedeem(b, in);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->transfers.size(), run == 0 ? 1u : 0u);  // the second time: nothing new
    ASSERT_EQ(r->refused.size(), 3u);
    EXPECT_EQ(r->refused[0].code(), Code::kIntegrity);  // no such channel
    EXPECT_NE(r->refused[0].message().find("voucher 1: "), std::string::npos);
    EXPECT_EQ(r->refused[1].code(), Code::kNo);  // refunded
    EXPECT_NE(r->refused[1].message().find("voucher 3: "), std::string::npos);
    EXPECT_EQ(r->refused[2].code(), Code::kIntegrity);  // not the payer's
    EXPECT_EQ(BalanceOf(*ledger, payee), 3000000);
    EXPECT_EQ(BalanceOf(*ledger, AddressToString(refunded.payee.address)), 0);
  }
  std::istringstream garbage("{\"schema\":\"digm.voucher/1\"}\nnot json\n");
  EXPECT_EQ(ChannelRedeem(b, garbage).status().code(), Code::kBadInput);
  EXPECT_TRUE(ledger->Check().ok());
}

// A node takes a channel only once the ledger holds it as signed.
TEST(LedgerChannel, ANodeFindsAChannelsMoneyInTheLedgerOrRefusesIt) {
  testing::TempDir dir;
  std::string path = dir / "l.db";
  Parties opened, refunded, never;
  ChannelFunds funds{.ledger = path};
  EXPECT_EQ(CheckChannelFunds(funds, opened.channel).code(), Code::kIntegrity);  // no file yet
  auto ledger = std::move(Ledger::Open(path)).value();
  ASSERT_TRUE(OpenFunded(*ledger, opened).ok());
  ASSERT_TRUE(OpenFunded(*ledger, refunded).ok());
  ASSERT_TRUE(RefundAfterExpiry(*ledger, refunded).ok());
  EXPECT_TRUE(CheckChannelFunds(funds, opened.channel).ok());
  auto never_status = CheckChannelFunds(funds, never.channel);
  EXPECT_EQ(never_status.code(), Code::kIntegrity);
  EXPECT_NE(never_status.message().find("holds no channel " + never.channel.id), std::string::npos);
  EXPECT_EQ(CheckChannelFunds(funds, refunded.channel).code(), Code::kIntegrity);
  // Another payer's document under an id the ledger holds (ids are the payer's choice).
  Json claimed =
      MakeChannel(opened.other, opened.payee.address, kXfg, 10000000, kNow + 86400, "ledger");
  claimed["id"] = opened.channel.id;
  SignDocument(claimed, opened.other);
  auto c = ReadChannel(claimed);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(CheckChannelFunds(funds, *c).code(), Code::kIntegrity);
  // A node that checks a chain only takes no channel of a ledger, and the other way round.
  ChannelFunds chain_only{.chain = ChainTarget{"http://127.0.0.1:9", 98765}};
  EXPECT_EQ(CheckChannelFunds(chain_only, opened.channel).code(), Code::kNo);
  Channel on_chain = opened.channel;
  on_chain.chain = "evm:98765";
  EXPECT_EQ(CheckChannelFunds(funds, on_chain).code(), Code::kNo);
}

}  // namespace
}  // namespace digm
