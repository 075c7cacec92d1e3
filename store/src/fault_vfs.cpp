// The fault-injecting VFS shim (fault_vfs.hpp): a file object wraps the default VFS's file
// object (stored right behind it) and forwards every method, counting and failing as planned.
#include "floorgate/store/fault_vfs.hpp"

#include <sqlite3.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

namespace floorgate::store::fault_vfs {
namespace {

struct Plan {
  std::array<std::atomic<std::uint64_t>, 3> calls{};
  std::array<std::atomic<std::uint64_t>, 3> failures{};
  std::array<std::atomic<std::uint64_t>, 3> fail_from{};  // 0 = never
  std::array<std::atomic<std::uint64_t>, 3> fail_until{};  // the last call that fails
  std::atomic<std::int64_t> sync_delay_us{0};
};
Plan g_plan;

// True when this call of op must fail (counts it either way).
bool count_and_check(Op op) {
  const auto i = static_cast<std::size_t>(op);
  const auto n = g_plan.calls[i].fetch_add(1) + 1;
  const auto from = g_plan.fail_from[i].load();
  if (from != 0 && n >= from && n <= g_plan.fail_until[i].load()) {
    g_plan.failures[i].fetch_add(1);
    return true;
  }
  return false;
}

struct File {
  sqlite3_file base;     // must be first: SQLite sees this
  sqlite3_file* real;    // the default VFS's file object, right behind this struct
};

sqlite3_file* real_of(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

int x_close(sqlite3_file* f) { return real_of(f)->pMethods->xClose(real_of(f)); }
int x_read(sqlite3_file* f, void* buf, int amount, sqlite3_int64 offset) {
  if (count_and_check(Op::read)) return SQLITE_IOERR_READ;
  return real_of(f)->pMethods->xRead(real_of(f), buf, amount, offset);
}
int x_write(sqlite3_file* f, const void* buf, int amount, sqlite3_int64 offset) {
  if (count_and_check(Op::write)) return SQLITE_IOERR_WRITE;
  return real_of(f)->pMethods->xWrite(real_of(f), buf, amount, offset);
}
int x_truncate(sqlite3_file* f, sqlite3_int64 size) {
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}
int x_sync(sqlite3_file* f, int flags) {
  if (count_and_check(Op::sync)) return SQLITE_IOERR_FSYNC;
  if (auto us = g_plan.sync_delay_us.load(); us > 0) {
    std::this_thread::sleep_for(std::chrono::microseconds(us));  // the simulated device time
  }
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}
int x_file_size(sqlite3_file* f, sqlite3_int64* size) {
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}
int x_lock(sqlite3_file* f, int level) { return real_of(f)->pMethods->xLock(real_of(f), level); }
int x_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int x_check_reserved(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int x_file_control(sqlite3_file* f, int op, void* arg) {
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int x_sector_size(sqlite3_file* f) { return real_of(f)->pMethods->xSectorSize(real_of(f)); }
int x_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}
int x_shm_map(sqlite3_file* f, int region, int size, int extend, void volatile** out) {
  return real_of(f)->pMethods->xShmMap(real_of(f), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  return real_of(f)->pMethods->xShmLock(real_of(f), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* f) { real_of(f)->pMethods->xShmBarrier(real_of(f)); }
int x_shm_unmap(sqlite3_file* f, int del) {
  return real_of(f)->pMethods->xShmUnmap(real_of(f), del);
}
int x_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  // No memory-mapped reads: every page read goes through x_read, where faults are injected.
  (void)f, (void)offset, (void)amount;
  *out = nullptr;
  return SQLITE_OK;
}
int x_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* p) {
  (void)f, (void)offset, (void)p;
  return SQLITE_OK;
}

const sqlite3_io_methods kMethods = {
    3,         x_close,         x_read,       x_write,          x_truncate,
    x_sync,    x_file_size,     x_lock,       x_unlock,         x_check_reserved,
    x_file_control, x_sector_size, x_device_characteristics, x_shm_map, x_shm_lock,
    x_shm_barrier, x_shm_unmap, x_fetch,      x_unfetch};

sqlite3_vfs* g_base = nullptr;
sqlite3_vfs g_vfs{};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  int rc = g_base->xOpen(g_base, name, file->real, flags, out_flags);
  // SQLite calls xClose only when pMethods is set: leave it null when the real open failed.
  file->base.pMethods = (rc == SQLITE_OK && file->real->pMethods) ? &kMethods : nullptr;
  return rc;
}
int x_delete(sqlite3_vfs*, const char* name, int sync_dir) {
  return g_base->xDelete(g_base, name, sync_dir);
}
int x_access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return g_base->xAccess(g_base, name, flags, out);
}
int x_full_pathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return g_base->xFullPathname(g_base, name, n, out);
}
void* x_dl_open(sqlite3_vfs*, const char* name) { return g_base->xDlOpen(g_base, name); }
void x_dl_error(sqlite3_vfs*, int n, char* msg) { g_base->xDlError(g_base, n, msg); }
void (*x_dl_sym(sqlite3_vfs*, void* h, const char* sym))(void) {
  return g_base->xDlSym(g_base, h, sym);
}
void x_dl_close(sqlite3_vfs*, void* h) { g_base->xDlClose(g_base, h); }
int x_randomness(sqlite3_vfs*, int n, char* out) { return g_base->xRandomness(g_base, n, out); }
int x_sleep(sqlite3_vfs*, int us) { return g_base->xSleep(g_base, us); }
int x_current_time(sqlite3_vfs*, double* out) { return g_base->xCurrentTime(g_base, out); }
int x_get_last_error(sqlite3_vfs*, int n, char* out) {
  return g_base->xGetLastError ? g_base->xGetLastError(g_base, n, out) : 0;
}
int x_current_time_int64(sqlite3_vfs*, sqlite3_int64* out) {
  return g_base->xCurrentTimeInt64(g_base, out);
}

constexpr const char* kName = "floorgate-fault";

}  // namespace

