// The DHT component on real libtorrent sessions, all on 127.0.0.1: a private
// DHT of two nodes, a read-only lookup, the announcement lifetime, and the
// saved state.
#include "digm/dht.h"

#include <sys/stat.h>

#include <thread>

#include "digm/http.h"
#include "test_util.h"

namespace digm {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Hash256 Root(uint8_t fill) {
  Hash256 h{};
  h.fill(fill);
  return h;
}

std::unique_ptr<Dht> StartOrDie(const DhtOptions& o) {
  auto d = Dht::Start(o);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? std::move(*d) : nullptr;
}

DhtOptions Loopback(std::vector<std::string> bootstrap, int ttl_s = 2700) {
  DhtOptions o;
  o.listen = "127.0.0.1:0";
  o.bootstrap = std::move(bootstrap);
  o.peer_ttl_s = ttl_s;
  return o;
}

TEST(HostPort, Parses) {
  auto v4 = ParseHostPort("127.0.0.1:6881");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 6881);
  auto v6 = ParseHostPort("[::1]:0", /*any_port=*/true);
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  EXPECT_EQ(ParseHostPort("router.example.org:25401")->host, "router.example.org");
  for (const char* bad :
       {"nohost", ":6881", "host:", "host:0", "host:65536", "host:12x", "host:-1"}) {
    auto r = ParseHostPort(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kBadInput) << bad;
  }
  EXPECT_EQ(ParseHostPort("nohost").status().message(), "'nohost': expected HOST:PORT");
  EXPECT_EQ(ParseHostPort("host:99999", true).status().message(), "'host:99999': bad port");
}

TEST(Dht, DefaultListenFollowsTheBootstrapNodes) {
  EXPECT_EQ(DefaultDhtListen({}, 6881), "0.0.0.0:6881");
  EXPECT_EQ(DefaultDhtListen({"none"}, 6881), "0.0.0.0:6881");
  EXPECT_EQ(DefaultDhtListen({"127.0.0.1:6881", "127.0.0.2:7000"}, 0), "127.0.0.1:0");
  EXPECT_EQ(DefaultDhtListen({"[::1]:6881"}, 0), "[::1]:0");
  EXPECT_EQ(DefaultDhtListen({"127.0.0.1:6881", "dht.example.org:6881"}, 6881), "0.0.0.0:6881");
}

TEST(Dht, OptionsAreChecked) {
  DhtOptions o;
  EXPECT_TRUE(CheckDhtOptions(o).ok());
  o.bootstrap = {"none"};
  EXPECT_TRUE(CheckDhtOptions(o).ok());
  o.bootstrap = {"127.0.0.1:6881", "host-without-port"};
  EXPECT_EQ(CheckDhtOptions(o).code(), Code::kBadInput);
  o.bootstrap = {"127.0.0.1:0"};
  EXPECT_EQ(CheckDhtOptions(o).code(), Code::kBadInput);
  o.bootstrap = {};
  o.listen = "127.0.0.1:70000";
  EXPECT_EQ(CheckDhtOptions(o).code(), Code::kBadInput);
  o.listen = "127.0.0.1:0";
  EXPECT_TRUE(CheckDhtOptions(o).ok());
}

TEST(Dht, ATakenPortIsANetworkError) {
  auto first = StartOrDie(Loopback({"none"}));
  ASSERT_TRUE(first);
  DhtOptions o = Loopback({"none"});
  o.listen = first->endpoint();
  auto second = Dht::Start(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kNetwork);
}

TEST(Dht, AnnouncedRootIsFoundByAReadOnlyLookupAndExpires) {
  auto boot = StartOrDie(Loopback({"none"}, /*ttl_s=*/2));
  ASSERT_TRUE(boot);
  auto holder = StartOrDie(Loopback({boot->endpoint()}, 2));
  ASSERT_TRUE(holder);
  for (int i = 0; i < 100 && holder->RoutingTableSize() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  ASSERT_GT(holder->RoutingTableSize(), 0u);
  holder->Announce(Root(0xab), 4242);

  DhtOptions reader = Loopback({boot->endpoint()});
  reader.read_only = true;
  auto lookup = StartOrDie(reader);
  ASSERT_TRUE(lookup);
  milliseconds first{-1};
  auto found = lookup->FindPeers(Root(0xab), seconds(10), milliseconds(300), &first);
  ASSERT_EQ(found, std::vector<std::string>{"http://127.0.0.1:4242"});
  EXPECT_GE(first.count(), 0);
  // Another root, announced by nobody, finds nothing.
  EXPECT_TRUE(lookup->FindPeers(Root(0xcd), seconds(1)).empty());
  // The read-only node stays out of the others' routing tables.
  EXPECT_EQ(boot->RoutingTableSize(), 1u);

  // No longer announced: gone once the 2-second lifetime has passed.
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_TRUE(lookup->FindPeers(Root(0xab), seconds(2)).empty());
}

TEST(Dht, StateIsSavedPrivatelyAndKeepsTheRoutingTable) {
  testing::TempDir dir;
  auto boot = StartOrDie(Loopback({"none"}));
  ASSERT_TRUE(boot);
  DhtOptions o = Loopback({boot->endpoint()});
  o.state_file = dir / "dht.state";
  {
    auto node = StartOrDie(o);
    ASSERT_TRUE(node);
    for (int i = 0; i < 100 && node->RoutingTableSize() == 0; ++i)
      std::this_thread::sleep_for(milliseconds(50));
    ASSERT_GT(node->RoutingTableSize(), 0u);
  }  // saved on destruction
  struct stat st {};
  ASSERT_EQ(stat(o.state_file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Restarted with no bootstrap node, it starts from the saved table.
  o.bootstrap = {"none"};
  auto again = StartOrDie(o);
  ASSERT_TRUE(again);
  for (int i = 0; i < 100 && again->RoutingTableSize() == 0; ++i)
    std::this_thread::sleep_for(milliseconds(50));
  EXPECT_GT(again->RoutingTableSize(), 0u);
}

}  // namespace
}  // namespace digm
