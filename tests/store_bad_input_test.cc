// Bad input and hostile surroundings give clear errors and never lose what
// was committed (BRIEF "Reliability and safety"; store.h Open/Write errors):
// oversized events, invalid UTF-8, read-only locations, another user's
// store, a store of a newer format, an LMDB environment that is not ours,
// corrupt files, missing paths, writes to a read-only store, file modes.
//
// Environments are inspected and doctored with raw LMDB, through the layout
// the store documents: named databases "meta" ("format_version" -> u32 BE)
// and "events".
#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "gtest/gtest.h"
#include "store/layout.h"
#include "support/process_support.h"
#include "support/test_support.h"
#include "traversion/event_codec.h"
#include "traversion/store.h"

namespace traversion {
namespace {

using ::traversion::testing::ChildExit;
using ::traversion::testing::ChildProcess;
using ::traversion::testing::FileMode;
using ::traversion::testing::LinePipe;
using ::traversion::testing::MakeEntityState;
using ::traversion::testing::MakeLog;
using ::traversion::testing::MakeSpan;
using ::traversion::testing::ScopedMount;
using ::traversion::testing::ScratchDir;

namespace fs = std::filesystem;

constexpr uint64_t kT0 = 1'720'000'000'000'000'000ull;

std::vector<Event> SampleEvents(int n, uint64_t start = kT0) {
  std::vector<Event> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(MakeLog("checkout", start + static_cast<uint64_t>(i),
                             Severity::kInfo, absl::StrCat("event ", i)));
  }
  return events;
}

std::vector<Event> ReadAll(const Store& store) {
  std::vector<Event> out;
  EventCursor cursor = store.Scan(EventFilter{});
  while (cursor.Next()) out.push_back(cursor.event());
  EXPECT_TRUE(cursor.status().ok()) << cursor.status();
  return out;
}

// Creates a store at `dir` holding `n` sample events and closes it.
void CreateStoreWithEvents(const std::string& dir, int n) {
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  auto written = (*store)->Write(SampleEvents(n));
  ASSERT_TRUE(written.ok()) << written.status();
  ASSERT_EQ(written->written, static_cast<size_t>(n));
}

// Compares event lists by content; on a difference prints the first
// differing pair as JSON rather than raw bytes.
void ExpectSameEvents(const std::vector<Event>& actual,
                      const std::vector<Event>& expected) {
  ASSERT_EQ(actual.size(), expected.size()) << "number of events differs";
  for (size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != expected[i]) {
      auto a = EventToJson(actual[i]);
      auto e = EventToJson(expected[i]);
      ADD_FAILURE() << "event " << i << " differs:\n  actual:   "
                    << (a.ok() ? *a : a.status().ToString()) << "\n  expected: "
                    << (e.ok() ? *e : e.status().ToString());
      return;
    }
  }
}

std::string Lower(absl::string_view s) { return absl::AsciiStrToLower(s); }

// --- raw LMDB ---------------------------------------------------------------

// A plain LMDB environment, for building and inspecting stores beneath the
// Store API. Failures are reported as test failures.
class RawEnv {
 public:
  explicit RawEnv(const std::string& dir) {
    EXPECT_EQ(mdb_env_create(&env_), MDB_SUCCESS);
    EXPECT_EQ(mdb_env_set_maxdbs(env_, 32), MDB_SUCCESS);
    int rc = mdb_env_open(env_, dir.c_str(), 0, 0600);
    EXPECT_EQ(rc, MDB_SUCCESS) << dir << ": " << mdb_strerror(rc);
    open_ = rc == MDB_SUCCESS;
  }
  ~RawEnv() { mdb_env_close(env_); }
  RawEnv(const RawEnv&) = delete;
  RawEnv& operator=(const RawEnv&) = delete;

