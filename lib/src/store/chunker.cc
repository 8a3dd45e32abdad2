#include "digm/chunker.h"

#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <cmath>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "digm/file.h"
#include "digm/media.h"

namespace digm {
namespace {

// One chunk in flight: read into `buf` by the reader, turned into its stored
// form in place by a worker.
struct Job {
  uint64_t index = 0;
  Bytes buf;     // capacity chunk_size + tag
  size_t n = 0;  // plaintext bytes read
  ChunkRef ref;
  Status status;
  bool done = false;
};

// Per-worker state: cipher contexts, hasher, compressor and scratch space.
class Worker {
 public:
  Worker(const ChunkOptions& o, const Encryption* enc) : o_(o), enc_(enc) {
    if (o.key) main_.emplace(o.key->key);
    if (enc && enc->preview_chunks > 0) preview_.emplace(enc->preview_key);
    if (o.compress) {
      cctx_ = ZSTD_createCCtx();
      scratch_.resize(ZSTD_compressBound(o.chunk_size));
    }
  }
  ~Worker() { ZSTD_freeCCtx(cctx_); }

  void Process(Job& job) {
    std::span<uint8_t> plain(job.buf.data(), job.n);
    std::span<const uint8_t> payload = plain;  // what gets encrypted or stored
    bool z = false;
    if (cctx_) {
      size_t c = ZSTD_compressCCtx(cctx_, scratch_.data(), scratch_.size(), plain.data(),
                                   plain.size(), o_.compress_level);
      if (!ZSTD_isError(c) && KeepCompressed(c, plain.size())) {
        z = true;
        payload = std::span<const uint8_t>(scratch_.data(), c);
      }
    }
    size_t stored_size = payload.size();
    if (main_) {
      Aes256Gcm& gcm = InPreview(*enc_, job.index) ? *preview_ : *main_;
      auto aad = ChunkAad(job.index, job.n, z);
      gcm.Seal(ChunkNonce(enc_->nonce_prefix, job.index), aad, payload,
               std::span(job.buf.data(), payload.size() + kGcmTagSize));
      stored_size += kGcmTagSize;
    } else if (z) {
      std::memcpy(job.buf.data(), payload.data(), payload.size());
    }
    std::span<const uint8_t> stored(job.buf.data(), stored_size);
    job.ref = ChunkRef{hasher_.Digest(stored), stored_size, job.n, z};
    if (o_.store) job.status = o_.store->Put(job.ref.hash, stored);
  }

 private:
  const ChunkOptions& o_;
  const Encryption* enc_;
  std::optional<Aes256Gcm> main_, preview_;
  Sha256Hasher hasher_;
  ZSTD_CCtx* cctx_ = nullptr;
  Bytes scratch_;
};

class Pipeline {
 public:
  Pipeline(const ChunkOptions& o, const Encryption* enc)
      : o_(o), enc_(enc), jobs_(2 * std::max(o.threads, 1) + 2) {
    for (Job& j : jobs_) j.buf.resize(o.chunk_size + kGcmTagSize);
    // The calling thread is one of `threads`: it reads, hashes the whole
    // input, and works on chunks too whenever it would otherwise wait.
    for (int i = 1; i < o.threads; ++i) {
      threads_.emplace_back([this] { Run(); });
    }
  }

  ~Pipeline() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    work_cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

  // Reads the stream, hands chunks to the workers, and appends the results
  // to `chunks` in order.
  Status Drive(int fd, Sha256Hasher& source, uint64_t* size, std::vector<ChunkRef>* chunks) {
    const size_t k = jobs_.size();
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) total_ = static_cast<uint64_t>(st.st_size);
    uint64_t next_read = 0, next_collect = 0;
    bool eof = false;
    for (;;) {
      while (!eof && next_read - next_collect < k) {
        Job& job = jobs_[next_read % k];
        auto n = ReadFull(fd, std::span(job.buf.data(), o_.chunk_size));
        if (!n.ok()) return n.status();
        if (*n == 0) {
          eof = true;
          break;
        }
        if (next_read == 0)
          head_.assign(job.buf.begin(), job.buf.begin() + std::min<size_t>(*n, 64));
        source.Update(std::span(job.buf.data(), *n));
        *size += *n;
        if (o_.progress) o_.progress(*size, total_);
        job.index = next_read++;
        job.n = *n;
        job.done = false;
        job.status = Status::Ok();
        {
          std::lock_guard<std::mutex> lock(mu_);
          queue_.push_back(&job);
        }
        work_cv_.notify_one();
        if (*n < o_.chunk_size) eof = true;
      }
      if (next_collect == next_read) return Status::Ok();
      Job& job = jobs_[next_collect % k];
      for (;;) {
        Job* mine = nullptr;
        {
          std::unique_lock<std::mutex> lock(mu_);
          if (job.done) break;
          if (queue_.empty()) {
            done_cv_.wait(lock, [&] { return job.done; });
            break;
          }
          mine = queue_.front();
          queue_.pop_front();
        }
        if (!reader_worker_) reader_worker_.emplace(o_, enc_);
        reader_worker_->Process(*mine);
        std::lock_guard<std::mutex> lock(mu_);
        mine->done = true;
      }
      if (!job.status.ok()) return job.status;
      chunks->push_back(job.ref);
      ++next_collect;
    }
  }

