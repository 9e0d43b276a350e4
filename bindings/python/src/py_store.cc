#include "py_store.h"

#include <string>
#include <utility>

#include "convert.h"
#include "recorder/pii_key.h"

namespace traversion::python {

PyStore::PyStore(const std::string& path, const StoreOptions& options)
    : path_(path), read_only_(options.read_only) {
  absl::StatusOr<std::unique_ptr<Store>> store;
  {
    py::gil_scoped_release release;
    store = Store::Open(path, options);
  }
  CheckStatus(Operation::kOpen, store.status());
  store_ = std::shared_ptr<Store>(std::move(*store));
}

PyStore::~PyStore() {
  // A store dropped without close(): write what was recorded. Errors have
  // nowhere to go from a destructor; close() reports them.
  std::shared_ptr<RecorderBox> box;
  {
    std::lock_guard<std::mutex> lock(mu_);
    box = std::move(recorder_);
    store_.reset();
  }
  // The GIL stays held: the flusher never needs it, and releasing it from
  // a destructor run at interpreter shutdown is not safe.
  if (box != nullptr) box->recorder->Shutdown().IgnoreError();
}

bool PyStore::closed() {
  std::lock_guard<std::mutex> lock(mu_);
  return store_ == nullptr;
}

void PyStore::ConfigureRecorder(RecorderOptions options) {
  absl::StatusOr<PiiMasker> check = PiiMasker::Create(options.pii);
  CheckStatus(Operation::kRecord, check.status());
  std::lock_guard<std::mutex> lock(mu_);
  recorder_options_ = std::move(options);
}

absl::Status PyStore::Close() {
  std::shared_ptr<RecorderBox> box;
  std::shared_ptr<Store> store;
  {
    std::lock_guard<std::mutex> lock(mu_);
    box = std::move(recorder_);
    store = std::move(store_);
  }
  absl::Status status;
  if (box != nullptr) status = box->recorder->Shutdown();
  return status;
}

std::shared_ptr<Store> PyStore::store() {
  std::lock_guard<std::mutex> lock(mu_);
  if (store_ == nullptr) {
    throw StatusError(
        Operation::kRead,
        absl::FailedPreconditionError("the store " + path_ + " is closed"));
  }
  return store_;
}

bool PyStore::has_recorder() {
  std::lock_guard<std::mutex> lock(mu_);
  return recorder_ != nullptr;
}

std::shared_ptr<RecorderBox> PyStore::recorder() {
  std::lock_guard<std::mutex> lock(mu_);
  if (recorder_ != nullptr) return recorder_;
  if (store_ == nullptr) {
    throw StatusError(
        Operation::kRecord,
        absl::FailedPreconditionError("the store " + path_ + " is closed"));
  }
  // Under mu_ and the GIL: Create reads the PII key and starts the flusher
  // thread, once per store.
  absl::StatusOr<std::unique_ptr<Recorder>> recorder =
      Recorder::Create(store_.get(), recorder_options_);
  CheckStatus(Operation::kRecord, recorder.status());
  auto box = std::make_shared<RecorderBox>();
  box->store = store_;
  box->recorder = std::move(*recorder);
  recorder_ = box;
  return recorder_;
}

const PiiMasker& PyStore::masker() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!masker_) {
    PiiOptions options = recorder_options_.pii;
    if (options.enabled && options.key.empty()) {
      absl::StatusOr<std::string> key =
          recorder_internal::LoadOrCreatePiiKey(path_);
      CheckStatus(Operation::kWrite, key.status());
      options.key = *key;
    }
    absl::StatusOr<PiiMasker> masker = PiiMasker::Create(options);
    CheckStatus(Operation::kWrite, masker.status());
    masker_ = std::move(*masker);
  }
  return *masker_;
}

}  // namespace traversion::python