  // Stores key -> value in database `db` (nullptr: the unnamed main one).
  void Put(const char* db, absl::string_view key, absl::string_view value) {
    ASSERT_TRUE(open_);
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env_, nullptr, 0, &txn), MDB_SUCCESS);
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, db, MDB_CREATE, &dbi);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      FAIL() << "mdb_dbi_open " << (db ? db : "(main)") << ": "
             << mdb_strerror(rc);
    }
    MDB_val k{key.size(), const_cast<char*>(key.data())};
    MDB_val v{value.size(), const_cast<char*>(value.data())};
    rc = mdb_put(txn, dbi, &k, &v, 0);
    if (rc != MDB_SUCCESS) {
      mdb_txn_abort(txn);
      FAIL() << "mdb_put: " << mdb_strerror(rc);
    }
    ASSERT_EQ(mdb_txn_commit(txn), MDB_SUCCESS);
  }

  // The value of `key` in `db`; nullopt if the database or key is absent.
  std::optional<std::string> Get(const char* db, absl::string_view key) {
    if (!open_) return std::nullopt;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != MDB_SUCCESS) {
      ADD_FAILURE() << "mdb_txn_begin";
      return std::nullopt;
    }
    std::optional<std::string> out;
    MDB_dbi dbi;
    if (mdb_dbi_open(txn, db, 0, &dbi) == MDB_SUCCESS) {
      MDB_val k{key.size(), const_cast<char*>(key.data())};
      MDB_val v;
      if (mdb_get(txn, dbi, &k, &v) == MDB_SUCCESS) {
        out.emplace(static_cast<const char*>(v.mv_data), v.mv_size);
      }
    }
    mdb_txn_abort(txn);
    return out;
  }

  bool HasDatabase(const char* db) {
    if (!open_) return false;
    MDB_txn* txn = nullptr;
    if (mdb_txn_begin(env_, nullptr, MDB_RDONLY, &txn) != MDB_SUCCESS) {
      return false;
    }
    MDB_dbi dbi;
    const bool found = mdb_dbi_open(txn, db, 0, &dbi) == MDB_SUCCESS;
    mdb_txn_abort(txn);
    return found;
  }

 private:
  MDB_env* env_ = nullptr;
  bool open_ = false;
};

std::string BigEndian32(uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (24 - 8 * i));
  return out;
}

void SetFormatVersion(const std::string& dir, absl::string_view raw_value) {
  RawEnv env(dir);
  env.Put("meta", "format_version", raw_value);
}

// --- statuses across a fork --------------------------------------------------

std::string EncodeStatus(const absl::Status& status) {
  std::string message(status.message());
  std::replace(message.begin(), message.end(), '\n', ' ');
  return absl::StrCat(static_cast<int>(status.code()), " ", message);
}

absl::Status DecodeStatus(absl::string_view line) {
  const size_t space = line.find(' ');
  int code = -1;
  if (space == absl::string_view::npos ||
      !absl::SimpleAtoi(line.substr(0, space), &code)) {
    return absl::InternalError(absl::StrCat("unparsable child report: ", line));
  }
  return absl::Status(static_cast<absl::StatusCode>(code),
                      line.substr(space + 1));
}

// Reads one labelled status line ("<label> <code> <message>") from a child.
absl::Status ReadReport(LinePipe* pipe, absl::string_view label) {
  std::string line;
  if (pipe->ReadLine(&line, absl::Seconds(60)) != LinePipe::Read::kLine) {
    return absl::InternalError(absl::StrCat("no '", label, "' report"));
  }
  if (!absl::StartsWith(line, absl::StrCat(label, " "))) {
    return absl::InternalError(
        absl::StrCat("expected '", label, "' report, got: ", line));
  }
  return DecodeStatus(line.substr(label.size() + 1));
}

// --- oversized events --------------------------------------------------------

