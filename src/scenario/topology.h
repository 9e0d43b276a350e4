// The simulated system: services, their endpoints and the calls between
// them. Built once per scenario (the shop is fixed; a layered graph is drawn
// from the seed) and then only read by the simulator.
//
// Thread safety: plain values.
#ifndef TRAVERSION_SCENARIO_TOPOLOGY_H_
#define TRAVERSION_SCENARIO_TOPOLOGY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "scenario/rng.h"
#include "traversion/scenario.h"

namespace traversion::scenario {

// Decides how stack traces and exception names look.
enum class Language : uint8_t { kJava, kPython, kGo, kNode };

struct DbQuery {
  std::string operation;  // SELECT, INSERT, UPDATE
  std::string table;
  std::string statement;
  double median_ms = 3;
  bool after_calls = false;  // runs after the downstream calls
};

struct DownstreamCall {
  int service = 0;   // index of the callee
  int endpoint = 0;  // index of the callee's endpoint
  uint64_t timeout_ns = 0;
  int retries = 0;  // further attempts after a failed one
  uint64_t retry_backoff_ns = 0;
  // A failure is absorbed: the caller logs it and goes on without.
  bool optional = false;
};

struct Endpoint {
  std::string method;  // "POST"
  std::string route;   // "/payments/charge"
  int success_code = 200;
  double self_ms = 1;  // median of the service's own work in the request
  bool uses_pool = false;
  std::vector<DbQuery> queries;
  std::vector<DownstreamCall> calls;
  // An external HTTP dependency that emits no events of its own.
  std::string external_peer;
  std::string external_url;
  double external_ms = 0;
  // Logged inside the span when the request succeeds. Placeholders:
  // {order} {sku} {items} {amount} {auth} {user} {id}.
  std::vector<std::string> success_logs;
  std::string intent;
  // Share of requests for something that does not exist (404, a warning).
  double not_found_rate = 0;
  std::string Name() const { return method + " " + route; }
};

struct ServiceSpec {
  std::string name;
  std::string version;       // before any deployment in the window
  std::string next_version;  // what a deployment in the window rolls out
  Language language = Language::kJava;
  std::string package;  // "com.shop.payments", "inventory", ...
  int replicas = 2;     // pods; 1 for databases
  std::string rs_hash;  // replica-set hash in pod names, before a deploy
  std::string rs_hash_next;
  std::vector<std::string> pod_suffixes;       // one per replica
  std::vector<std::string> pod_suffixes_next;  // after a deploy
  std::vector<std::string> hosts;              // one per replica
  double base_cpu = 20;                        // %
  double base_memory_mib = 400;
  double memory_limit_mib = 1024;
  // Emits only gauges: a database server.
  bool database = false;
  int database_service = -1;  // the database this service queries, or -1
  std::string db_namespace;   // its database name on that server
  std::string pool;           // "pool/payments-db", or "" for no pool
  int pool_max = 0;
  double pool_base_active = 0;  // connections held at the window's start
  std::vector<Endpoint> endpoints;
  int layer = 0;  // 0 for the entry; callers have smaller layers
};

struct EntryPoint {
  int service = 0;
  int endpoint = 0;
  double weight = 1;
  // The error the entry service records when the request fails.
  std::string error_type;  // "CheckoutError"
  std::string error_what;  // "payment could not be completed"
};

struct Topology {
  TopologyKind kind = TopologyKind::kShop;
  std::string namespace_;  // service.namespace, registry name
  std::vector<ServiceSpec> services;
  std::vector<EntryPoint> entries;
  // The shop's service for each fault kind (docs/scenarios.md), by
  // FaultKind value; -1 where the seed chooses.
  int canonical_fault_service[kFaultKindCount] = {-1, -1, -1, -1, -1, -1, -1};
  // The shop's removed cache node, a red herring ("" elsewhere).
  std::string cache_owner;
};

Topology BuildShop();
// `services` span-emitting services (4..40), drawn from `rng`.
Topology BuildLayered(size_t services, Rng& rng);

// Whether service `s` can have `fault`: not the entry, called by someone,
// a pool for pool exhaustion, database queries for a slow dependency.
bool CanHaveFault(const Topology& topology, int s, FaultKind fault);

// The pod name of replica `replica` of service `s` ("payments-service-
// c47d2-9sfjw"), before (generation 0) or after (1) a deployment.
std::string PodName(const ServiceSpec& service, int replica, int generation);

}  // namespace traversion::scenario

#endif  // TRAVERSION_SCENARIO_TOPOLOGY_H_
