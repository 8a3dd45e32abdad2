#include "digm/media.h"

#include <taglib/aifffile.h>
#include <taglib/fileref.h>
#include <taglib/flacfile.h>
#include <taglib/mp4file.h>
#include <taglib/mpegfile.h>
#include <taglib/opusfile.h>
#include <taglib/tag.h>
#include <taglib/tdebuglistener.h>
#include <taglib/vorbisfile.h>
#include <taglib/wavfile.h>

#include <cstring>
#include <mutex>

namespace digm {
namespace {

// TagLib reports oddities of a file on stderr; our tools speak for themselves.
class SilentListener : public TagLib::DebugListener {
 public:
  void printMessage(const TagLib::String&) override {}
};

void SilenceTagLib() {
  static SilentListener listener;
  static std::once_flag once;
  std::call_once(once, [] { TagLib::setDebugListener(&listener); });
}

struct Kind {
  const char* format;
  const char* mime;
};

Kind KindOf(TagLib::File* f) {
  if (dynamic_cast<TagLib::MPEG::File*>(f)) return {"mp3", "audio/mpeg"};
  if (dynamic_cast<TagLib::FLAC::File*>(f)) return {"flac", "audio/flac"};
  if (dynamic_cast<TagLib::RIFF::WAV::File*>(f)) return {"wav", "audio/wav"};
  if (dynamic_cast<TagLib::Ogg::Vorbis::File*>(f)) return {"ogg", "audio/ogg"};
  if (dynamic_cast<TagLib::Ogg::Opus::File*>(f)) return {"opus", "audio/ogg"};
  if (dynamic_cast<TagLib::MP4::File*>(f)) return {"m4a", "audio/mp4"};
  if (dynamic_cast<TagLib::RIFF::AIFF::File*>(f)) return {"aiff", "audio/aiff"};
  return {nullptr, nullptr};
}

std::optional<std::string> TagString(const TagLib::String& s) {
  if (s.isEmpty()) return std::nullopt;
  return s.to8Bit(true);
}

bool StartsWith(std::span<const uint8_t> head, const char* magic, size_t offset = 0) {
  size_t n = std::strlen(magic);
  return head.size() >= offset + n && std::memcmp(head.data() + offset, magic, n) == 0;
}

}  // namespace

Media SniffMedia(std::span<const uint8_t> head) {
  Media m;
  auto set = [&](const char* format, const char* mime) {
    m.format = format;
    m.mime = mime;
  };
  if (StartsWith(head, "fLaC")) {
    set("flac", "audio/flac");
  } else if (StartsWith(head, "RIFF") && StartsWith(head, "WAVE", 8)) {
    set("wav", "audio/wav");
  } else if (StartsWith(head, "OggS")) {
    set("ogg", "audio/ogg");
  } else if (StartsWith(head, "ID3") ||
             (head.size() >= 2 && head[0] == 0xff && (head[1] & 0xe0) == 0xe0)) {
    set("mp3", "audio/mpeg");
  } else if (StartsWith(head, "ftyp", 4)) {
    set("m4a", "audio/mp4");
  } else if (StartsWith(head, "FORM") && StartsWith(head, "AIFF", 8)) {
    set("aiff", "audio/aiff");
  } else {
    m.mime = "application/octet-stream";
  }
  return m;
}

Media ProbeMedia(const std::string& path) {
  SilenceTagLib();
  Media m;
  TagLib::FileRef ref(path.c_str(), true, TagLib::AudioProperties::Accurate);
  if (ref.isNull()) {
    // Not audio TagLib knows: fall back to the first bytes.
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return m;
    uint8_t head[16];
    size_t n = std::fread(head, 1, sizeof head, f);
    std::fclose(f);
    return SniffMedia(std::span(head, n));
  }
  Kind kind = KindOf(ref.file());
  if (kind.format) {
    m.format = kind.format;
    m.mime = kind.mime;
  }
  if (const TagLib::AudioProperties* p = ref.audioProperties()) {
    if (p->lengthInMilliseconds() > 0) m.duration = p->lengthInMilliseconds() / 1000.0;
    if (p->bitrate() > 0) m.bitrate = p->bitrate();
    if (p->sampleRate() > 0) m.sample_rate = p->sampleRate();
    if (p->channels() > 0) m.channels = p->channels();
  }
  if (const TagLib::Tag* t = ref.tag()) {
    m.title = TagString(t->title());
    m.artist = TagString(t->artist());
    m.album = TagString(t->album());
  }
  // TagLib 1.x gives a WAV file's ID3v2 tag only; most tools write the RIFF
  // INFO chunk (INAM, IART, IPRD) instead, which fills what ID3v2 lacks.
  if (auto* wav = dynamic_cast<TagLib::RIFF::WAV::File*>(ref.file()); wav && wav->hasInfoTag()) {
    const TagLib::RIFF::Info::Tag* info = wav->InfoTag();
    if (!m.title) m.title = TagString(info->title());
    if (!m.artist) m.artist = TagString(info->artist());
    if (!m.album) m.album = TagString(info->album());
  }
  return m;
}

}  // namespace digm