TEST(StoreBadInputTest, OversizedEventIsRejectedAndEarlierDataKept) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  auto opened = Store::Open(dir);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  ASSERT_TRUE(store.Write(SampleEvents(10)).ok());
  const std::vector<Event> before = ReadAll(store);
  ASSERT_EQ(before.size(), 10u);

  Event big = MakeLog("checkout", kT0 + 100, Severity::kInfo, "dump");
  big.attributes.push_back(
      {"http.request.body", std::string((1 << 20) + 1, 'a')});
  std::vector<Event> batch = SampleEvents(3, kT0 + 50);
  batch.insert(batch.begin() + 1, big);
  auto result = store.Write(batch);
  ASSERT_FALSE(result.ok()) << "a batch holding a 1 MiB+ value was accepted";
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
      << result.status();
  EXPECT_FALSE(result.status().message().empty());

  Event big_body = MakeLog("checkout", kT0 + 200, Severity::kInfo,
                           std::string(2 << 20, 'b'));
  auto body_result = store.Write({big_body});
  EXPECT_EQ(body_result.status().code(), absl::StatusCode::kInvalidArgument)
      << body_result.status();

  // Nothing of either batch, and the earlier events unchanged.
  ExpectSameEvents(ReadAll(store), before);

  // The limit is about size, not a refusal of large values in general.
  Event large_ok = MakeLog("checkout", kT0 + 300, Severity::kInfo, "large");
  large_ok.attributes.push_back(
      {"http.request.body", std::string(512 << 10, 'c')});
  auto ok_result = store.Write({large_ok});
  ASSERT_TRUE(ok_result.ok()) << ok_result.status();
  auto back = store.GetEvent(ok_result->ids[0]);
  ASSERT_TRUE(back.ok()) << back.status();
  const AttributeValue* body = back->FindAttribute("http.request.body");
  ASSERT_NE(body, nullptr);
  EXPECT_EQ(std::get<std::string>(*body).size(), size_t{512 << 10});

  opened->reset();
  auto reopened = Store::Open(dir);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  std::vector<Event> after = ReadAll(**reopened);
  ASSERT_EQ(after.size(), 11u);
  ExpectSameEvents(std::vector<Event>(after.begin(), after.begin() + 10),
                   before);
}

TEST(StoreBadInputTest, ConfiguredSizeLimitIsEnforced) {
  ScratchDir scratch;
  StoreOptions options;
  options.limits.max_event_bytes = 4096;
  auto store = Store::Open(scratch.Sub("store"), options);
  ASSERT_TRUE(store.ok()) << store.status();
  Event small = MakeLog("svc", kT0, Severity::kInfo, std::string(1024, 's'));
  Event large =
      MakeLog("svc", kT0 + 1, Severity::kInfo, std::string(8192, 'l'));
  EXPECT_TRUE((*store)->Write({small}).ok());
  EXPECT_EQ((*store)->Write({large}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadAll(**store).size(), 1u);
}

// --- invalid UTF-8
// ------------------------------------------------------------

struct Utf8Case {
  const char* what;
  std::function<void(Event*)> corrupt;
  std::vector<const char*> field_names;  // the error names one of these
};

TEST(StoreBadInputTest, InvalidUtf8RejectsTheWholeBatchNamingTheField) {
  ScratchDir scratch;
  auto opened = Store::Open(scratch.Sub("store"));
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& store = **opened;
  ASSERT_TRUE(store.Write(SampleEvents(5)).ok());
  const std::vector<Event> before = ReadAll(store);

  const std::vector<Utf8Case> cases = {
      {"service name, bad continuation",
       [](Event* e) { e->service.name = "api\xC3\x28gateway"; },
       {"service"}},
      {"log body, UTF-16 surrogate",
       [](Event* e) { std::get<LogData>(e->payload).body = "x\xED\xA0\x80y"; },
       {"body"}},
      {"attribute value, overlong slash",
       [](Event* e) {
         e->attributes.push_back(
             {"user_agent.original", std::string("a\xC0\xAF")});
       },
       {"user_agent.original", "attribute"}},
      {"attribute key, above U+10FFFF",
       [](Event* e) {
         e->attributes.push_back({"k\xF4\x90\x80\x80", std::string("v")});
       },
       {"attribute"}},
      {"semantic tag, stray 0xFF",
       [](Event* e) {
         e->semantic.tags = {"ok", "bad\xFF"};
       },
       {"tag"}},
      {"source, truncated sequence",
       [](Event* e) { e->source = "collector\xE2\x82"; },
       {"source"}},
      {"entity ref, lone continuation byte",
       [](Event* e) { e->entity_refs = {"pool/\x80"}; },
       {"entity"}},
  };
  for (const Utf8Case& c : cases) {
    SCOPED_TRACE(c.what);
    std::vector<Event> batch = SampleEvents(4, kT0 + 1000);
    c.corrupt(&batch[2]);
    auto result = store.Write(batch);
    ASSERT_FALSE(result.ok()) << "invalid UTF-8 accepted";
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << result.status();
    const std::string message = Lower(result.status().message());
    EXPECT_TRUE(std::any_of(
        c.field_names.begin(), c.field_names.end(),
        [&](const char* name) { return absl::StrContains(message, name); }))
        << "error does not name the field: " << result.status();
    // The message is shown by bindings that require valid text.
    EXPECT_TRUE(IsValidUtf8(result.status().message()))
        << "the error message itself carries the invalid bytes";
  }

  // Entity-state fields are checked too.
  Event entity =
      MakeEntityState("svc", kT0 + 2000, "pool/main", {{"owner", "caf\xE9"}});
  auto entity_result = store.Write({entity});
  EXPECT_EQ(entity_result.status().code(), absl::StatusCode::kInvalidArgument)
      << entity_result.status();

  ExpectSameEvents(ReadAll(store), before);  // nothing of rejected batches

  // Well-formed multi-byte text is accepted and kept byte for byte.
  Event good =
      MakeLog("s\xC3\xA9rvice", kT0 + 3000, Severity::kInfo,
              "h\xC3\xA9llo \xE6\x97\xA5\xE6\x9C\xAC \xF0\x9F\x99\x82");
  auto good_result = store.Write({good});
  ASSERT_TRUE(good_result.ok()) << good_result.status();
  auto back = store.GetEvent(good_result->ids[0]);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->service.name, good.service.name);
  EXPECT_EQ(back->log()->body, std::get<LogData>(good.payload).body);
}

