// The PII masking key kept with the store, so masked values join across
// restarts and across the processes writing one store.
#ifndef TRAVERSION_RECORDER_PII_KEY_H_
#define TRAVERSION_RECORDER_PII_KEY_H_

#include <string>

#include "absl/status/statusor.h"

namespace traversion::recorder_internal {

inline constexpr size_t kPiiKeyBytes = 32;

// The 32-byte key in `<store_dir>/pii.key`; created (random, mode 0600) if
// absent. Creation is atomic (a temporary file linked into place), so
// concurrent first users agree on one key. DataLoss if the file exists with
// another size.
absl::StatusOr<std::string> LoadOrCreatePiiKey(const std::string& store_dir);

}  // namespace traversion::recorder_internal

#endif  // TRAVERSION_RECORDER_PII_KEY_H_
