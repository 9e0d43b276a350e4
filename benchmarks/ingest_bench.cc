// Sustained durable ingest: our Store against SQLite and raw LMDB doing the
// same work on the same events in the same run.
//
// Every contender gets the identical deterministic event stream
// (ServiceWorkload), generated — and for the peers serialized with
// EventToBinary — outside the timed region, one segment at a time. The timed
// region is only the writes: batches of 1000 events, one durable commit per
// batch. The peers store bytes already serialized, so they do strictly less
// work than our Store, which encodes, validates and indexes inside Write().
#include <fcntl.h>
#include <lmdb.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "bench_util.h"
#include "benchmark/benchmark.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"
#include "workload.h"

namespace traversion::bench {
namespace {

constexpr size_t kBatch = 1000;
constexpr uint64_t kSeed = 42;

struct IngestSize {
  size_t events;
  size_t segment;  // events generated per untimed step
};

IngestSize Size() {
  if (Flags().quick) return {30'000, 10'000};
  return {2'000'000, 250'000};
}

// The contract each contender implements: Prepare() is untimed, Write() of
// one batch [begin, end) of the prepared segment is timed.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual std::string Open(const std::string& dir) = 0;  // "" or an error
  virtual std::string Prepare(const std::vector<Event>& events) = 0;
  virtual std::string Write(const std::vector<Event>& events, size_t begin,
                            size_t end) = 0;
  // Called after the timed run; reports size figures.
  virtual void Finish(uint64_t events) = 0;
};

// Drives one contender over the whole stream and reports, under `key`,
// events/s of the timed writes, and under `prefix`.* the bytes written and
// the CPU time spent per event (the rest of the wall time is waiting for the
// disk).
void RunIngest(benchmark::State& state, Sink& sink, const std::string& name,
               const std::string& key, const std::string& prefix) {
  const IngestSize size = Size();
  TempDir dir(name);
  if (std::string error = sink.Open(dir.path()); !error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  // Start every contender with no dirty pages left by the previous one (the
  // kernel's write-back of a peer's gigabytes would otherwise slow the next).
  sync();
  ServiceWorkload workload(kSeed);
  std::vector<Event> events;
  double timed_s = 0;
  double cpu_s = 0;
  uint64_t written = 0;
  std::string error;
  const uint64_t written_before = WrittenBytes();
  for (auto _ : state) {
    state.PauseTiming();
    workload.Next(size.segment, &events);
    error = sink.Prepare(events);
    state.ResumeTiming();
    if (!error.empty()) break;
    const auto start = SteadyClock::now();
    const double cpu_start = ProcessCpuSeconds();
    for (size_t begin = 0; begin < events.size() && error.empty();
         begin += kBatch) {
      error =
          sink.Write(events, begin, std::min(events.size(), begin + kBatch));
    }
    timed_s += SecondsSince(start);
    cpu_s += ProcessCpuSeconds() - cpu_start;
    if (!error.empty()) break;
    written += events.size();
  }
  if (!error.empty()) {
    state.SkipWithError(error.c_str());
    return;
  }
  const double write_bytes =
      static_cast<double>(WrittenBytes() - written_before);
  const double rate = static_cast<double>(written) / timed_s;
  state.counters["events"] = static_cast<double>(written);
  state.counters["events_per_s"] = rate;
  state.counters["batch_commit_us"] =
      timed_s * 1e6 / (static_cast<double>(written) / kBatch);
  state.counters["write_bytes_per_event"] =
      write_bytes / static_cast<double>(written);
  Report(key, rate);
  Report(prefix + ".write_bytes_per_event",
         write_bytes / static_cast<double>(written));
  Report(prefix + ".cpu_us_per_event",
         cpu_s * 1e6 / static_cast<double>(written));
  sink.Finish(written);
}

benchmark::internal::Benchmark* Configure(benchmark::internal::Benchmark* b) {
  const IngestSize size = Size();
  return b->Iterations(static_cast<int64_t>(size.events / size.segment))
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

// --- our Store ---------------------------------------------------------------

class TraversionSink : public Sink {
 public:
  explicit TraversionSink(SyncMode sync, std::string key)
      : sync_(sync), key_(std::move(key)) {}

  std::string Open(const std::string& dir) override {
    StoreOptions options;
    options.sync = sync_;
    path_ = dir + "/store";
    auto store = Store::Open(path_, options);
    if (!store.ok()) return std::string(store.status().message());
    store_ = std::move(*store);
    return "";
  }
  std::string Prepare(const std::vector<Event>&) override { return ""; }
  std::string Write(const std::vector<Event>& events, size_t begin,
                    size_t end) override {
    auto result =
        store_->Write(absl::MakeConstSpan(events.data() + begin, end - begin));
    if (!result.ok()) return std::string(result.status().ToString());
    if (result->written != end - begin) {
      return absl::StrCat("Store::Write stored ", result->written, " of ",
                          end - begin, " events");
    }
    return "";
  }
  void Finish(uint64_t events) override {
    if (key_ != "ingest") return;
    auto stats = store_->Stats();
    double n = static_cast<double>(events);
    Report("disk.bytes_per_event",
           static_cast<double>(FileSize(path_ + "/data.mdb")) / n);
    if (stats.ok()) {
      Report("disk.live_bytes_per_event",
             static_cast<double>(stats->live_bytes) / n);
      Report("store.format_version", stats->format_version);
    }
  }

 private:
  SyncMode sync_;
  std::string key_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

void BM_Ingest_Traversion_Durable(benchmark::State& state) {
  TraversionSink sink(SyncMode::kDurable, "ingest");
  RunIngest(state, sink, "traversion", "ingest.events_per_s", "ingest");
}

void BM_Ingest_Traversion_NoSync(benchmark::State& state) {
  TraversionSink sink(SyncMode::kNoSync, "nosync");
  RunIngest(state, sink, "traversion-nosync", "ingest.nosync_events_per_s",
            "ingest_nosync");
}

// --- raw LMDB: one env, one DB, MDB_APPEND of the serialized bytes
// ------------

class LmdbRawSink : public Sink {
 public:
  ~LmdbRawSink() override {
    if (env_ != nullptr) mdb_env_close(env_);
  }
  std::string Open(const std::string& dir) override {
    dir_ = dir;
    int rc = mdb_env_create(&env_);
    if (rc == 0) rc = mdb_env_set_mapsize(env_, size_t{64} << 30);
    // Default flags: every commit is fsynced, as our kDurable.
    if (rc == 0) rc = mdb_env_open(env_, dir.c_str(), 0, 0600);
    if (rc != 0) return absl::StrCat("lmdb open: ", mdb_strerror(rc));
    MDB_txn* txn = nullptr;
    rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi_);
    if (rc == 0) rc = mdb_txn_commit(txn);
    if (rc != 0) return absl::StrCat("lmdb dbi: ", mdb_strerror(rc));
    return "";
  }
  std::string Prepare(const std::vector<Event>& events) override {
    keys_.resize(events.size());
    values_.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      keys_[i] = events[i].id.ToBytes();
      values_[i] = EventToBinary(events[i]);
    }
    return "";
  }
  std::string Write(const std::vector<Event>&, size_t begin,
                    size_t end) override {
    MDB_txn* txn = nullptr;
    int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
    if (rc != 0) return absl::StrCat("lmdb begin: ", mdb_strerror(rc));
    for (size_t i = begin; i < end && rc == 0; ++i) {
      MDB_val key{keys_[i].size(), keys_[i].data()};
      MDB_val value{values_[i].size(), values_[i].data()};
      rc = mdb_put(txn, dbi_, &key, &value, MDB_APPEND);
    }
    if (rc != 0) {
      mdb_txn_abort(txn);
      return absl::StrCat("lmdb put: ", mdb_strerror(rc));
    }
    rc = mdb_txn_commit(txn);
    if (rc != 0) return absl::StrCat("lmdb commit: ", mdb_strerror(rc));
    return "";
  }
  void Finish(uint64_t events) override {
    Report("lmdb_raw.bytes_per_event",
           static_cast<double>(FileSize(dir_ + "/data.mdb")) /
               static_cast<double>(events));
  }

 private:
  std::string dir_;
  MDB_env* env_ = nullptr;
  MDB_dbi dbi_ = 0;
  std::vector<std::array<uint8_t, 16>> keys_;
  std::vector<std::string> values_;
};

void BM_Ingest_LmdbRaw(benchmark::State& state) {
  LmdbRawSink sink;
  RunIngest(state, sink, "lmdb-raw", "lmdb_raw.puts_per_s", "lmdb_raw");
}

// --- SQLite: WAL, prepared statements, one transaction per batch -------------

class SqliteSink : public Sink {
 public:
  SqliteSink(const char* synchronous, std::string key)
      : synchronous_(synchronous), key_(std::move(key)) {}
  ~SqliteSink() override {
    for (sqlite3_stmt* stmt : {insert_, begin_, commit_}) {
      if (stmt != nullptr) sqlite3_finalize(stmt);
    }
    if (db_ != nullptr) sqlite3_close(db_);
  }

  std::string Open(const std::string& dir) override {
    path_ = dir + "/events.db";
    if (sqlite3_open(path_.c_str(), &db_) != SQLITE_OK) return Error("open");
    // The peer gets its best reasonable configuration: WAL, a 256 MiB page
    // cache (our store uses the OS page cache through its memory map), and
    // the synchronous level under test (FULL matches our kDurable).
    std::string setup = absl::StrCat(
        "PRAGMA journal_mode=WAL;"
        "PRAGMA synchronous=",
        synchronous_,
        ";"
        "PRAGMA cache_size=-262144;"
        "CREATE TABLE events(id BLOB PRIMARY KEY, ts INTEGER, service TEXT,"
        " type INTEGER, severity INTEGER, trace_id BLOB, payload BLOB);"
        "CREATE INDEX events_trace ON events(trace_id);"
        "CREATE INDEX events_service_type ON events(service, type, ts);"
        "CREATE INDEX events_service_severity ON events(service, severity,"
        " ts);");
    if (sqlite3_exec(db_, setup.c_str(), nullptr, nullptr, nullptr) !=
        SQLITE_OK) {
      return Error("schema");
    }
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO events(id, ts, service, type, "
                           "severity, trace_id, payload) VALUES(?,?,?,?,?,?,?)",
                           -1, &insert_, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "BEGIN", -1, &begin_, nullptr) != SQLITE_OK ||
        sqlite3_prepare_v2(db_, "COMMIT", -1, &commit_, nullptr) != SQLITE_OK) {
      return Error("prepare");
    }
    return "";
  }

  std::string Prepare(const std::vector<Event>& events) override {
    rows_.resize(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      const Event& e = events[i];
      Row& row = rows_[i];
      row.id = e.id.ToBytes();
      row.ts = static_cast<int64_t>(e.time_ns);
      row.service = e.service.name;
      row.type = static_cast<int>(e.effective_type());
      row.severity = static_cast<int>(e.severity);
      row.has_trace = e.trace.has_trace();
      row.trace_id = e.trace.trace_id;
      row.payload = EventToBinary(e);
    }
    return "";
  }

  std::string Write(const std::vector<Event>&, size_t begin,
                    size_t end) override {
    if (Step(begin_) != SQLITE_DONE) return Error("begin");
    for (size_t i = begin; i < end; ++i) {
      const Row& row = rows_[i];
      sqlite3_bind_blob(insert_, 1, row.id.data(), 16, SQLITE_STATIC);
      sqlite3_bind_int64(insert_, 2, row.ts);
      sqlite3_bind_text(insert_, 3, row.service.data(),
                        static_cast<int>(row.service.size()), SQLITE_STATIC);
      sqlite3_bind_int(insert_, 4, row.type);
      sqlite3_bind_int(insert_, 5, row.severity);
      if (row.has_trace) {
        sqlite3_bind_blob(insert_, 6, row.trace_id.data(), 16, SQLITE_STATIC);
      } else {
        sqlite3_bind_null(insert_, 6);
      }
      sqlite3_bind_blob(insert_, 7, row.payload.data(),
                        static_cast<int>(row.payload.size()), SQLITE_STATIC);
      if (Step(insert_) != SQLITE_DONE) {
        std::string error = Error("insert");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return error;
      }
    }
    if (Step(commit_) != SQLITE_DONE) return Error("commit");
    return "";
  }

  void Finish(uint64_t events) override {
    double bytes =
        static_cast<double>(FileSize(path_) + FileSize(path_ + "-wal"));
    Report(key_ + ".bytes_per_event", bytes / static_cast<double>(events));
  }

 private:
  struct Row {
    std::array<uint8_t, 16> id;
    int64_t ts;
    std::string service;
    int type;
    int severity;
    bool has_trace;
    TraceId trace_id;
    std::string payload;
  };

  int Step(sqlite3_stmt* stmt) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc;
  }
  std::string Error(const char* what) {
    return absl::StrCat("sqlite ", what, ": ", sqlite3_errmsg(db_));
  }