// --- read-only locations
// -------------------------------------------------------

class StoreReadOnlyMountTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Mounts made in a private namespace vanish with this process.
    absl::Status ns = ::traversion::testing::EnterPrivateMountNamespace();
    if (!ns.ok())
      printf("note: %s; mounts are host-visible\n", ns.ToString().c_str());
  }
  void TearDown() override { mount_.reset(); }

  ScratchDir scratch_;
  std::unique_ptr<ScopedMount> mount_;
};

TEST_F(StoreReadOnlyMountTest, ReadOnlyLocationRefusesWritersAndServesReaders) {
  const std::string src = scratch_.Sub("store");
  const std::string ro = scratch_.Sub("readonly");
  CreateStoreWithEvents(src, 5);
  std::vector<Event> expected;
  {
    auto store = Store::Open(src);
    ASSERT_TRUE(store.ok()) << store.status();
    expected = ReadAll(**store);
  }
  fs::create_directory(ro);
  auto mounted = ScopedMount::ReadOnlyBind(src, ro);
  if (!mounted.ok()) {
    GTEST_SKIP() << "cannot make a read-only bind mount: " << mounted.status();
  }
  mount_ = std::move(*mounted);

  // A writer cannot use a store it cannot write.
  auto writer = Store::Open(ro);
  ASSERT_FALSE(writer.ok()) << "opened for writing on a read-only mount";
  EXPECT_TRUE(writer.status().code() == absl::StatusCode::kPermissionDenied ||
              writer.status().code() == absl::StatusCode::kFailedPrecondition)
      << writer.status();
  EXPECT_TRUE(absl::StrContains(writer.status().message(), ro))
      << "the error should name the store: " << writer.status();

  auto create = Store::Open(ro + "/new-store");
  ASSERT_FALSE(create.ok()) << "created a store on a read-only mount";
  EXPECT_TRUE(create.status().code() == absl::StatusCode::kPermissionDenied ||
              create.status().code() == absl::StatusCode::kFailedPrecondition)
      << create.status();

  // A reader can.
  StoreOptions read_only;
  read_only.read_only = true;
  read_only.create_if_missing = false;
  {
    auto reader = Store::Open(ro, read_only);
    ASSERT_TRUE(reader.ok()) << reader.status();
    ExpectSameEvents(ReadAll(**reader), expected);
    auto stats = (*reader)->Stats();
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->events, 5u);
    EXPECT_EQ((*reader)->Write(SampleEvents(1)).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }

  // A copy on read-only media often has no lock file at all.
  mount_.reset();
  ASSERT_TRUE(fs::remove(src + "/lock.mdb"));
  mounted = ScopedMount::ReadOnlyBind(src, ro);
  ASSERT_TRUE(mounted.ok()) << mounted.status();
  mount_ = std::move(*mounted);
  {
    auto reader = Store::Open(ro, read_only);
    ASSERT_TRUE(reader.ok())
        << "read-only media without lock.mdb: " << reader.status();
    ExpectSameEvents(ReadAll(**reader), expected);
  }
}

// Runs `body` in a child as user and group nobody; the child reports
// labelled statuses on `pipe`. Returns false (and skips) if that cannot work
// here.
constexpr int kCannotDropPrivileges = 77;

