#include "harness/sqlite_db.h"

namespace rcb::sql {

Db::Db(const std::string& path, bool create) : path_(path) {
  const int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0);
  if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
    const std::string why = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw std::runtime_error("cannot open history database '" + path + "': " + why);
  }
  // Another process appending (a second CI job on the same file): wait for
  // its transaction rather than fail at once.
  sqlite3_busy_timeout(db_, 30000);
}

Db::~Db() { sqlite3_close(db_); }

void Db::fail(const std::string& what) const {
  throw std::runtime_error("history database '" + path_ + "': " + what + ": " + sqlite3_errmsg(db_));
}

void Db::exec(const std::string& sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string why = err ? err : "unknown error";
    sqlite3_free(err);
    throw std::runtime_error("history database '" + path_ + "': " + why + " (in: " + sql.substr(0, 60) + ")");
  }
}

Statement Db::prepare(const std::string& sql) const {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) fail("preparing " + sql.substr(0, 60));
  return Statement(*this, s);
}

Statement& Statement::bind(int i, const std::string& v) {
  if (sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    db_->fail("binding text");
  return *this;
}

Statement& Statement::bind(int i, std::int64_t v) {
  if (sqlite3_bind_int64(s_, i, v) != SQLITE_OK) db_->fail("binding an integer");
  return *this;
}

Statement& Statement::bind(int i, double v) {
  if (sqlite3_bind_double(s_, i, v) != SQLITE_OK) db_->fail("binding a number");
  return *this;
}

Statement& Statement::bind(int i, std::optional<double> v) {
  if (v) return bind(i, *v);
  if (sqlite3_bind_null(s_, i) != SQLITE_OK) db_->fail("binding null");
  return *this;
}

bool Statement::step() {
  const int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail("running a statement");
}

void Statement::run() {
  while (step()) {
  }
  reset();
}

void Statement::reset() {
  sqlite3_reset(s_);
  sqlite3_clear_bindings(s_);
}

std::string Statement::text(int col) const {
  const auto* p = sqlite3_column_text(s_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(s_, col)))
           : std::string();
}

std::optional<double> Statement::maybe_real(int col) const {
  if (sqlite3_column_type(s_, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_double(s_, col);
}

Transaction::~Transaction() {
  if (!done_) {
    try {
      db_.exec("ROLLBACK");
    } catch (const std::exception&) {  // nothing more to undo
    }
  }
}

void Transaction::commit() {
  db_.exec("COMMIT");
  done_ = true;
}

}  // namespace rcb::sql
