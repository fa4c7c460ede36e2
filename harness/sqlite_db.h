#pragma once
// A thin RAII layer over SQLite's C API: a connection, a prepared
// statement, a transaction. Just what harness/history.cpp needs; every
// failure throws std::runtime_error with SQLite's own message.

#include <sqlite3.h>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace rcb::sql {

class Statement;

class Db {
 public:
  // Opens (SQLITE_OPEN_CREATE only when `create`) the file at `path`.
  Db(const std::string& path, bool create);
  ~Db();
  Db(Db&& o) noexcept : db_(o.db_), path_(std::move(o.path_)) { o.db_ = nullptr; }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  Db& operator=(Db&&) = delete;

  void exec(const std::string& sql) const;
  [[nodiscard]] Statement prepare(const std::string& sql) const;
  [[nodiscard]] std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
  [[nodiscard]] int changes() const { return sqlite3_changes(db_); }
  [[noreturn]] void fail(const std::string& what) const;

 private:
  sqlite3* db_ = nullptr;
  std::string path_;
};

class Statement {
 public:
  Statement(const Db& db, sqlite3_stmt* s) : db_(&db), s_(s) {}
  ~Statement() { sqlite3_finalize(s_); }
  Statement(Statement&& o) noexcept : db_(o.db_), s_(o.s_) { o.s_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Parameters count from 1, as in SQL's ?1.
  Statement& bind(int i, const std::string& v);
  Statement& bind(int i, std::int64_t v);
  Statement& bind(int i, double v);
  Statement& bind(int i, std::optional<double> v);
  // True while a row is there to read; false when done.
  [[nodiscard]] bool step();
  // Runs a statement that returns no rows, then resets it for reuse.
  void run();
  void reset();

  [[nodiscard]] std::string text(int col) const;
  [[nodiscard]] std::int64_t integer(int col) const { return sqlite3_column_int64(s_, col); }
  [[nodiscard]] double real(int col) const { return sqlite3_column_double(s_, col); }
  [[nodiscard]] std::optional<double> maybe_real(int col) const;

 private:
  const Db* db_;
  sqlite3_stmt* s_;
};

// BEGIN IMMEDIATE now (the write lock at once: a second writer waits for it
// instead of failing halfway), ROLLBACK unless commit() was reached.
class Transaction {
 public:
  explicit Transaction(const Db& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit();

 private:
  const Db& db_;
  bool done_ = false;
};

}  // namespace rcb::sql