ChildProcess StartAsNobody(const std::string& probe_dir, LinePipe* pipe,
                           std::function<void(LinePipe*)> body) {
  return ChildProcess::Start([probe_dir, pipe, body] {
    pipe->CloseReadEnd();
    if (setgid(65534) != 0 || setuid(65534) != 0) return kCannotDropPrivileges;
    if (access(probe_dir.c_str(), X_OK) != 0) {
      fprintf(stderr, "nobody cannot reach %s\n", probe_dir.c_str());
      return kCannotDropPrivileges;
    }
    body(pipe);
    return 0;
  });
}

TEST(StoreBadInputTest, AnotherUsersStoreIsPermissionDeniedUnlessReadable) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "needs root to create a store another user cannot write";
  }
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 3);
  // Let the other user reach the store's directory, not enter it.
  ASSERT_EQ(chmod(scratch.path().c_str(), 0755), 0);

  auto run = [&](std::function<void(LinePipe*)> body,
                 std::vector<absl::Status>* reports,
                 const std::vector<const char*>& labels) {
    LinePipe pipe;
    ChildProcess child = StartAsNobody(scratch.path(), &pipe, body);
    pipe.CloseWriteEnd();
    for (const char* label : labels) {
      reports->push_back(ReadReport(&pipe, label));
    }
    std::optional<ChildExit> exit = child.Wait(absl::Seconds(60));
    ASSERT_TRUE(exit.has_value());
    if (exit->exited && exit->code == kCannotDropPrivileges) {
      GTEST_SKIP() << "cannot run a child as nobody here";
    }
    ASSERT_TRUE(exit->ok()) << "child: " << exit->ToString();
  };

  // 1. Owner-only store (as created): nobody may not open it at all.
  std::vector<absl::Status> denied;
  run(
      [&dir](LinePipe* pipe) {
        pipe->WriteLine(
            absl::StrCat("rw ", EncodeStatus(Store::Open(dir).status())));
        StoreOptions ro;
        ro.read_only = true;
        pipe->WriteLine(
            absl::StrCat("ro ", EncodeStatus(Store::Open(dir, ro).status())));
      },
      &denied, {"rw", "ro"});
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(denied[0].code(), absl::StatusCode::kPermissionDenied) << denied[0];
  EXPECT_EQ(denied[1].code(), absl::StatusCode::kPermissionDenied) << denied[1];

  // 2. A world-readable store in a directory only root may write: nobody
  // can read it but not write it.
  ASSERT_EQ(chmod(dir.c_str(), 0755), 0);
  ASSERT_EQ(chmod((dir + "/data.mdb").c_str(), 0644), 0);
  ASSERT_EQ(chmod((dir + "/lock.mdb").c_str(), 0644), 0);
  std::vector<absl::Status> readable;
  run(
      [&dir](LinePipe* pipe) {
        pipe->WriteLine(
            absl::StrCat("rw ", EncodeStatus(Store::Open(dir).status())));
        StoreOptions ro;
        ro.read_only = true;
        auto store = Store::Open(dir, ro);
        pipe->WriteLine(absl::StrCat("ro ", EncodeStatus(store.status())));
        if (!store.ok()) return;
        auto stats = (*store)->Stats();
        absl::Status count = stats.status();
        if (stats.ok() && stats->events != 3) {
          count = absl::DataLossError(absl::StrCat(stats->events, " events"));
        }
        pipe->WriteLine(absl::StrCat("count ", EncodeStatus(count)));
        pipe->WriteLine(absl::StrCat(
            "write ", EncodeStatus((*store)->Write(SampleEvents(1)).status())));
      },
      &readable, {"rw", "ro", "count", "write"});
  if (IsSkipped() || HasFatalFailure()) return;
  EXPECT_EQ(readable[0].code(), absl::StatusCode::kPermissionDenied)
      << readable[0];
  EXPECT_TRUE(readable[1].ok()) << "read-only open: " << readable[1];
  EXPECT_TRUE(readable[2].ok()) << "reading: " << readable[2];
  EXPECT_EQ(readable[3].code(), absl::StatusCode::kFailedPrecondition)
      << readable[3];

  // Nothing the other user tried changed the store.
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ReadAll(**store).size(), 3u);
}

