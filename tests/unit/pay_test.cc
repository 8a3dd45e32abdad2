// Money and the ledger: decimal strings to atomic units and back, the
// double-entry invariant under thousands of random operations, and the chain
// backend's encodings against published vectors (RLP, EIP-155).
#include <random>

#include "digm/chain_pay.h"
#include "digm/evm.h"
#include "digm/keccak.h"
#include "digm/ledger.h"
#include "digm/money.h"
#include "digm/payments.h"
#include "test_util.h"

namespace digm {
namespace {

TEST(Money, ParsesDecimalStringsExactly) {
  EXPECT_EQ(*ParseAmount("12", 7), 120000000);
  EXPECT_EQ(*ParseAmount("0.0012", 7), 12000);
  EXPECT_EQ(*ParseAmount("0.0000001", 7), 1);
  EXPECT_EQ(*ParseAmount("1.5", 8), 150000000);
  for (const char* bad : {"", "-1", "+1", "1e3", "0.00000001", ".5", "5.", "1,5", " 1", "0x10",
                          "99999999999999999999"}) {
    EXPECT_EQ(ParseAmount(bad, 7).status().code(), Code::kBadInput) << bad;
  }
}

TEST(Money, FormatsTheShortestString) {
  EXPECT_EQ(FormatAmount(120000000, 7), "12");
  EXPECT_EQ(FormatAmount(12000, 7), "0.0012");
  EXPECT_EQ(FormatAmount(1, 8), "0.00000001");
  EXPECT_EQ(FormatAmount(0, 7), "0");
  EXPECT_EQ(FormatAmount(-15, 1), "-1.5");
  for (int64_t v : {int64_t{1}, int64_t{10}, int64_t{1234567}, int64_t{4611686018427387904}}) {
    EXPECT_EQ(*ParseAmount(FormatAmount(v, 7), 7), v);
  }
}

TEST(Ledger, InvariantHoldsUnderRandomOperations) {
  testing::TempDir dir;
  auto ledger = std::move(Ledger::Open(dir / "l.db")).value();
  std::vector<std::string> accounts = {"0x00000000000000000000000000000000000000a1",
                                       "0x00000000000000000000000000000000000000a2",
                                       "0x00000000000000000000000000000000000000a3", kRewardPool};
  std::mt19937_64 rng(42);
  std::map<std::pair<std::string, std::string>, int64_t> model;
  int refused = 0;
  for (int op = 0; op < 3000; ++op) {
    std::string asset = rng() % 2 ? "XFG" : "PARA";
    bool deposit = rng() % 4 == 0;
    std::string from = deposit ? kWorldAccount : accounts[rng() % accounts.size()];
    std::string to = accounts[rng() % accounts.size()];
    int64_t amount = 1 + static_cast<int64_t>(rng() % 1000000);
    auto txn = std::move(ledger->Begin()).value();
    bool fresh =
        *txn->Post("op", "op:" + std::to_string(op), {{asset, from, to, amount, "", ""}}, nullptr);
    ASSERT_TRUE(fresh);
    Status s = txn->Commit();
    if (!s.ok()) {
      ASSERT_EQ(s.code(), Code::kNo);  // short: nothing applied
      ++refused;
      continue;
    }
    model[{from, asset}] -= amount;
    model[{to, asset}] += amount;
  }
  EXPECT_GT(refused, 0);
  ASSERT_TRUE(ledger->Check().ok()) << ledger->Check().message();
  std::vector<Ledger::BalanceRow> rows = *ledger->Balances();
  for (const auto& row : rows) {
    EXPECT_EQ(row.amount, (model[{row.account, row.asset}])) << row.account << " " << row.asset;
    if (row.account != kWorldAccount) {
      EXPECT_GE(row.amount, 0);
    }
  }
  // Every transfer sums to zero: the world's balance is minus everyone else's.
  for (const char* asset : {"XFG", "PARA"}) {
    int64_t sum = 0;
    for (const auto& row : rows) sum += row.asset == asset ? row.amount : 0;
    EXPECT_EQ(sum, 0);
  }
}

TEST(Ledger, AReferenceIsPostedOnce) {
  testing::TempDir dir;
  auto ledger = std::move(Ledger::Open(dir / "l.db")).value();
  for (int i = 0; i < 2; ++i) {
    auto txn = std::move(ledger->Begin()).value();
    EXPECT_EQ(*txn->Post("deposit", "d:1", {{"XFG", kWorldAccount, "0x1", 5, "", ""}}, nullptr),
              i == 0);
    ASSERT_TRUE(txn->Commit().ok());
  }
  EXPECT_EQ(ledger->History()->size(), 1u);
}

TEST(Ledger, AFixedClockDatesWhatIsPosted) {
  testing::TempDir dir;
  auto ledger =
      std::move(Ledger::Open(dir / "l.db", true, [] { return int64_t{1767225600}; })).value();
  auto txn = std::move(ledger->Begin()).value();
  std::vector<Transfer> posted;
  ASSERT_TRUE(
      txn->Post("deposit", "d:1", {{"XFG", kWorldAccount, "0x1", 5, "", ""}}, &posted).ok());
  ASSERT_TRUE(txn->Commit().ok());
  ASSERT_EQ(posted.size(), 1u);
  EXPECT_EQ(posted[0].created, "2026-01-01T00:00:00Z");
  EXPECT_EQ(ledger->History()->at(0).created, "2026-01-01T00:00:00Z");
}

TEST(Settle, PaysPerByteRoundingDownAndStatesTheRest) {
  testing::TempDir dir;
  auto ledger = std::move(Ledger::Open(dir / "l.db")).value();
  Wallet listener = Wallet::Generate();
  std::string who = AddressToString(listener.address);
  Json receipt{
      {"schema", "digm.receipt/1"},
      {"root", std::string(64, 'a')},
      {"listener", who},
      {"started", "2026-11-22T10:00:00Z"},
      {"finished", "2026-11-22T10:01:00Z"},
      {"deliveries", Json::array({Json{{"node_id", "0x00000000000000000000000000000000000000b1"},
                                       {"url", "http://n1"},
                                       {"chunks", {0}},
                                       {"bytes", 1234567}},
                                  Json{{"node_id", "0x00000000000000000000000000000000000000b2"},
                                       {"url", "http://n2"},
                                       {"chunks", {1}},
                                       {"bytes", 999}}})}};
  SignDocument(receipt, listener);
  Asset xfg = *ParseAsset("XFG");
  auto txn = std::move(ledger->Begin()).value();
  ASSERT_TRUE(
      txn->Post("deposit", "d", {{"XFG", kWorldAccount, who, 100000000, "", ""}}, nullptr).ok());
  auto paid = SettleReceipt(*txn, receipt, xfg, 10000);  // 0.001 XFG per MB
  ASSERT_TRUE(paid.ok()) << paid.status().message();
  ASSERT_EQ(paid->size(), 2u);
  // 1234567 bytes × 10000 units / 1e6 = 12345.67 units: 12345 paid, 0.67 units stated.
  EXPECT_EQ((*paid)[0].spec.amount, 12345);
  EXPECT_EQ((*paid)[0].spec.rounding, "0.000000067");
  EXPECT_EQ((*paid)[1].spec.amount, 9);
  EXPECT_EQ((*paid)[1].spec.rounding, "0.000000099");
  EXPECT_TRUE(SettleReceipt(*txn, receipt, xfg, 10000)->empty());  // idempotent
  Json tampered = receipt;
  tampered["deliveries"][0]["bytes"] = 2234567;
  EXPECT_EQ(SettleReceipt(*txn, tampered, xfg, 10000).status().code(), Code::kIntegrity);
  ASSERT_TRUE(txn->Commit().ok());
  EXPECT_TRUE(ledger->Check().ok());
}

TEST(Settle, RefusesAmountsThatWouldWrapAndPaysNoUnprovenNode) {
  Wallet listener = Wallet::Generate();
  auto receipt_of = [&](Json deliveries) {
    Json r{{"schema", "digm.receipt/1"},
           {"root", std::string(64, 'a')},
           {"listener", AddressToString(listener.address)},
           {"started", "2026-11-22T10:00:00Z"},
           {"finished", "2026-11-22T10:01:00Z"},
           {"deliveries", std::move(deliveries)}};
    SignDocument(r, listener);
    return r;
  };
  Asset xfg = *ParseAsset("XFG");
  // 2^63 - 1 bytes at 1000 XFG per MB once wrapped around to 0.192 XFG.
  Json huge =
      receipt_of(Json::array({Json{{"node_id", "0x00000000000000000000000000000000000000b1"},
                                   {"url", "http://n1"},
                                   {"chunks", {0}},
                                   {"bytes", INT64_MAX}}}));
  auto specs = ReceiptPayments(huge, xfg, *ParseAmount("1000", xfg.decimals));
  EXPECT_EQ(specs.status().code(), Code::kBadInput);
  EXPECT_NE(specs.status().message().find("overflow"), std::string::npos)
      << specs.status().message();
  // A delivery from a node that proved no identity (node_id null) is not paid.
  Json anonymous = receipt_of(Json::array(
      {Json{{"node_id", nullptr}, {"url", "http://relay"}, {"chunks", {0}}, {"bytes", 1000000}},
       Json{{"node_id", "0x00000000000000000000000000000000000000b2"},
            {"url", "http://n2"},
            {"chunks", {1}},
            {"bytes", 1000000}}}));
  auto paid = ReceiptPayments(anonymous, xfg, 10000);
  ASSERT_TRUE(paid.ok()) << paid.status().message();
  ASSERT_EQ(paid->size(), 1u);
  EXPECT_EQ((*paid)[0].to, "0x00000000000000000000000000000000000000b2");
}

std::string Hex(const Bytes& b) { return HexEncode(b); }
Bytes Str(std::string_view s) { return Bytes(s.begin(), s.end()); }

// The examples of the Ethereum wiki's RLP page.
TEST(Rlp, EncodesThePublishedExamples) {
  EXPECT_EQ(Hex(evm::RlpBytes(Str("dog"))), "83646f67");
  EXPECT_EQ(Hex(evm::RlpList({evm::RlpBytes(Str("cat")), evm::RlpBytes(Str("dog"))})),
            "c88363617483646f67");
  EXPECT_EQ(Hex(evm::RlpBytes(Str(""))), "80");
  EXPECT_EQ(Hex(evm::RlpList({})), "c0");
  EXPECT_EQ(Hex(evm::RlpUint(0)), "80");
  EXPECT_EQ(Hex(evm::RlpBytes(Bytes{0x00})), "00");
  EXPECT_EQ(Hex(evm::RlpUint(15)), "0f");
  EXPECT_EQ(Hex(evm::RlpUint(1024)), "820400");
  // The set-theoretical representation of three: [ [], [[]], [ [], [[]] ] ].
  Bytes empty = evm::RlpList({});
  Bytes one = evm::RlpList({empty});
  EXPECT_EQ(Hex(evm::RlpList({empty, one, evm::RlpList({empty, one})})), "c7c0c1c0c3c0c1c0");
  std::string lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
  EXPECT_EQ(Hex(evm::RlpBytes(Str(lorem))), "b838" + HexEncode(Str(lorem)));
  Bytes big(1024, 0xaa);
  EXPECT_EQ(Hex(evm::RlpBytes(big)).substr(0, 6), "b90400");
}

TEST(Evm, QuantitiesAndWei) {
  EXPECT_EQ(evm::Quantity(0), "0x0");
  EXPECT_EQ(evm::Quantity(1024), "0x400");
  EXPECT_EQ(*evm::ParseQuantity("0x400"), evm::Wei{1024});
  EXPECT_EQ(*evm::ParseQuantity("0x0"), evm::Wei{0});
  for (const char* bad : {"", "0x", "400", "0xg1", "0x1000000000000000000000000000000000"}) {
    EXPECT_FALSE(evm::ParseQuantity(bad).ok()) << bad;
  }
  EXPECT_EQ(evm::Quantity(AsWei(1, 7)), "0x174876e800");            // 10^11 wei: the smallest XFG
  EXPECT_EQ(AsWei(10000000, 7), evm::Wei{1000000000000000000ull});  // 1 XFG is 10^18 wei
  EXPECT_EQ(AsWei(100000000, 8), evm::Wei{1000000000000000000ull});
  EXPECT_EQ(evm::IntrinsicGas({}), 21000u);
  EXPECT_EQ(evm::IntrinsicGas(Bytes{0, 1, 0, 2}), 21000u + 4 + 16 + 4 + 16);
}

// EIP-155's own example: nonce 9, 20 gwei, 21000 gas, 1 ether to 0x3535…35,
// chain id 1, secret key 0x4646…46.
TEST(Evm, SignsTheEip155Example) {
  evm::LegacyTx tx;
  tx.nonce = 9;
  tx.gas_price = 20000000000ull;
  tx.gas = 21000;
  tx.to.fill(0x35);
  tx.value = 1000000000000000000ull;
  EXPECT_EQ(
      Hex(evm::SigningPayload(tx, 1)),
      "ec098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a764000080018080");
  EXPECT_EQ(HexEncode(Keccak256(evm::SigningPayload(tx, 1))),
            "daf5a779ae972f972197303d7b574746c7ef83eadac0f2791ad23db92e4c8e53");
  std::array<uint8_t, 32> secret;
  secret.fill(0x46);
  Wallet w = *Wallet::FromSecret(secret);
  EXPECT_EQ(AddressToString(w.address), "0x9d8a62f656a8d1615c1294fd71e9cfb3e4855a4f");
  Bytes raw = evm::SignTx(tx, 1, w);
  EXPECT_EQ(Hex(raw),
            "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a7640000"
            "8025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f76"
            "1aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83");
}

}  // namespace
}  // namespace digm
