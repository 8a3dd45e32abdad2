// A libtorrent session plugin that turns Nagle's algorithm off on every
// BitTorrent TCP connection. libtorrent leaves it on; with a short request
// queue (a download starting, or wanting pieces again) each reply then waits
// for the other end's delayed ACK, 40 ms on Linux, and a loopback transfer
// runs at a few hundred KiB/s until its rate is measured. Only the
// BitTorrent translation units include this.
#pragma once

#include <libtorrent/extensions.hpp>
#include <memory>

namespace digm::bt {

std::shared_ptr<lt::plugin> NoDelayPlugin();

}  // namespace digm::bt
