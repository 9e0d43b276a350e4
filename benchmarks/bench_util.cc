#include "bench_util.h"

#include <sys/statvfs.h>
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_format.h"

namespace traversion::bench {
namespace {

BenchFlags g_flags;

bool TakeValue(const char* arg, const char* name, std::string* out) {
  size_t n = std::strlen(name);
  if (std::strncmp(arg, name, n) != 0 || arg[n] != '=') return false;
  *out = arg + n + 1;
  return true;
}

}  // namespace

BenchFlags ParseBenchFlags(int* argc, char** argv) {
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const char* arg = argv[i];
    if (std::strcmp(arg, "--quick") == 0) {
      g_flags.quick = true;
    } else if (TakeValue(arg, "--summary_out", &g_flags.summary_out) ||
               TakeValue(arg, "--work_dir", &g_flags.work_dir) ||
               TakeValue(arg, "--cache_dir", &g_flags.cache_dir)) {
    } else {
      argv[kept++] = argv[i];
    }
  }
  *argc = kept;
  if (g_flags.work_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    g_flags.work_dir = (tmp && *tmp) ? tmp : "/tmp";
  }
  if (!MakeDirs(g_flags.work_dir)) {
    std::fprintf(stderr, "cannot create --work_dir %s\n",
                 g_flags.work_dir.c_str());
    std::exit(2);
  }
  if (g_flags.cache_dir.empty()) g_flags.cache_dir = g_flags.work_dir;
  return g_flags;
}

const BenchFlags& Flags() { return g_flags; }

void Report(const std::string& key, double value) {
  std::printf("summary %s: %.6g\n", key.c_str(), value);
  std::fflush(stdout);
  if (g_flags.summary_out.empty()) return;
  std::ofstream out(g_flags.summary_out, std::ios::app);
  out << key << " " << absl::StrFormat("%.17g", value) << "\n";
}

double Percentile(std::vector<double>& samples, double p) {
  if (samples.empty()) return 0;
  std::sort(samples.begin(), samples.end());
  // Nearest rank: the smallest sample with at least p % of samples <= it.
  size_t rank = static_cast<size_t>(
      std::ceil(p / 100.0 * static_cast<double>(samples.size())));
  rank = std::clamp<size_t>(rank, 1, samples.size());
  return samples[rank - 1];
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) +
         static_cast<double>(ts.tv_nsec) * 1e-9;
}

TempDir::TempDir(const std::string& name) {
  std::string pattern = Flags().work_dir + "/" + name + ".XXXXXX";
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    std::perror(pattern.c_str());
    std::exit(2);
  }
  path_ = buf.data();
}

TempDir::~TempDir() { RemoveTree(path_); }

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

bool MakeDirs(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  return std::filesystem::is_directory(path, ec);
}

uint64_t FileSize(const std::string& path) {
  std::error_code ec;
  auto size = std::filesystem::file_size(path, ec);
  return ec ? 0 : static_cast<uint64_t>(size);
}

uint64_t FreeBytes(const std::string& path) {
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) != 0) return 0;
  return static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
}

uint64_t WrittenBytes() {
  const std::string io = ReadFileOrEmpty("/proc/self/io");
  const size_t at = io.find("wchar: ");
  if (at == std::string::npos) return 0;
  return std::strtoull(io.c_str() + at + 7, nullptr, 10);
}

bool FileExists(const std::string& path) {
  std::error_code ec;
  return std::filesystem::exists(path, ec);
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::trunc);
  out << contents;
  return static_cast<bool>(out);
}

}  // namespace traversion::bench