  const char* synchronous_;
  std::string key_;
  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
  std::vector<Row> rows_;
};

void BM_Ingest_Sqlite_Full(benchmark::State& state) {
  SqliteSink sink("FULL", "sqlite");
  RunIngest(state, sink, "sqlite-full", "sqlite.events_per_s", "sqlite");
}

void BM_Ingest_Sqlite_Normal(benchmark::State& state) {
  SqliteSink sink("NORMAL", "sqlite_normal");
  RunIngest(state, sink, "sqlite-normal", "sqlite_normal.events_per_s",
            "sqlite_normal");
}

// --- what encoding alone costs (part of our Write, not of the peers') --------

void BM_Encode(benchmark::State& state) {
  ServiceWorkload workload(kSeed);
  std::vector<Event> events;
  workload.Next(Flags().quick ? 10'000 : 200'000, &events);
  uint64_t bytes = 0;
  uint64_t encoded = 0;
  double timed_s = 0;
  for (auto _ : state) {
    const auto start = SteadyClock::now();
    for (const Event& event : events) {
      std::string out = EventToBinary(event);
      bytes += out.size();
      benchmark::DoNotOptimize(out);
    }
    timed_s += SecondsSince(start);
    encoded += events.size();
  }
  double rate = static_cast<double>(encoded) / timed_s;
  state.counters["events_per_s"] = rate;
  Report("encode.events_per_s", rate);
  Report("event.encoded_bytes",
         static_cast<double>(bytes) / static_cast<double>(encoded));
}

// --- the disk's durable-write latency: what every durable commit waits for --

void BM_Fdatasync(benchmark::State& state) {
  TempDir dir("fdatasync");
  const std::string path = dir.path() + "/probe";
  int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) {
    state.SkipWithError("cannot create the fdatasync probe file");
    return;
  }
  std::vector<char> page(4096, 'x');
  std::vector<double> micros;
  off_t offset = 0;
  for (auto _ : state) {
    const auto start = SteadyClock::now();
    bool ok = pwrite(fd, page.data(), page.size(), offset) ==
                  static_cast<ssize_t>(page.size()) &&
              fdatasync(fd) == 0;
    micros.push_back(MicrosSince(start));
    if (!ok) {
      state.SkipWithError("pwrite or fdatasync failed");
      break;
    }
    offset = (offset + 4096) % (64 * 4096);
  }
  close(fd);
  if (state.error_occurred()) return;
  const double p50 = Percentile(micros, 50);
  state.counters["p50_us"] = p50;
  Report("machine.fdatasync_us", p50);
}

}  // namespace
}  // namespace traversion::bench

int main(int argc, char** argv) {
  using namespace traversion::bench;
  ParseBenchFlags(&argc, argv);
  // Registered in this order so the figures compared with each other are
  // measured back to back.
  benchmark::RegisterBenchmark("BM_Fdatasync", BM_Fdatasync)
      ->Iterations(Flags().quick ? 20 : 200)
      ->UseRealTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_Encode", BM_Encode)
      ->Iterations(3)
      ->Unit(benchmark::kMillisecond);
  Configure(
      benchmark::RegisterBenchmark("BM_Ingest_LmdbRaw", BM_Ingest_LmdbRaw));
  Configure(benchmark::RegisterBenchmark("BM_Ingest_Traversion_Durable",
                                         BM_Ingest_Traversion_Durable));
  Configure(benchmark::RegisterBenchmark("BM_Ingest_Sqlite_Full",
                                         BM_Ingest_Sqlite_Full));
  Configure(benchmark::RegisterBenchmark("BM_Ingest_Sqlite_Normal",
                                         BM_Ingest_Sqlite_Normal));
  Configure(benchmark::RegisterBenchmark("BM_Ingest_Traversion_NoSync",
                                         BM_Ingest_Traversion_NoSync));
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