// --- formats and foreign environments
// --------------------------------------------

TEST(StoreBadInputTest, NewerFormatIsRefusedAndLeftUntouched) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 3);
  const uint32_t current = store::kFormatVersion;
  {
    RawEnv env(dir);
    ASSERT_EQ(env.Get("meta", "format_version"), BigEndian32(current))
        << "the store does not record its format version as documented";
  }
  SetFormatVersion(dir, BigEndian32(current + 1));

  StoreOptions read_only;
  read_only.read_only = true;
  for (const StoreOptions& options : {StoreOptions{}, read_only}) {
    SCOPED_TRACE(options.read_only ? "read-only" : "read-write");
    auto store = Store::Open(dir, options);
    ASSERT_FALSE(store.ok()) << "opened a store of a newer format";
    EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition)
        << store.status();
    EXPECT_TRUE(absl::StrContains(Lower(store.status().message()), "format"))
        << store.status();
  }
  {
    RawEnv env(dir);
    EXPECT_EQ(env.Get("meta", "format_version"), BigEndian32(current + 1))
        << "a refused open rewrote the format version";
  }

  SetFormatVersion(dir, BigEndian32(current));
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ReadAll(**store).size(), 3u);
}

TEST(StoreBadInputTest, OlderUnreadableFormatIsRefused) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 3);
  ASSERT_GT(store::kMinFormatVersion, 1u);
  SetFormatVersion(dir, BigEndian32(store::kMinFormatVersion - 1));
  auto store = Store::Open(dir);
  ASSERT_FALSE(store.ok()) << "opened a store of an unreadable older format";
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition)
      << store.status();
  EXPECT_TRUE(absl::StrContains(store.status().message(), "older"))
      << store.status();
}

TEST(StoreBadInputTest, UnknownOrMalformedFormatVersionIsRefused) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 1);
  for (const std::string& raw :
       {BigEndian32(0), BigEndian32(0xFFFFFFFFu), std::string("\x00\x01", 2),
        std::string("1")}) {
    SCOPED_TRACE(absl::StrCat("version bytes of size ", raw.size()));
    SetFormatVersion(dir, raw);
    auto store = Store::Open(dir);
    EXPECT_FALSE(store.ok()) << "opened a store with a bogus format version";
    EXPECT_NE(store.status().code(), absl::StatusCode::kUnknown)
        << store.status();
  }
}

TEST(StoreBadInputTest, ForeignLmdbEnvironmentIsNotATraversionStore) {
  ScratchDir scratch;
  // Someone else's environment: a named database of its own.
  const std::string named = scratch.Sub("named");
  fs::create_directory(named);
  { RawEnv(named).Put("sessions", "alice", "token"); }
  // Only the unnamed main database.
  const std::string main_only = scratch.Sub("main-only");
  fs::create_directory(main_only);
  { RawEnv(main_only).Put(nullptr, "key", "value"); }
  // Ours in name, but no version.
  const std::string no_version = scratch.Sub("no-version");
  fs::create_directory(no_version);
  { RawEnv(no_version).Put("meta", "owner", "someone"); }

  StoreOptions read_only;
  read_only.read_only = true;
  for (const std::string& dir : {named, main_only, no_version}) {
    // Read-only first: a read-write open that wrongly adopted the
    // environment would make the read-only one pass.
    for (const StoreOptions& options : {read_only, StoreOptions{}}) {
      SCOPED_TRACE(absl::StrCat(dir, options.read_only ? " read-only" : ""));
      auto store = Store::Open(dir, options);
      EXPECT_FALSE(store.ok()) << "took a foreign LMDB environment for a store";
      if (store.ok()) continue;
      EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition)
          << store.status();
      EXPECT_FALSE(store.status().message().empty());
    }
  }
  // Refusing must not have written into the foreign environments.
  RawEnv env(named);
  EXPECT_FALSE(env.HasDatabase("meta"));
  EXPECT_FALSE(env.HasDatabase("events"));
  EXPECT_EQ(env.Get("sessions", "alice"), "token");
  RawEnv env2(no_version);
  EXPECT_EQ(env2.Get("meta", "format_version"), std::nullopt);
  EXPECT_FALSE(env2.HasDatabase("events"));
}

// --- corrupt files
// -----------------------------------------------------------------

