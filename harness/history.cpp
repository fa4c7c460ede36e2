#include "harness/history.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <array>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string_view>

#include "harness/commands.h"
#include "harness/engine/stats.h"
#include "harness/sqlite_db.h"

namespace rcb {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The results schemas this build reads: rcbench/1 (instruction files, and
// wall-time files before the probe and the measurement block) and rcbench/2.
// parse_results reads both; anything else may mean something else.
constexpr std::array<std::string_view, 2> kReadableSchemas = {"rcbench/1", "rcbench/2"};

// The layout, created on first use. WITHOUT ROWID: cells are found by
// (run, name), their primary key, so the key is the table.
constexpr const char* kCreateTables = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS machines(
  id INTEGER PRIMARY KEY, fingerprint TEXT NOT NULL UNIQUE, name TEXT NOT NULL,
  cpu_model TEXT NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY, content_hash TEXT NOT NULL UNIQUE, machine_id INTEGER NOT NULL REFERENCES machines(id),
  git_commit TEXT NOT NULL, git_dirty INTEGER NOT NULL, build_flags TEXT NOT NULL, schema TEXT NOT NULL,
  metric TEXT NOT NULL, scaling TEXT NOT NULL, unit TEXT NOT NULL, suite TEXT NOT NULL, size TEXT NOT NULL,
  floor_ns REAL, date TEXT NOT NULL, source TEXT NOT NULL, context TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS runs_by_commit ON runs(git_commit, machine_id);
CREATE INDEX IF NOT EXISTS runs_by_machine ON runs(machine_id, date);
CREATE TABLE IF NOT EXISTS cells(
  run_id INTEGER NOT NULL REFERENCES runs(id), name TEXT NOT NULL, position INTEGER NOT NULL,
  strategy TEXT NOT NULL, workload TEXT NOT NULL,
  threads INTEGER NOT NULL, unit TEXT NOT NULL, median REAL, ci_low REAL, ci_high REAL,
  repetitions INTEGER NOT NULL, left_out INTEGER NOT NULL, error TEXT NOT NULL,
  per_item TEXT NOT NULL, per_iteration TEXT NOT NULL, counters TEXT NOT NULL,
  PRIMARY KEY(run_id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cells_by_name ON cells(name);
)sql";

struct Machine {
  std::string fingerprint, name, cpu_model;
  json description;
};

struct ParsedRun {
  std::string hash, source, schema, commit, build_flags, suite, size, date;
  bool dirty = false;
  Machine machine;
  std::optional<double> floor_ns;
  json context;
  ResultsFile file;                      // the samples, exactly as compare reads them
  std::map<std::string, json> counters;  // per cell
  std::map<std::string, int> threads;    // per cell
};

std::string text_at(const json& j, const char* pointer) {
  const json::json_pointer p(pointer);
  if (!j.contains(p)) return "";
  const json& v = j.at(p);
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

// The file's results schema, or one line saying why it is not read.
std::string checked_schema(const json& doc, const std::string& who) {
  const json::json_pointer block("/context/rcbench");
  if (!doc.is_object() || !doc.contains(block) || !doc.at(block).is_object())
    throw UsageError(who + " is not an rcbench results file (no context.rcbench): history records the files "
                           "`rcbench run` writes");
  const std::string schema = text_at(doc, "/context/rcbench/schema");
  if (std::find(kReadableSchemas.begin(), kReadableSchemas.end(), schema) == kReadableSchemas.end())
    throw UsageError(who + " has results schema '" + (schema.empty() ? "none" : schema) +
                     "', which this rcbench does not read (it reads rcbench/1 and rcbench/2); record it with a "
                     "newer rcbench");
  return schema;
}

// The machine a file was measured on (see history.h for what is keyed).
Machine machine_of(const json& context, const std::string& given_name) {
  Machine m;
  const json::json_pointer topo("/rcbench/topology");
  if (context.contains(topo) && context.at(topo).is_object()) {
    const json& t = context.at(topo);
    m.cpu_model = t.value("cpu_model", std::string("unknown CPU"));
    m.description = {{"cpu_model", m.cpu_model},        {"packages", t.value("packages", json())},
                     {"cores", t.value("cores", json())}, {"pus", t.value("pus", json())},
                     {"numa_nodes", t.value("numa_nodes", json())}};
  } else {
    m.cpu_model = "not recorded";
    m.description = {{"cpu_model", m.cpu_model},
                     {"num_cpus", context.value("num_cpus", json())},
                     {"mhz_per_cpu", context.value("mhz_per_cpu", json())},
                     {"caches", context.value("caches", json())}};
  }
  m.fingerprint = content_hash(m.description.dump());
  m.name = given_name;
  if (m.name.empty()) m.name = text_at(context, "/rcbench/host");
  if (m.name.empty()) m.name = text_at(context, "/host_name");
  if (m.name.empty()) m.name = "unknown";
  return m;
}

std::string build_flags_of(const json& context) {
  std::string s = text_at(context, "/rcbench/build/compiler") + " " + text_at(context, "/rcbench/build/build_type") +
                  " " + text_at(context, "/rcbench/build/cxx_flags") + " allocator=" +
                  text_at(context, "/rcbench/build/allocator");
  if (const std::string san = text_at(context, "/rcbench/build/sanitizer"); !san.empty()) s += " sanitizer=" + san;
  std::string squeezed;  // " -O3" and doubled blanks read the same
  for (const char ch : s)
    if (!(ch == ' ' && (squeezed.empty() || squeezed.back() == ' '))) squeezed += ch;
  return squeezed;
}

// Google Benchmark's own fields: what is left of an entry is a counter.
bool is_standard_field(const std::string& key) {
  static const std::set<std::string> kFields = {
      "name", "run_name", "run_type", "repetitions", "repetition_index", "threads", "iterations", "real_time",
      "cpu_time", "time_unit", "family_index", "per_family_instance_index", "aggregate_name", "aggregate_unit"};
  return kFields.count(key) > 0;
}

json counters_of(const json& entry) {
  json out = json::object();
  for (const auto& [key, value] : entry.items())
    if (value.is_number() && !is_standard_field(key)) out[key] = value;
  return out;
}

// Each cell's counters: the median aggregate's, else (instruction files have
// no aggregates) the first counted repetition's.
void read_counters(const json& doc, ParsedRun& run) {
  for (const auto& e : doc["benchmarks"]) {
    if (!e.is_object() || !e.contains("name") || !e["name"].is_string()) continue;
    const std::string name = e.value("run_name", e["name"].get<std::string>());
    const bool median = e.value("aggregate_name", "") == "median";
    const bool repetition = e.value("run_type", "iteration") == "iteration" && in_statistics(e);
    if (repetition && !run.threads.count(name)) run.threads[name] = e.value("threads", 1);
    if (median || (repetition && !run.counters.count(name))) run.counters[name] = counters_of(e);
  }
}

ParsedRun parse_run(const std::string& path, const std::string& machine_name, const std::string& commit) {
  const std::string who = "'" + path + "'";
  const std::string text = read_results_text(path);
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::parse_error& e) {
    throw UsageError(who + " is not a results file: not JSON (" + e.what() + ")");
  }
  ParsedRun run;
  run.schema = checked_schema(doc, who);
  run.file = parse_results(doc, path, "FILE");
  run.hash = content_hash(text);
  run.source = path;
  run.context = doc["context"];
  run.machine = machine_of(run.context, machine_name);
  run.commit = commit.empty() ? text_at(run.context, "/rcbench/build/git_commit") : commit;
  if (run.commit.empty())
    throw UsageError(who + " records no commit (context.rcbench.build.git_commit): give it with --commit REV");
  run.dirty = text_at(run.context, "/rcbench/build/git_dirty") == "true";
  run.build_flags = build_flags_of(run.context);
  run.suite = text_at(run.context, "/rcbench/options/suite");
  run.size = text_at(run.context, "/rcbench/options/size");
  run.date = text_at(run.context, "/date");
  const json::json_pointer floor("/rcbench/probe/plain_pair_ns");
  if (run.context.contains(floor) && run.context.at(floor).is_number())
    run.floor_ns = run.context.at(floor).get<double>();
  read_counters(doc, run);
  return run;
}

bool table_exists(const sql::Db& db, const char* name) {
  auto s = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1");
  s.bind(1, std::string(name));
  return s.step();
}

// Opens the store; creates its tables when `create`. Refuses a file of
// another layout, so a future one is never misread.
sql::Db open_store(const std::string& path, bool create) {
  if (!create && !fs::exists(path))
    throw UsageError("no history database at '" + path + "' (create one: rcbench history add FILE --db " + path + ")");
  if (create && fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
  try {
    sql::Db db(path, create);
    const bool fresh = !table_exists(db, "meta");
    if (fresh && !create && fs::file_size(path) == 0)
      throw UsageError("history database '" + path +
                       "' is empty: record results first (rcbench history add FILE --db " + path + ")");
    if (fresh && !create) throw UsageError("'" + path + "' is not a history database (no meta table)");
    if (fresh) {
      db.exec(kCreateTables);
      db.prepare("INSERT OR IGNORE INTO meta(key, value) VALUES('schema', ?1)")
          .bind(1, std::string(kHistorySchema))
          .run();
    }
    auto s = db.prepare("SELECT value FROM meta WHERE key = 'schema'");
    const std::string schema = s.step() ? s.text(0) : "";
    if (schema != kHistorySchema)
      throw UsageError("'" + path + "' is a history database of layout '" + schema + "'; this rcbench reads " +
                       kHistorySchema);
    return db;
  } catch (const std::runtime_error& e) {
    if (dynamic_cast<const UsageError*>(&e)) throw;
    throw UsageError(e.what());  // "file is not a database" and the like: bad input
  }
}

std::int64_t machine_id(const sql::Db& db, const Machine& m, bool rename) {
  db.prepare("INSERT INTO machines(fingerprint, name, cpu_model, description) VALUES(?1, ?2, ?3, ?4) "
             "ON CONFLICT(fingerprint) DO UPDATE SET name = excluded.name WHERE ?5")
      .bind(1, m.fingerprint)
      .bind(2, m.name)
      .bind(3, m.cpu_model)
      .bind(4, m.description.dump())
      .bind(5, std::int64_t{rename})
      .run();
  auto s = db.prepare("SELECT id FROM machines WHERE fingerprint = ?1");
  s.bind(1, m.fingerprint);
  if (!s.step()) db.fail("finding machine " + m.fingerprint);
  return s.integer(0);
}

std::int64_t insert_run(const sql::Db& db, const ParsedRun& r, std::int64_t machine) {
  db.prepare("INSERT INTO runs(content_hash, machine_id, git_commit, git_dirty, build_flags, schema, metric, scaling, "
             "unit, suite, size, floor_ns, date, source, context) "
             "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")
      .bind(1, r.hash)
      .bind(2, machine)
      .bind(3, r.commit)
      .bind(4, std::int64_t{r.dirty})
      .bind(5, r.build_flags)
      .bind(6, r.schema)
      .bind(7, r.file.metric)
      .bind(8, r.file.scaling)
      .bind(9, r.file.unit)
      .bind(10, r.suite)
      .bind(11, r.size)
      .bind(12, r.floor_ns)
      .bind(13, r.date)
      .bind(14, r.source)
      .bind(15, r.context.dump())
      .run();
  return db.last_insert_id();
}

// The unit of the figure compare judges a cell on (judge() picks per item
// when both sides have it; one side alone has it when the file does).
std::string cell_unit(const ResultsFile& f, const BenchmarkSamples& b) {
  if (!b.per_item.empty()) return f.unit + "/item";
  return std::string(f.metric == "instructions" ? "instructions" : "ns") + "/iteration";
}

void insert_cells(sql::Statement& s, const ParsedRun& r, std::int64_t run) {
  std::int64_t position = 0;  // the file's order, which compare's rows follow
  for (const BenchmarkSamples& b : r.file.benchmarks) {
    const std::vector<double>& values = b.per_item.empty() ? b.per_iteration : b.per_item;
    const auto counters = r.counters.find(b.name);
    const auto threads = r.threads.find(b.name);
    s.bind(1, run)
        .bind(2, b.name)
        .bind(3, b.strategy)
        .bind(4, b.workload)
        .bind(5, std::int64_t{threads == r.threads.end() ? 1 : threads->second})
        .bind(6, cell_unit(r.file, b))
        .bind(7, values.empty() ? std::nullopt : std::optional<double>(median(values)))
        .bind(8, b.ci95 ? std::optional<double>(b.ci95->low) : std::nullopt)
        .bind(9, b.ci95 ? std::optional<double>(b.ci95->high) : std::nullopt)
        .bind(10, static_cast<std::int64_t>(b.repetitions))
        .bind(11, static_cast<std::int64_t>(b.left_out))
        .bind(12, b.error)
        .bind(13, json(b.per_item).dump())
        .bind(14, json(b.per_iteration).dump())
        .bind(15, counters == r.counters.end() ? std::string("{}") : counters->second.dump())
        .bind(16, position++)
        .run();
  }
}

bool already_recorded(const sql::Db& db, const std::string& hash) {
  auto s = db.prepare("SELECT 1 FROM runs WHERE content_hash = ?1");
  s.bind(1, hash);
  return s.step();
}

// ---- queries ----------------------------------------------------------

// A run as the queries see it.
struct StoredRun {
  std::int64_t id = 0, machine = 0;
  std::string machine_name, fingerprint, cpu_model, commit, metric, scaling, size, unit, date;
  std::optional<double> floor_ns;
  json context;
};

constexpr const char* kRunColumns =
    "SELECT r.id, r.machine_id, m.name, m.fingerprint, m.cpu_model, r.git_commit, r.metric, r.scaling, r.size, "
    "r.unit, r.date, r.floor_ns, r.context FROM runs r JOIN machines m ON m.id = r.machine_id ";

StoredRun stored_run(const sql::Statement& s) {
  return {s.integer(0), s.integer(1),  s.text(2),      s.text(3),      s.text(4),
          s.text(5),    s.text(6),     s.text(7),      s.text(8),      s.text(9),
          s.text(10),   s.maybe_real(11), json::parse(s.text(12))};
}

// Up to five items, then how many more: messages stay one line.
std::string a_few(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size() && i < 5; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > 5) out += " and " + std::to_string(items.size() - 5) + " more";
  return out.empty() ? "none" : out;
}

std::vector<std::string> column(const sql::Db& db, const std::string& query) {
  std::vector<std::string> out;
  auto s = db.prepare(query);
  while (s.step()) out.push_back(s.text(0));
  return out;
}

void require_results(const sql::Db& db, const std::string& path) {
  auto s = db.prepare("SELECT COUNT(*) FROM runs");
  if (!s.step() || s.integer(0) == 0)
    throw UsageError("history database '" + path + "' is empty: record results first (rcbench history add FILE --db " +
                     path + ")");
}

// The machine ids `wanted` names (a name, or a fingerprint's first digits);
// every machine when empty.
std::set<std::int64_t> machines_named(const sql::Db& db, const std::string& wanted) {
  std::set<std::int64_t> ids;
  std::vector<std::string> known;
  auto s = db.prepare("SELECT id, name, fingerprint FROM machines ORDER BY id");
  while (s.step()) {
    known.push_back(s.text(1) + " (" + s.text(2) + ")");
    if (wanted.empty() || s.text(1) == wanted || s.text(2).starts_with(wanted)) ids.insert(s.integer(0));
  }
  if (ids.empty()) throw UsageError("no machine '" + wanted + "' in the history (machines: " + a_few(known) + ")");
  return ids;
}

// The one recorded commit `rev` names (whole, or its first 4 or more digits).
std::string resolve_revision(const sql::Db& db, const std::string& rev) {
  if (rev.size() < 4) throw UsageError("revision '" + rev + "' is too short: give at least 4 digits of a commit");
  const std::vector<std::string> all = column(db, "SELECT git_commit FROM runs GROUP BY git_commit ORDER BY MIN(date)");
  std::vector<std::string> hits;
  std::copy_if(all.begin(), all.end(), std::back_inserter(hits),
               [&](const std::string& c) { return c.starts_with(rev); });
  if (hits.empty())
    throw UsageError("unknown revision '" + rev + "': no run recorded at it (recorded: " + a_few(all) + ")");
  if (hits.size() > 1) throw UsageError("revision '" + rev + "' is ambiguous: " + a_few(hits));
  return hits.front();
}

std::vector<double> numbers(const std::string& text) { return json::parse(text).get<std::vector<double>>(); }

// A stored run as compare reads a file: the same samples, the same context.
ResultsFile results_of(const sql::Db& db, const StoredRun& r) {
  ResultsFile f;
  f.path = r.commit.substr(0, 12) + " on " + r.machine_name;
  f.metric = r.metric;
  f.scaling = r.scaling;
  f.unit = r.unit;
  f.contexts = {r.context};
  auto s = db.prepare("SELECT name, strategy, workload, ci_low, ci_high, repetitions, left_out, error, per_item, "
                      "per_iteration FROM cells WHERE run_id = ?1 ORDER BY position");
  s.bind(1, r.id);
  while (s.step()) {
    BenchmarkSamples b;
    b.name = s.text(0);
    b.strategy = s.text(1);
    b.workload = s.text(2);
    if (const auto lo = s.maybe_real(3), hi = s.maybe_real(4); lo && hi) b.ci95 = Interval{*lo, *hi};
    b.repetitions = static_cast<std::size_t>(s.integer(5));
    b.left_out = static_cast<std::size_t>(s.integer(6));
    b.error = s.text(7);
    b.per_item = numbers(s.text(8));
    b.per_iteration = numbers(s.text(9));
    f.benchmarks.push_back(std::move(b));
  }
  return f;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (const char ch : s) out += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return out + "\"";
}

std::string number_text(std::optional<double> v) {
  if (!v) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", *v);
  return buf;
}

void require_format(const std::string& format, bool console_too) {
  if (format == "md" || format == "csv" || format == "json" || (console_too && format == "console")) return;
  throw UsageError("bad --format '" + format + "' (valid: md, csv, json" + (console_too ? ", console)" : ")"));
}

// ---- show ---------------------------------------------------------------

struct Point {
  std::string commit, date;
  bool dirty = false;
  std::optional<double> median, low, high;
  std::int64_t repetitions = 0;
  json counters;
};

struct Series {
  std::string machine, fingerprint, cpu_model, cell, metric, scaling, size, unit;
  std::vector<Point> points;
};

std::vector<std::string> cells_matching(const sql::Db& db, const std::string& pattern) {
  std::regex re;
  try {
    re = std::regex(pattern, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw UsageError("bad cell filter '" + pattern + "': not an ECMAScript regular expression: " + e.what());
  }
  std::vector<std::string> hits;
  for (const auto& name : column(db, "SELECT DISTINCT name FROM cells ORDER BY name"))
    if (name == pattern || std::regex_search(name, re)) hits.push_back(name);
  if (hits.empty()) throw UsageError("no cell in the history matches '" + pattern + "'");
  return hits;
}

// One cell's points, a series per machine (and metric, scaling, size), in
// the order the runs were made.
void add_series(const sql::Db& db, const std::string& cell, const std::set<std::int64_t>& machines,
                std::vector<Series>& out) {
  auto s = db.prepare(
      "SELECT r.machine_id, m.name, m.fingerprint, m.cpu_model, r.metric, r.scaling, r.size, c.unit, r.git_commit, "
      "r.git_dirty, r.date, c.median, c.ci_low, c.ci_high, c.repetitions, c.counters "
      "FROM cells c JOIN runs r ON r.id = c.run_id JOIN machines m ON m.id = r.machine_id WHERE c.name = ?1 "
      "ORDER BY r.machine_id, r.metric, r.scaling, r.size, c.unit, r.date, r.id");
  s.bind(1, cell);
  std::string last_key;
  while (s.step()) {
    if (!machines.count(s.integer(0))) continue;
    const std::string key =
        s.text(2) + '\x1f' + s.text(4) + '\x1f' + s.text(5) + '\x1f' + s.text(6) + '\x1f' + s.text(7);
    if (key != last_key)
      out.push_back({s.text(1), s.text(2), s.text(3), cell, s.text(4), s.text(5), s.text(6), s.text(7), {}});
    last_key = key;
    out.back().points.push_back({s.text(8), s.text(10), s.integer(9) != 0, s.maybe_real(11), s.maybe_real(12),
                                 s.maybe_real(13), s.integer(14), json::parse(s.text(15))});
  }
}

std::string short_commit(const Point& p) { return p.commit.substr(0, 10) + (p.dirty ? "+dirty" : ""); }

void print_show_md(const std::vector<Series>& all) {
  for (const Series& se : all) {
    std::printf("### `%s` on %s (%s, %s): %s, %s scaling, %s\n\n", se.cell.c_str(), se.machine.c_str(),
                se.fingerprint.c_str(), se.cpu_model.c_str(), se.metric.c_str(), se.scaling.c_str(), se.size.c_str());
    std::printf("| commit | date | median (%s) | 95%% interval | clean repetitions |\n|---|---|---:|---|---:|\n",
                se.unit.c_str());
    for (const Point& p : se.points)
      std::printf("| %s | %s | %s | %s | %lld |\n", short_commit(p).c_str(), p.date.c_str(),
                  number_text(p.median).c_str(),
                  p.low ? ("[" + number_text(p.low) + ", " + number_text(p.high) + "]").c_str() : "–",
                  static_cast<long long>(p.repetitions));
    std::printf("\n");
  }
}

void print_show_csv(const std::vector<Series>& all) {
  std::printf("machine,fingerprint,cell,metric,scaling,size,unit,commit,dirty,date,median,ci95_low,ci95_high,"
              "repetitions\n");
  for (const Series& se : all)
    for (const Point& p : se.points)
      std::printf("%s,%s,%s,%s,%s,%s,%s,%s,%d,%s,%s,%s,%s,%lld\n", csv_field(se.machine).c_str(),
                  se.fingerprint.c_str(), csv_field(se.cell).c_str(), se.metric.c_str(), se.scaling.c_str(),
                  se.size.c_str(), csv_field(se.unit).c_str(), p.commit.c_str(), p.dirty ? 1 : 0, p.date.c_str(),
                  number_text(p.median).c_str(), number_text(p.low).c_str(), number_text(p.high).c_str(),
                  static_cast<long long>(p.repetitions));
}

json show_json(const std::vector<Series>& all) {
  json series = json::array();
  for (const Series& se : all) {
    json points = json::array();
    for (const Point& p : se.points)
      points.push_back({{"commit", p.commit},
                        {"dirty", p.dirty},
                        {"date", p.date},
                        {"median", p.median ? json(*p.median) : json()},
                        {"ci95", p.low && p.high ? json::array({*p.low, *p.high}) : json()},
                        {"repetitions", p.repetitions}, {"counters", p.counters}});
    series.push_back({{"machine", se.machine}, {"fingerprint", se.fingerprint}, {"cpu_model", se.cpu_model},
                      {"cell", se.cell}, {"metric", se.metric}, {"scaling", se.scaling}, {"size", se.size},
                      {"unit", se.unit}, {"points", points}});
  }
  return {{"schema", "rcbench-history-show/1"}, {"series", series}};
}

// ---- diff ---------------------------------------------------------------

// Runs judged against each other: one machine, one metric, scaling and size.
struct GroupKey {
  std::int64_t machine = 0;
  std::string metric, scaling, size;
  auto operator<=>(const GroupKey&) const = default;
};

struct Group {
  StoredRun first;  // names the machine
  std::vector<ResultsFile> base, next;
  std::optional<double> base_floor, new_floor;  // the probe's plain_pair_ns, of the first run each side
};

// The floor is no key (history.h), but a machine whose floor moved between
// the two commits is not the machine it was: say so beside the verdicts.
void note_floor(const Group& g, Comparison& c) {
  constexpr double kMoved = 0.10;
  if (!g.base_floor || !g.new_floor || *g.base_floor <= 0) return;
  const double change = *g.new_floor / *g.base_floor - 1;
  if (std::abs(change) <= kMoved) return;
  char line[200];
  std::snprintf(line, sizeof line,
                "the probe's floor (plain_pair_ns) moved %+.0f%% between the two runs (%.3f -> %.3f ns): the "
                "machine itself may have changed",
                100 * change, *g.base_floor, *g.new_floor);
  c.notes.emplace_back(line);
}

void load_side(const sql::Db& db, const std::string& commit, const std::set<std::int64_t>& machines, bool is_base,
               std::map<GroupKey, Group>& groups) {
  auto s = db.prepare(std::string(kRunColumns) + "WHERE r.git_commit = ?1 ORDER BY r.date, r.id");
  s.bind(1, commit);
  while (s.step()) {
    StoredRun r = stored_run(s);
    if (!machines.count(r.machine)) continue;
    auto [it, fresh] = groups.try_emplace(GroupKey{r.machine, r.metric, r.scaling, r.size});
    (is_base ? it->second.base : it->second.next).push_back(results_of(db, r));
    std::optional<double>& floor = is_base ? it->second.base_floor : it->second.new_floor;
    if (!floor) floor = r.floor_ns;
    if (fresh) it->second.first = std::move(r);
  }
}

struct Judged {
  StoredRun machine;
  Comparison comparison;
};

struct Diff {
  std::string base, next;
  std::vector<Judged> judged;
  std::vector<std::string> skipped;  // machines with one side only, or nothing in common
  [[nodiscard]] int exit_status() const {
    for (const auto& j : judged)
      if (j.comparison.exit_status() != kExitOk) return j.comparison.exit_status();
    return kExitOk;
  }
};

std::string group_label(const StoredRun& r) {
  return r.machine_name + " (" + r.fingerprint + ", " + r.cpu_model + "), " + r.metric + ", " + r.scaling +
         " scaling" + (r.size.empty() ? "" : ", size " + r.size);
}

Diff diff_runs(const sql::Db& db, const std::string& base, const std::string& next, const HistoryOptions& opt) {
  // One commit on both sides would judge its runs against themselves, every
  // cell "same" or, pooled, short of samples: neither answers a question.
  if (base == next)
    throw UsageError("both revisions are commit " + base.substr(0, 12) +
                     ": history diff compares two commits; to see how the runs of one commit agree, give their "
                     "files to rcbench compare (A.json B.json), or list them with rcbench history show");
  const std::set<std::int64_t> machines = machines_named(db, opt.machine);
  std::map<GroupKey, Group> groups;
  load_side(db, base, machines, true, groups);
  load_side(db, next, machines, false, groups);
  Diff d{base, next, {}, {}};
  for (auto& [key, g] : groups) {
    if (g.base.empty() || g.next.empty()) {
      d.skipped.push_back(group_label(g.first) + ": only at " + (g.base.empty() ? next : base).substr(0, 12));
      continue;
    }
    // As cmd_compare does: several runs of one side count once each.
    const bool per_run = g.base.size() > 1 || g.next.size() > 1;
    try {
      d.judged.push_back({g.first, compare(pool(g.base, per_run), pool(g.next, per_run), opt.compare)});
      note_floor(g, d.judged.back().comparison);
    } catch (const UsageError& e) {
      d.skipped.push_back(group_label(g.first) + ": " + e.what());
    }
  }
  if (d.judged.empty())
    throw UsageError("no machine has comparable results at both " + base.substr(0, 12) + " and " + next.substr(0, 12) +
                     " (history compares a machine only with itself): " + a_few(d.skipped));
  return d;
}

void print_diff_text(const Diff& d, bool markdown) {
  for (const Judged& j : d.judged) {
    std::printf("%s %s: %s -> %s\n\n", markdown ? "###" : "==>", group_label(j.machine).c_str(),
                d.base.substr(0, 12).c_str(), d.next.substr(0, 12).c_str());
    std::fputs((markdown ? format_markdown(j.comparison) : format_table(j.comparison)).c_str(), stdout);
    std::printf("\n");
  }
  for (const auto& s : d.skipped) std::printf("not compared: %s\n", s.c_str());
}

void print_diff_csv(const Diff& d) {
  std::printf("machine,fingerprint,metric,scaling,size,benchmark,strategy,workload,unit,base_median,new_median,change,"
              "p_value,verdict\n");
  for (const Judged& j : d.judged)
    for (const Row& r : j.comparison.rows)
      std::printf("%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s\n", csv_field(j.machine.machine_name).c_str(),
                  j.machine.fingerprint.c_str(), j.machine.metric.c_str(), j.machine.scaling.c_str(),
                  j.machine.size.c_str(), csv_field(r.name).c_str(), csv_field(r.strategy).c_str(),
                  csv_field(r.workload).c_str(), csv_field(r.unit).c_str(), number_text(r.base_median).c_str(),
                  number_text(r.new_median).c_str(), number_text(r.change).c_str(), number_text(r.p).c_str(),
                  to_string(r.verdict));
}

json diff_json(const Diff& d) {
  json out = json::array();
  for (const Judged& j : d.judged)
    out.push_back({{"machine", j.machine.machine_name}, {"fingerprint", j.machine.fingerprint},
                   {"cpu_model", j.machine.cpu_model}, {"metric", j.machine.metric},
                   {"scaling", j.machine.scaling}, {"size", j.machine.size}, {"comparison", to_json(j.comparison)}});
  return {{"schema", "rcbench-history-diff/1"}, {"base", d.base},   {"new", d.next},
          {"comparisons", out},                 {"skipped", d.skipped}, {"exit_status", d.exit_status()}};
}

}  // namespace

std::string content_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (const unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string read_results_text(const std::string& path) {
  const std::string who = "'" + path + "'";
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);
  if (st.type() == fs::file_type::not_found) throw UsageError(who + " does not exist");
  if (fs::is_directory(st)) throw UsageError(who + " is a directory, not a results file");
  // gzread reads a file that is not compressed as it is, so one path serves
  // results.json and results.json.gz alike.
  gzFile in = gzopen(path.c_str(), "rb");
  if (!in) throw UsageError(who + " cannot be read");
  std::string text;
  std::array<char, 1 << 16> buf{};
  int n = 0;
  while ((n = gzread(in, buf.data(), static_cast<unsigned>(buf.size()))) > 0)
    text.append(buf.data(), static_cast<std::size_t>(n));
  int err = Z_OK;
  const std::string why = n < 0 ? gzerror(in, &err) : "";
  gzclose(in);
  if (n < 0) throw UsageError(who + " cannot be read: " + why + " (a truncated .gz?)");
  return text;
}

AddSummary history_add(const std::vector<std::string>& files, const HistoryOptions& opt) {
  if (files.empty()) throw UsageError("history add: no results file given");
  std::vector<ParsedRun> runs;
  for (const auto& f : files) runs.push_back(parse_run(f, opt.machine, opt.commit));  // all checked before any write
  const sql::Db db = open_store(opt.db, true);
  AddSummary sum;
  sql::Transaction tx(db);
  auto cells = db.prepare("INSERT INTO cells(run_id, name, strategy, workload, threads, unit, median, ci_low, "
                          "ci_high, repetitions, left_out, error, per_item, per_iteration, counters, position) "
                          "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  for (const ParsedRun& r : runs) {
    if (already_recorded(db, r.hash)) {
      ++sum.already;
      continue;
    }
    const std::int64_t run = insert_run(db, r, machine_id(db, r.machine, !opt.machine.empty()));
    insert_cells(cells, r, run);
    ++sum.added;
    sum.cells += static_cast<long>(r.file.benchmarks.size());
  }
  tx.commit();
  return sum;
}

int cmd_history_add(const std::vector<std::string>& files, const HistoryOptions& opt) {
  const AddSummary s = history_add(files, opt);
  std::printf("history: recorded %d file(s), %ld cell(s) in %s; %d already there, unchanged\n", s.added, s.cells,
              opt.db.c_str(), s.already);
  return kExitOk;
}

}  // namespace rcb

namespace rcb {

int cmd_history_show(const std::string& cell_regex, const HistoryOptions& opt) {
  require_format(opt.format, false);
  const sql::Db db = open_store(opt.db, false);
  require_results(db, opt.db);
  const std::set<std::int64_t> machines = machines_named(db, opt.machine);
  std::vector<Series> all;
  for (const auto& cell : cells_matching(db, cell_regex)) add_series(db, cell, machines, all);
  if (all.empty()) throw UsageError("no cell matching '" + cell_regex + "' on machine '" + opt.machine + "'");
  if (opt.format == "json")
    std::printf("%s\n", show_json(all).dump(2).c_str());
  else if (opt.format == "csv")
    print_show_csv(all);
  else
    print_show_md(all);
  return kExitOk;
}

HistoryCounts history_counts(const std::string& path) {
  const sql::Db db = open_store(path, false);
  const auto count = [&](const char* table) {
    auto s = db.prepare(std::string("SELECT COUNT(*) FROM ") + table);
    return s.step() ? static_cast<long>(s.integer(0)) : 0L;
  };
  return {count("machines"), count("runs"), count("cells")};
}

json history_diff(const std::string& rev1, const std::string& rev2, const HistoryOptions& opt) {
  const sql::Db db = open_store(opt.db, false);
  require_results(db, opt.db);
  return diff_json(diff_runs(db, resolve_revision(db, rev1), resolve_revision(db, rev2), opt));
}

int cmd_history_diff(const std::string& rev1, const std::string& rev2, const HistoryOptions& opt) {
  require_format(opt.format, true);
  const sql::Db db = open_store(opt.db, false);
  require_results(db, opt.db);
  const Diff d = diff_runs(db, resolve_revision(db, rev1), resolve_revision(db, rev2), opt);
  if (opt.format == "json")
    std::printf("%s\n", diff_json(d).dump(2).c_str());
  else if (opt.format == "csv")
    print_diff_csv(d);
  else
    print_diff_text(d, opt.format == "md");
  return d.exit_status();
}

}  // namespace rcb
