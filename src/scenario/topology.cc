#include "scenario/topology.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace traversion::scenario {
namespace {

constexpr uint64_t kMs = 1'000'000;

ServiceSpec Service(std::string name, std::string version,
                    std::string next_version, Language language,
                    std::string package, std::string rs_hash,
                    std::vector<std::string> pods,
                    std::vector<std::string> hosts, double cpu, double memory) {
  ServiceSpec s;
  s.name = std::move(name);
  s.version = std::move(version);
  s.next_version = std::move(next_version);
  s.language = language;
  s.package = std::move(package);
  s.rs_hash = std::move(rs_hash);
  s.pod_suffixes = std::move(pods);
  s.replicas = static_cast<int>(s.pod_suffixes.size());
  s.hosts = std::move(hosts);
  s.base_cpu = cpu;
  s.base_memory_mib = memory;
  s.memory_limit_mib = std::ceil(memory * 1.8 / 256) * 256;
  return s;
}

Endpoint Ep(std::string method, std::string route, double self_ms,
            std::string intent, int success_code = 200) {
  Endpoint e;
  e.method = std::move(method);
  e.route = std::move(route);
  e.self_ms = self_ms;
  e.intent = std::move(intent);
  e.success_code = success_code;
  return e;
}

DownstreamCall Call(int service, int endpoint, uint64_t timeout_ms) {
  DownstreamCall c;
  c.service = service;
  c.endpoint = endpoint;
  c.timeout_ns = timeout_ms * kMs;
  return c;
}

DbQuery Query(std::string operation, std::string table, std::string statement,
              double median_ms, bool after_calls = false) {
  DbQuery q;
  q.operation = std::move(operation);
  q.table = std::move(table);
  q.statement = std::move(statement);
  q.median_ms = median_ms;
  q.after_calls = after_calls;
  return q;
}

std::string Alnum(Rng& rng, int n, bool hex) {
  static constexpr char kAlnum[] = "bcdfghjklmnpqrstvwxz2456789";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += hex ? kHex[rng.Below(16)] : kAlnum[rng.Below(sizeof(kAlnum) - 1)];
  }
  return out;
}

}  // namespace

std::string PodName(const ServiceSpec& service, int replica, int generation) {
  if (service.database) return absl::StrCat(service.name, "-", replica);
  const bool next = generation > 0 && !service.pod_suffixes_next.empty();
  const std::vector<std::string>& suffixes =
      next ? service.pod_suffixes_next : service.pod_suffixes;
  return absl::StrCat(service.name, "-",
                      next ? service.rs_hash_next : service.rs_hash, "-",
                      suffixes[static_cast<size_t>(replica) % suffixes.size()]);
}