// Opens `dir` in a child (so a crash is a reported failure, not a dead test
// binary), reads everything if it opened, and returns the open status and
// the status of reading.
struct CorruptOpenResult {
  absl::Status open;
  absl::Status read;
  std::string crash;  // how the child died, if it did not exit normally
};

CorruptOpenResult OpenCorruptStoreInChild(const std::string& dir,
                                          bool read_only) {
  LinePipe pipe;
  ChildProcess child = ChildProcess::Start([&] {
    pipe.CloseReadEnd();
    StoreOptions options;
    options.read_only = read_only;
    options.create_if_missing = false;
    auto store = Store::Open(dir, options);
    pipe.WriteLine(absl::StrCat("open ", EncodeStatus(store.status())));
    absl::Status read = absl::OkStatus();
    if (store.ok()) {
      EventCursor cursor = (*store)->Scan(EventFilter{});
      while (cursor.Next()) {
      }
      read = cursor.status();
      auto stats = (*store)->Stats();
      if (read.ok()) read = stats.status();
    }
    pipe.WriteLine(absl::StrCat("read ", EncodeStatus(read)));
    return 0;
  });
  pipe.CloseWriteEnd();
  CorruptOpenResult result;
  result.open = ReadReport(&pipe, "open");
  result.read = ReadReport(&pipe, "read");
  std::optional<ChildExit> exit = child.Wait(absl::Seconds(60));
  if (!exit.has_value()) {
    result.crash = "opening a corrupt store hung";
  } else if (!exit->ok()) {
    result.crash =
        absl::StrCat("the process died on a corrupt store: ", exit->ToString(),
                     " (open reported: ", result.open.ToString(), ")");
  }
  return result;
}

void OverwriteFile(const std::string& path, off_t offset, size_t length,
                   uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string garbage(length, '\0');
  for (char& c : garbage) c = static_cast<char>(rng());
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(pwrite(fd, garbage.data(), garbage.size(), offset),
            static_cast<ssize_t>(garbage.size()));
  ::close(fd);
}

bool IsClearCorruptionCode(absl::StatusCode code) {
  return code == absl::StatusCode::kDataLoss ||
         code == absl::StatusCode::kFailedPrecondition;
}

TEST(StoreBadInputTest, GarbageHeaderPagesGiveAClearError) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 200);
  const long page = sysconf(_SC_PAGESIZE);
  OverwriteFile(dir + "/data.mdb", 0, 2 * static_cast<size_t>(page), 42);

  for (bool read_only : {false, true}) {
    SCOPED_TRACE(read_only ? "read-only" : "read-write");
    CorruptOpenResult r = OpenCorruptStoreInChild(dir, read_only);
    EXPECT_TRUE(r.crash.empty()) << r.crash;
    if (!r.crash.empty()) continue;
    EXPECT_FALSE(r.open.ok()) << "a store with garbage headers opened";
    EXPECT_TRUE(IsClearCorruptionCode(r.open.code())) << r.open;
    EXPECT_FALSE(r.open.message().empty());
  }
}

TEST(StoreBadInputTest, GarbageInOneHeaderPageFallsBackOrFailsCleanly) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 50);
  const long page = sysconf(_SC_PAGESIZE);
  // LMDB keeps two meta pages; with one intact the store must still work or
  // refuse clearly.
  OverwriteFile(dir + "/data.mdb", page, static_cast<size_t>(page), 7);
  CorruptOpenResult r = OpenCorruptStoreInChild(dir, /*read_only=*/true);
  ASSERT_TRUE(r.crash.empty()) << r.crash;
  if (r.open.ok()) {
    EXPECT_TRUE(r.read.ok() || IsClearCorruptionCode(r.read.code())) << r.read;
  } else {
    EXPECT_TRUE(IsClearCorruptionCode(r.open.code())) << r.open;
  }
}

TEST(StoreBadInputTest, TruncatedDataFileGivesAClearError) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 5000);
  const std::string data = dir + "/data.mdb";
  const uintmax_t size = fs::file_size(data);
  ASSERT_GT(size, 64u * 1024) << "store too small to truncate meaningfully";
  // A copy that stopped half way.
  fs::resize_file(data, size / 2);

  for (bool read_only : {true, false}) {
    SCOPED_TRACE(read_only ? "read-only" : "read-write");
    CorruptOpenResult r = OpenCorruptStoreInChild(dir, read_only);
    EXPECT_TRUE(r.crash.empty()) << r.crash;
    if (!r.crash.empty()) continue;
    const absl::Status& error = r.open.ok() ? r.read : r.open;
    EXPECT_FALSE(error.ok()) << "half a store read back without an error";
    EXPECT_TRUE(IsClearCorruptionCode(error.code())) << error;
  }
}

