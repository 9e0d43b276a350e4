// The public Store and EventCursor: thin forwarding to Store::Impl.
#include "traversion/store.h"

#include <time.h>

#include "store/store_impl.h"
#include "util/status_macros.h"

namespace traversion {

namespace {

class RealClock final : public Clock {
 public:
  uint64_t NowNanos() const override {
    timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u +
           static_cast<uint64_t>(ts.tv_nsec);
  }
};

}  // namespace

const Clock* Clock::Real() {
  static const RealClock* clock = new RealClock();
  return clock;
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(
    const std::string& path, const StoreOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("empty store path");
  if (options.initial_map_size < (uint64_t{1} << 20)) {
    return absl::InvalidArgumentError(
        "StoreOptions::initial_map_size must be at least 1 MiB");
  }
  TV_ASSIGN_OR_RETURN(std::unique_ptr<Impl> impl, Impl::Open(path, options));
  return std::unique_ptr<Store>(new Store(std::move(impl)));
}

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::~Store() = default;

absl::StatusOr<WriteResult> Store::Write(absl::Span<const Event> events) {
  return impl_->Write(events);
}
absl::Status Store::Sync() { return impl_->Sync(); }
absl::StatusOr<Event> Store::GetEvent(const EventId& id) const {
  return impl_->GetEvent(id);
}
absl::StatusOr<std::vector<Event>> Store::GetTrace(
    const TraceId& trace_id) const {
  return impl_->GetTrace(trace_id);
}
EventCursor Store::Scan(const EventFilter& filter) const {
  return impl_->Scan(filter);
}
absl::StatusOr<std::optional<EntityRevision>> Store::EntityAsOf(
    absl::string_view entity, uint64_t time_ns) const {
  return impl_->EntityAsOf(entity, time_ns);
}
absl::StatusOr<std::optional<EntityRevision>> Store::EntityAtRevision(
    absl::string_view entity, uint64_t revision) const {
  return impl_->EntityAtRevision(entity, revision);
}
absl::StatusOr<std::vector<EntityRevision>> Store::EntityHistory(
    absl::string_view entity, uint64_t from_ns, uint64_t to_ns) const {
  return impl_->EntityHistory(entity, from_ns, to_ns);
}
absl::StatusOr<std::vector<EntityRevision>> Store::StateAt(
    uint64_t time_ns, const EntityFilter& filter) const {
  return impl_->StateAt(time_ns, std::nullopt, filter);
}
absl::StatusOr<std::vector<EntityRevision>> Store::StateAtRevision(
    uint64_t revision, const EntityFilter& filter) const {
  return impl_->StateAt(std::nullopt, revision, filter);
}
absl::StatusOr<std::vector<EntityChange>> Store::ChangesBetween(
    uint64_t t1_ns, uint64_t t2_ns, const EntityFilter& filter) const {
  return impl_->ChangesBetween(t1_ns, t2_ns, filter);
}
absl::StatusOr<RetentionResult> Store::ApplyRetention(
    const RetentionPolicy& policy) {
  return impl_->ApplyRetention(policy);
}
absl::StatusOr<RetentionResult> Store::DeleteBefore(uint64_t cutoff_ns) {
  return impl_->DeleteBefore(cutoff_ns);
}
absl::StatusOr<StoreStats> Store::Stats() const { return impl_->Stats(); }
const std::string& Store::path() const { return impl_->path(); }
const StoreOptions& Store::options() const { return impl_->options(); }

}  // namespace traversion
