// Media metadata through TagLib: format, MIME type, duration, bitrate, sample
// rate, channels and the title/artist/album tags. A file TagLib cannot read
// still gets a MIME type guessed from its first bytes. Thread-compatible.
#pragma once

#include <span>
#include <string>

#include "digm/manifest.h"

namespace digm {

// Reads what can be learned from the file at `path` (a path, or /dev/stdin
// when stdin is a regular file). Never fails: unknown fields stay empty.
Media ProbeMedia(const std::string& path);

// Guesses format and MIME type from the first bytes of a stream.
Media SniffMedia(std::span<const uint8_t> head);

}  // namespace digm