// --- paths and modes
// ----------------------------------------------------------------

TEST(StoreBadInputTest, MissingStoreWithoutCreateIsNotFound) {
  ScratchDir scratch;
  StoreOptions options;
  options.create_if_missing = false;

  const std::string missing = scratch.Sub("missing");
  auto store = Store::Open(missing, options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound)
      << store.status();
  EXPECT_FALSE(fs::exists(missing)) << "a failed open created the directory";

  const std::string empty = scratch.Sub("empty");
  fs::create_directory(empty);
  store = Store::Open(empty, options);
  ASSERT_FALSE(store.ok()) << "an empty directory opened as a store";
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound)
      << store.status();
  EXPECT_FALSE(fs::exists(empty + "/data.mdb"))
      << "a failed open created files";

  options.read_only = true;
  store = Store::Open(missing, options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kNotFound)
      << store.status();
}

TEST(StoreBadInputTest, WritingToAReadOnlyStoreIsFailedPrecondition) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  CreateStoreWithEvents(dir, 4);
  StoreOptions options;
  options.read_only = true;
  {
    auto store = Store::Open(dir, options);
    ASSERT_TRUE(store.ok()) << store.status();
    auto result = (*store)->Write(SampleEvents(2, kT0 + 100));
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition)
        << result.status();
    EXPECT_EQ(ReadAll(**store).size(), 4u);
    // Retention writes too.
    EXPECT_EQ((*store)->DeleteBefore(kT0 + 10).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  auto store = Store::Open(dir);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(ReadAll(**store).size(), 4u);
}

TEST(StoreBadInputTest, SecondOpenOfTheSameStoreInOneProcessIsRefused) {
  ScratchDir scratch;
  const std::string dir = scratch.Sub("store");
  auto first = Store::Open(dir);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*first)->Write(SampleEvents(2)).ok());
  // LMDB must not see one environment twice in a process: closing the
  // second would drop the first's locks. Other spellings are the same path.
  for (const std::string& alias :
       {dir, dir + "/", scratch.path() + "/./store", dir + "/../store"}) {
    SCOPED_TRACE(alias);
    auto second = Store::Open(alias);
    ASSERT_FALSE(second.ok()) << "opened twice in one process";
    EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
        << second.status();
  }
  EXPECT_EQ(ReadAll(**first).size(), 2u);
  first->reset();
  auto again = Store::Open(dir);
  EXPECT_TRUE(again.ok()) << "closing must release the path: "
                          << again.status();
}

TEST(StoreBadInputTest, StoreFilesAreCreatedOwnerOnly) {
  ScratchDir scratch;
  // With no umask to help, the modes must come from the store itself.
  const mode_t old_umask = umask(0);
  const std::string dir = scratch.Sub("store");
  const std::string existing = scratch.Sub("existing");
  fs::create_directory(existing);
  chmod(existing.c_str(), 0755);
  {
    auto store = Store::Open(dir);
    auto in_existing = Store::Open(existing);
    umask(old_umask);
    ASSERT_TRUE(store.ok()) << store.status();
    ASSERT_TRUE(in_existing.ok()) << in_existing.status();
    ASSERT_TRUE((*store)->Write(SampleEvents(3)).ok());
  }
  EXPECT_EQ(FileMode(dir), 0700);
  EXPECT_EQ(FileMode(dir + "/data.mdb"), 0600);
  EXPECT_EQ(FileMode(dir + "/lock.mdb"), 0600);
  EXPECT_EQ(FileMode(existing + "/data.mdb"), 0600);
  EXPECT_EQ(FileMode(existing + "/lock.mdb"), 0600);
  // No other files (probes, temporaries) left behind with looser modes.
  for (const auto& entry : fs::directory_iterator(dir)) {
    EXPECT_EQ(FileMode(entry.path().string()) & 077, 0)
        << entry.path() << " is accessible to others";
  }
}

}  // namespace
}  // namespace traversion