const char* name() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_base = sqlite3_vfs_find(nullptr);
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_base->szOsFile;
    g_vfs.mxPathname = g_base->mxPathname;
    g_vfs.zName = kName;
    g_vfs.xOpen = x_open;
    g_vfs.xDelete = x_delete;
    g_vfs.xAccess = x_access;
    g_vfs.xFullPathname = x_full_pathname;
    g_vfs.xDlOpen = x_dl_open;
    g_vfs.xDlError = x_dl_error;
    g_vfs.xDlSym = x_dl_sym;
    g_vfs.xDlClose = x_dl_close;
    g_vfs.xRandomness = x_randomness;
    g_vfs.xSleep = x_sleep;
    g_vfs.xCurrentTime = x_current_time;
    g_vfs.xGetLastError = x_get_last_error;
    g_vfs.xCurrentTimeInt64 = x_current_time_int64;
    sqlite3_vfs_register(&g_vfs, 0);
  });
  return kName;
}

void reset() {
  for (std::size_t i = 0; i < 3; ++i) {
    g_plan.fail_from[i] = 0;
    g_plan.fail_until[i] = 0;
    g_plan.calls[i] = 0;
    g_plan.failures[i] = 0;
  }
  g_plan.sync_delay_us = 0;
}

void fail_from(Op op, std::uint64_t nth) {
  const auto i = static_cast<std::size_t>(op);
  g_plan.fail_until[i] = UINT64_MAX;
  g_plan.fail_from[i] = g_plan.calls[i].load() + nth;
}

void fail_only(Op op, std::uint64_t nth) {
  const auto i = static_cast<std::size_t>(op);
  const auto n = g_plan.calls[i].load() + nth;
  g_plan.fail_until[i] = n;
  g_plan.fail_from[i] = n;
}

void set_sync_delay(std::chrono::microseconds delay) { g_plan.sync_delay_us = delay.count(); }

std::uint64_t calls(Op op) { return g_plan.calls[static_cast<std::size_t>(op)].load(); }

std::uint64_t failures(Op op) { return g_plan.failures[static_cast<std::size_t>(op)].load(); }

}  // namespace floorgate::store::fault_vfs
