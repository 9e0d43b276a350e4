// A generated, realistic multi-service workload with a known incident: the
// data behind `traversion demo`, and the seed of the scenario generator that
// tests and benchmarks of the causality engine will use.
//
// The shop: web-frontend -> api-gateway -> orders-service ->
// {inventory-service, payments-service}, all on postgres, payments calling an
// external card processor. Over the window (ten minutes by default, ending
// at `end_ns`) it produces:
//   - traces of nested spans (HTTP server spans, postgres client spans, a
//     connection-pool acquire span, the card processor call) with logs inside
//     them; traffic grows over the window;
//   - gauges every 5 s per service: cpu.utilization, memory.usage, and
//     db.pool.usage for services with a pool; request and error rates at the
//     gateway; connections at postgres;
//   - entity-state observations: two connection pools (the payments pool's
//     active count grows), the payments config, one deployment per service,
//     three cache nodes.
// The incident, at fixed fractions of the window:
//   30 %  inventory-service is deployed v1.8.2 -> v1.9.0 (harmless: a red
//         herring for root-cause analysis);
//   45 %  cache/inventory-node-3 is removed (the entity is deleted);
//   55 %  config/payments-service lowers db.pool.max_size 40 -> 12 (the root
//         cause): as the pool's active count keeps growing it saturates,
//         payments wait for connections and then time out with
//         PoolTimeoutException; checkouts fail with 503/502 up the call
//         chain and web-frontend reports CheckoutError.
//
// Deterministic: the same options give the same events, ids included (the
// id suffixes come from the seeded generator). Times are relative to end_ns.
//
// Thread safety: GenerateDemoWorkload is reentrant.
#ifndef TRAVERSION_CLI_DEMO_WORKLOAD_H_
#define TRAVERSION_CLI_DEMO_WORKLOAD_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "traversion/event.h"

namespace traversion::demo {

struct DemoWorkloadOptions {
  // Seeds every random choice.
  uint64_t seed = 1;
  // The last instant of the window, in ns since the Unix epoch. Required.
  uint64_t end_ns = 0;
  // Length of the window. Default ten minutes.
  uint64_t duration_ns = uint64_t{600} * 1'000'000'000;
  // Roughly how many events to produce. The background (metrics and entity
  // observations, about 2,400 over ten minutes) is always produced; traces
  // fill the rest. The result is within a few percent of this figure.
  size_t target_events = 20'000;
};

// What the workload was built to contain, for checking what an analysis
// finds.
struct DemoGroundTruth {
  std::string root_cause_service;     // "payments-service"
  std::string root_cause_entity;      // "config/payments-service"
  uint64_t root_cause_time_ns = 0;    // when the pool size was lowered
  std::string saturated_entity;       // "pool/payments-db"
  std::string root_cause_error_type;  // "PoolTimeoutException"
  uint64_t first_error_ns = 0;        // first PoolTimeoutException (0: none)
  std::string red_herring_entity;     // "deployment/inventory-service"
  uint64_t red_herring_time_ns = 0;
  std::string deleted_entity;  // "cache/inventory-node-3"
  uint64_t deleted_time_ns = 0;
};

struct DemoWorkload {
  // Sorted by id (that is, by time); every event has its id and time.
  std::vector<Event> events;
  // The services that emit events, in call-chain order.
  std::vector<std::string> services;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  DemoGroundTruth truth;
};

DemoWorkload GenerateDemoWorkload(const DemoWorkloadOptions& options);

}  // namespace traversion::demo

#endif  // TRAVERSION_CLI_DEMO_WORKLOAD_H_
