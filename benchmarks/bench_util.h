// Plumbing shared by the benchmark binaries: their own flags (parsed before
// Google Benchmark sees argv), the summary file that benchmarks/run turns
// into the final report, latency percentiles, and scratch directories.
//
// Thread safety: benchmarks run on one thread; none of this is thread-safe.
#ifndef TRAVERSION_BENCHMARKS_BENCH_UTIL_H_
#define TRAVERSION_BENCHMARKS_BENCH_UTIL_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace traversion::bench {

struct BenchFlags {
  // Sizes scaled down ~100x: a smoke run for CI.
  bool quick = false;
  // Where `key value` lines are appended; empty: only printed.
  std::string summary_out;
  // Scratch space for stores built and deleted by this run.
  std::string work_dir;
  // Where the large query stores are kept between runs; empty: work_dir
  // (rebuilt every run).
  std::string cache_dir;
};

// Removes our --quick, --summary_out=, --work_dir=, --cache_dir= from argv
// (the rest goes to Google Benchmark). Exits with a message on a bad flag.
BenchFlags ParseBenchFlags(int* argc, char** argv);
const BenchFlags& Flags();

// Records one figure for the summary; written to Flags().summary_out as
// `key value` and echoed to stdout as `summary key: value`.
void Report(const std::string& key, double value);

// Nearest-rank percentile of `samples` (sorted in place); 0 if empty.
double Percentile(std::vector<double>& samples, double p);

using SteadyClock = std::chrono::steady_clock;
inline double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}
inline double MicrosSince(SteadyClock::time_point start) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - start)
      .count();
}

// CPU time of the whole process (user + system), in seconds.
double ProcessCpuSeconds();

// A fresh directory `work_dir/name.XXXXXX`, removed with its contents by the
// destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void RemoveTree(const std::string& path);
bool MakeDirs(const std::string& path);
// Size of a file in bytes; 0 if absent.
uint64_t FileSize(const std::string& path);
// Bytes available to us on the file system holding `path`.
uint64_t FreeBytes(const std::string& path);
bool FileExists(const std::string& path);
// Bytes this process has passed to write(2) and pwrite(2) so far
// (/proc/self/io wchar). LMDB writes each dirty page at commit, so the delta
// over a run measures write amplification.
uint64_t WrittenBytes();
std::string ReadFileOrEmpty(const std::string& path);
bool WriteFile(const std::string& path, const std::string& contents);

}  // namespace traversion::bench

#endif  // TRAVERSION_BENCHMARKS_BENCH_UTIL_H_