Topology BuildShop() {
  enum { kWeb, kGateway, kOrders, kPayments, kInventory, kPostgres };
  Topology t;
  t.kind = TopologyKind::kShop;
  t.namespace_ = "shop";
  t.services = {
      Service("web-frontend", "3.14.0", "3.14.1", Language::kNode, "web",
              "6f7c9", {"kx2lp", "q8z4m"}, {"node-a", "node-b"}, 22, 310),
      Service("api-gateway", "1.22.3", "1.23.0", Language::kGo, "gateway",
              "58d4b", {"7hw2r", "p9c1v"}, {"node-a", "node-c"}, 18, 180),
      Service("orders-service", "2.8.1", "2.9.0", Language::kJava,
              "com.shop.orders", "7b5f8", {"2mtdx", "vq6kd"},
              {"node-b", "node-c"}, 26, 520),
      Service("payments-service", "2.4.1", "2.5.0", Language::kJava,
              "com.shop.payments", "c47d2", {"9sfjw", "b2xnh"},
              {"node-b", "node-a"}, 21, 640),
      Service("inventory-service", "1.8.2", "1.9.0", Language::kPython,
              "inventory", "9d6c1", {"4lrzq", "tm3wc"}, {"node-c", "node-a"},
              17, 450),
      Service("postgres", "15.4", "15.4", Language::kGo, "postgres", "", {"0"},
              {"node-d"}, 31, 2900),
  };
  // The deployments that happen in a window roll out these replica sets.
  const char* next_hashes[] = {"7d2f1", "6b9e4", "84c6a", "d58e3", "5fa07"};
  const char* next_pods[][2] = {{"m3v7k", "zt2qp"},
                                {"c4n8x", "h6w2d"},
                                {"r7k2m", "x9p4s"},
                                {"w5t8n", "k2j6v"},
                                {"q8m3z", "d7c5r"}};
  for (int s = kWeb; s <= kInventory; ++s) {
    t.services[s].rs_hash_next = next_hashes[s];
    t.services[s].pod_suffixes_next = {next_pods[s][0], next_pods[s][1]};
  }
  ServiceSpec& postgres = t.services[kPostgres];
  postgres.database = true;
  postgres.replicas = 1;

  ServiceSpec& web = t.services[kWeb];
  web.endpoints = {Ep("POST", "/checkout", 3, "checkout"),
                   Ep("GET", "/products", 4, "browse"),
                   Ep("GET", "/orders/:id", 3, "order-status")};
  web.endpoints[0].calls = {Call(kGateway, 0, 15000)};
  web.endpoints[1].calls = {Call(kGateway, 1, 5000)};
  web.endpoints[2].calls = {Call(kGateway, 2, 5000)};

  ServiceSpec& gateway = t.services[kGateway];
  gateway.endpoints = {Ep("POST", "/api/orders", 0.8, "checkout", 201),
                       Ep("GET", "/api/products", 0.6, "browse"),
                       Ep("GET", "/api/orders/:id", 0.6, "order-status")};
  gateway.endpoints[0].calls = {Call(kOrders, 0, 12000)};
  gateway.endpoints[1].calls = {Call(kInventory, 1, 3000)};
  gateway.endpoints[2].calls = {Call(kOrders, 1, 3000)};

  ServiceSpec& orders = t.services[kOrders];
  orders.database_service = kPostgres;
  orders.db_namespace = "orders";
  orders.pool = "pool/orders-db";
  orders.pool_max = 20;
  orders.pool_base_active = 3;
  orders.endpoints = {Ep("POST", "/orders", 1.5, "checkout", 201),
                      Ep("GET", "/orders/:id", 0.8, "order-status")};
  Endpoint& create = orders.endpoints[0];
  create.uses_pool = true;
  create.queries = {
      Query("SELECT", "products",
            "SELECT id, price FROM products WHERE id = ANY($1)", 2.5),
      Query("INSERT", "orders",
            "INSERT INTO orders (id, customer_id, total, status) VALUES ($1, "
            "$2, $3, 'paid')",
            3, /*after_calls=*/true)};
  create.calls = {Call(kInventory, 0, 3000), Call(kPayments, 0, 8000)};
  create.success_logs = {"order {order} created: {items} items, {amount} EUR"};
  Endpoint& status = orders.endpoints[1];
  status.uses_pool = true;
  status.queries = {Query("SELECT", "orders",
                          "SELECT id, status, total FROM orders WHERE id = $1",
                          2.5)};

  ServiceSpec& payments = t.services[kPayments];
  payments.database_service = kPostgres;
  payments.db_namespace = "payments";
  payments.pool = "pool/payments-db";
  payments.pool_max = 40;
  payments.pool_base_active = 4;
  payments.endpoints = {Ep("POST", "/payments/charge", 1.2, "checkout")};
  Endpoint& charge = payments.endpoints[0];
  charge.uses_pool = true;
  charge.queries = {
      Query("INSERT", "payments",
            "INSERT INTO payments (order_id, amount, currency, status) VALUES "
            "($1, $2, $3, $4)",
            3)};
  charge.external_peer = "card-processor";
  charge.external_url = "https://card-processor.example/v1/charges";
  charge.external_ms = 140;
  charge.success_logs = {
      "charged {amount} EUR for order {order} (auth {auth})"};

  ServiceSpec& inventory = t.services[kInventory];
  inventory.database_service = kPostgres;
  inventory.db_namespace = "inventory";
  inventory.pool = "pool/inventory-db";
  inventory.pool_max = 30;
  inventory.pool_base_active = 5;
  inventory.endpoints = {Ep("POST", "/inventory/reserve", 1.0, "checkout"),
                         Ep("GET", "/inventory/products", 1.0, "browse")};
  Endpoint& reserve = inventory.endpoints[0];
  reserve.uses_pool = true;
  reserve.queries = {
      Query("UPDATE", "inventory",
            "UPDATE inventory SET reserved = reserved + $1 WHERE sku = $2", 4)};
  reserve.success_logs = {"reserved {items} units of {sku} for order {order}"};
  Endpoint& products = inventory.endpoints[1];
  products.uses_pool = true;
  products.queries = {Query("SELECT", "products",
                            "SELECT * FROM products ORDER BY rank LIMIT 50",
                            5)};
  products.not_found_rate = 0.01;

  for (int s = kWeb; s <= kInventory; ++s) t.services[s].layer = s == 0 ? 0 : 1;
  t.services[kOrders].layer = 2;
  t.services[kPayments].layer = 3;
  t.services[kInventory].layer = 3;
  t.services[kPostgres].layer = 4;

  t.entries = {
      {kWeb, 0, 0.30, "CheckoutError", "payment could not be completed"},
      {kWeb, 1, 0.45, "CatalogError", "the product list could not be loaded"},
      {kWeb, 2, 0.25, "OrderStatusError", "the order could not be loaded"},
  };
  t.canonical_fault_service[static_cast<int>(FaultKind::kPoolExhaustion)] =
      kPayments;
  t.canonical_fault_service[static_cast<int>(FaultKind::kSlowDependency)] =
      kInventory;
  t.canonical_fault_service[static_cast<int>(FaultKind::kDependencyErrors)] =
      kPayments;
  t.canonical_fault_service[static_cast<int>(FaultKind::kCpuContention)] =
      kOrders;
  t.canonical_fault_service[static_cast<int>(FaultKind::kMemoryLeakOom)] =
      kInventory;
  t.canonical_fault_service[static_cast<int>(FaultKind::kRetryStorm)] =
      kPayments;
  t.canonical_fault_service[static_cast<int>(FaultKind::kBadDeploy)] = kOrders;
  t.cache_owner = "inventory-service";
  return t;
}