  const Bytes& head() const { return head_; }

 private:
  void Run() {
    Worker worker(o_, enc_);
    for (;;) {
      Job* job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        work_cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
        if (stop_) return;
        job = queue_.front();
        queue_.pop_front();
      }
      worker.Process(*job);
      {
        std::lock_guard<std::mutex> lock(mu_);
        job->done = true;
      }
      done_cv_.notify_all();
    }
  }

  const ChunkOptions& o_;
  const Encryption* enc_;
  std::vector<Job> jobs_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Job*> queue_;
  bool stop_ = false;
  uint64_t total_ = 0;                   // the input's size, when it is a regular file
  std::optional<Worker> reader_worker_;  // the calling thread's, made when first needed
  Bytes head_;                           // the stream's first bytes, for format sniffing
};

}  // namespace

uint64_t PreviewChunkCount(double seconds, double duration, uint64_t size, uint64_t chunk_size) {
  uint64_t total = size == 0 ? 0 : (size - 1) / chunk_size + 1;
  if (seconds <= 0 || total == 0) return 0;
  if (seconds >= duration) return total;
  double bytes = std::ceil(seconds / duration * static_cast<double>(size));
  uint64_t n = static_cast<uint64_t>(std::ceil(bytes / static_cast<double>(chunk_size)));
  return std::clamp<uint64_t>(n, 1, total);
}

Result<Manifest> ChunkStream(int fd, const ChunkOptions& options) {
  DIGM_RETURN_IF_ERROR(CheckChunkSize(options.chunk_size));
  Manifest m;
  m.chunk_size = options.chunk_size;
  if (options.key) {
    Encryption e;
    e.key_id = options.key->id;
    RandomBytes(e.nonce_prefix);
    if (options.preview_chunks > 0) {
      e.preview_chunks = options.preview_chunks;
      RandomBytes(e.preview_key);
    }
    m.encryption = e;
  }
  Sha256Hasher source;
  {
    Pipeline pipeline(options, m.encryption ? &*m.encryption : nullptr);
    DIGM_RETURN_IF_ERROR(pipeline.Drive(fd, source, &m.size, &m.chunks));
    if (m.size > 0) m.media = SniffMedia(pipeline.head());
  }
  m.source_sha256 = source.Final();
  if (m.encryption) {
    m.encryption->preview_chunks =
        std::min<uint64_t>(m.encryption->preview_chunks, m.chunks.size());
    if (m.encryption->preview_chunks == 0) m.encryption->preview_key = {};
  }
  return m;
}

Result<Manifest> ChunkFile(const std::string& path, ChunkOptions options, double preview_seconds) {
  const std::string label = path == "-" ? "stdin" : "'" + path + "'";
  DIGM_ASSIGN_OR_RETURN(int fd, OpenInput(path));
  struct FdCloser {
    int fd;
    ~FdCloser() {
      if (fd != 0) close(fd);
    }
  } closer{fd};
  struct stat st;
  const bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  std::optional<Media> media;
  if (regular) media = ProbeMedia(path == "-" ? "/dev/stdin" : path);
  if (preview_seconds > 0) {
    if (!media || !media->duration) {
      return Status::BadInput("a preview needs the track's duration, which is unknown for " +
                              label);
    }
    options.preview_chunks = PreviewChunkCount(
        preview_seconds, *media->duration, static_cast<uint64_t>(st.st_size), options.chunk_size);
  }
  auto manifest = ChunkStream(fd, options);
  if (!manifest.ok()) return manifest.status().Context("chunking " + label);
  if (media) manifest->media = *media;
  if (path != "-") manifest->source_name = path.substr(path.find_last_of('/') + 1);
  if (options.store) DIGM_RETURN_IF_ERROR(options.store->Sync());
  return manifest;
}

}  // namespace digm