Topology BuildLayered(size_t count, Rng& rng) {
  static const char* const kNouns[] = {
      "catalog",   "cart",     "pricing",   "search",   "reviews", "shipping",
      "users",     "notify",   "recommend", "billing",  "ledger",  "fraud",
      "tax",       "media",    "profile",   "session",  "geo",     "ratings",
      "coupons",   "wishlist", "loyalty",   "auth",     "audit",   "quotes",
      "stock",     "routing",  "messaging", "invoices", "refunds", "accounts",
      "identity",  "returns",  "warehouse", "tracking", "feeds",   "ads",
      "analytics", "emails",   "sms",       "settings"};
  static const char* const kDatabases[] = {"postgres-main", "postgres-ledger",
                                           "mysql-catalog"};
  constexpr size_t kNounCount = sizeof(kNouns) / sizeof(kNouns[0]);
  Topology t;
  t.kind = TopologyKind::kLayered;
  t.namespace_ = "platform";
  count = std::clamp<size_t>(count, 4, 40);

  std::vector<std::string> nouns(kNouns, kNouns + kNounCount);
  for (size_t i = nouns.size() - 1; i > 0; --i) {
    std::swap(nouns[i], nouns[rng.Below(i + 1)]);
  }
  const size_t inner = count - 2;  // services below the gateway
  const int depth = std::max(
      1, static_cast<int>(std::lround(std::log2(static_cast<double>(inner)))));
  // Layers 2 .. depth+1, each with at least one service.
  std::vector<int> layers;
  for (size_t i = 0; i < inner; ++i) {
    layers.push_back(i < static_cast<size_t>(depth)
                         ? 2 + static_cast<int>(i)
                         : 2 + static_cast<int>(rng.Below(depth)));
  }
  std::sort(layers.begin(), layers.end());
  const int deepest = layers.back();

  const int node_count = 2 + static_cast<int>(count / 5);
  auto node = [&](int i) {
    return absl::StrCat("node-", std::string(1, static_cast<char>('a' + i)));
  };
  auto make = [&](std::string name, std::string package, Language language,
                  int layer) {
    const int major = 1 + rng.Index(4);
    const int minor = rng.Index(30);
    const int patch = rng.Index(10);
    ServiceSpec s = Service(
        std::move(name), absl::StrFormat("%d.%d.%d", major, minor, patch),
        absl::StrFormat("%d.%d.0", major, minor + 1), language,
        std::move(package), Alnum(rng, 5, true),
        {Alnum(rng, 5, false), Alnum(rng, 5, false)},
        {node(rng.Index(node_count)), node(rng.Index(node_count))},
        rng.Uniform(12, 30), rng.Uniform(150, 700));
    s.rs_hash_next = Alnum(rng, 5, true);
    s.pod_suffixes_next = {Alnum(rng, 5, false), Alnum(rng, 5, false)};
    s.layer = layer;
    return s;
  };
  t.services.push_back(make("frontend", "web", Language::kNode, 0));
  t.services.push_back(make("gateway", "gateway", Language::kGo, 1));
  const Language kLanguages[] = {Language::kJava, Language::kPython,
                                 Language::kGo, Language::kNode};
  for (size_t i = 0; i < inner; ++i) {
    const Language language = kLanguages[rng.Below(4)];
    std::string package = language == Language::kJava
                              ? absl::StrCat("com.platform.", nouns[i])
                              : nouns[i];
    ServiceSpec s =
        make(absl::StrCat(nouns[i], "-service"), package, language, layers[i]);
    const bool post = rng.Chance(0.4);
    s.endpoints.push_back(Ep(post ? "POST" : "GET",
                             absl::StrCat("/v1/", nouns[i]),
                             rng.Uniform(0.4, 2.5), nouns[i], 200));
    if (!post) s.endpoints[0].not_found_rate = rng.Chance(0.5) ? 0.01 : 0;
    s.endpoints[0].success_logs = {
        absl::StrCat(nouns[i], " request {id} served for {user}")};
    t.services.push_back(std::move(s));
  }
  const int first_inner = 2;
  const int last_inner = static_cast<int>(t.services.size()) - 1;
  auto in_layer = [&](int layer) {
    std::vector<int> out;
    for (int s = first_inner; s <= last_inner; ++s) {
      if (t.services[s].layer == layer) out.push_back(s);
    }
    return out;
  };
  auto timeout = [&] { return (1000 + 500 * rng.Below(7)) * kMs; };
  auto add_call = [&](int caller, int callee) {
    Endpoint& e = t.services[caller].endpoints[0];
    for (const DownstreamCall& c : e.calls) {
      if (c.service == callee) return;
    }
    DownstreamCall c;
    c.service = callee;
    c.endpoint = 0;
    c.timeout_ns = timeout();
    c.optional = !e.calls.empty() && rng.Chance(0.15);
    e.calls.push_back(c);
  };
  // Each inner service calls one to three deeper ones, one in the next
  // layer when there is one.
  for (int s = first_inner; s <= last_inner; ++s) {
    const int layer = t.services[s].layer;
    if (layer == deepest) continue;
    std::vector<int> next = in_layer(layer + 1);
    add_call(s, next[rng.Below(next.size())]);
    const int extra = rng.Index(3);
    for (int k = 0; k < extra; ++k) {
      const int target_layer =
          layer + 1 + static_cast<int>(rng.Below(deepest - layer));
      std::vector<int> candidates = in_layer(target_layer);
      add_call(s, candidates[rng.Below(candidates.size())]);
    }
  }
  // Every service below layer 2 has a caller in the layer above.
  for (int s = first_inner; s <= last_inner; ++s) {
    const int layer = t.services[s].layer;
    if (layer == 2) continue;
    bool called = false;
    for (int c = first_inner; c <= last_inner && !called; ++c) {
      for (const DownstreamCall& call : t.services[c].endpoints[0].calls) {
        called = called || call.service == s;
      }
    }
    if (!called) {
      std::vector<int> above = in_layer(layer - 1);
      add_call(above[rng.Below(above.size())], s);
    }
  }
  // The gateway has one endpoint per layer-2 service; the frontend one per
  // gateway endpoint.
  ServiceSpec& gateway = t.services[1];
  ServiceSpec& frontend = t.services[0];
  for (int s : in_layer(2)) {
    const Endpoint& target = t.services[s].endpoints[0];
    Endpoint g = Ep(target.method, absl::StrCat("/api", target.route), 0.6,
                    target.intent);
    g.calls = {Call(s, 0, 4000 + 1000 * rng.Below(5))};
    gateway.endpoints.push_back(std::move(g));
    Endpoint f =
        Ep(target.method, target.route.substr(3), 3, target.intent);  // "/x"
    f.calls = {Call(1, static_cast<int>(gateway.endpoints.size()) - 1, 15000)};
    frontend.endpoints.push_back(std::move(f));
    std::string noun = target.intent;
    std::string type = absl::StrCat(noun, "Error");
    type[0] = absl::ascii_toupper(static_cast<unsigned char>(type[0]));
    t.entries.push_back({0, static_cast<int>(frontend.endpoints.size()) - 1,
                         rng.Uniform(0.5, 2.0), type,
                         absl::StrCat("the ", noun, " page failed")});
  }
  // Databases: the deepest services own one, the others sometimes.
  const int db_count = 1 + (count >= 12) + (count >= 24);
  const int first_db = static_cast<int>(t.services.size());
  for (int d = 0; d < db_count; ++d) {
    ServiceSpec db = make(kDatabases[d], kDatabases[d], Language::kGo, 99);
    db.database = true;
    db.replicas = 1;
    db.version = d == 2 ? "8.0.36" : "15.4";
    db.next_version = db.version;
    db.hosts = {absl::StrCat("db-node-", d + 1)};
    db.base_cpu = rng.Uniform(25, 40);
    db.base_memory_mib = rng.Uniform(2000, 4000);
    db.memory_limit_mib = std::ceil(db.base_memory_mib * 1.5 / 256) * 256;
    t.services.push_back(std::move(db));
  }
  for (int s = first_inner; s <= last_inner; ++s) {
    ServiceSpec& svc = t.services[s];
    if (svc.layer != deepest && !rng.Chance(0.4)) continue;
    svc.database_service = first_db + rng.Index(db_count);
    const std::string table = svc.endpoints[0].intent;
    svc.db_namespace = table;
    svc.pool = absl::StrCat("pool/", table, "-db");
    svc.pool_max = 10 * (2 + rng.Index(4));
    svc.pool_base_active = rng.Uniform(2, 6);
    Endpoint& e = svc.endpoints[0];
    e.uses_pool = true;
    if (e.method == "GET") {
      e.queries.push_back(
          Query("SELECT", table,
                absl::StrCat("SELECT * FROM ", table, " WHERE id = $1"),
                rng.Uniform(1.5, 6)));
    } else {
      e.queries.push_back(Query("SELECT", table,
                                absl::StrCat("SELECT version FROM ", table,
                                             " WHERE id = $1 FOR UPDATE"),
                                rng.Uniform(1.5, 4)));
      e.queries.push_back(
          Query("UPDATE", table,
                absl::StrCat("UPDATE ", table, " SET data = $2 WHERE id = $1"),
                rng.Uniform(2, 5), /*after_calls=*/true));
    }
  }
  return t;
}

bool CanHaveFault(const Topology& topology, int s, FaultKind fault) {
  if (s < 0 || s >= static_cast<int>(topology.services.size())) return false;
  const ServiceSpec& service = topology.services[s];
  if (service.database || service.layer == 0) return false;
  switch (fault) {
    case FaultKind::kPoolExhaustion:
      return !service.pool.empty();
    case FaultKind::kSlowDependency:
      for (const Endpoint& e : service.endpoints) {
        if (!e.queries.empty()) return true;
      }
      return false;
    default:
      return true;
  }
}

}  // namespace traversion::scenario
