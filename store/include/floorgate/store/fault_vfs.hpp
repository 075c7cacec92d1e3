#pragma once
// A SQLite VFS shim for tests and benchmarks (SQLite's own test_vfs.c technique): every call
// goes to the default VFS, but the Nth read, write or sync (and every one after it) can be made
// to fail with an I/O error, and every sync can be delayed to play slow flash (eMMC/SD fsyncs of
// 1-20 ms). A store uses it when Options::vfs is fault_vfs_name(). Process-wide settings;
// thread-safe. Not used by the daemon.

#include <chrono>
#include <cstdint>

namespace floorgate::store::fault_vfs {

enum class Op { read, write, sync };

// Registers the VFS on first call (not as the default) and returns its name.
const char* name();
// Clears every planned failure and delay and the call counters.
void reset();
// From the nth call of `op` on (1 = the next call), each one fails with SQLITE_IOERR.
void fail_from(Op op, std::uint64_t nth);
// Only the nth call of `op` from now on fails (1 = the next call); the ones after it work.
void fail_only(Op op, std::uint64_t nth);
// Adds this delay to every xSync (0 = none).
void set_sync_delay(std::chrono::microseconds delay);
// Calls of `op` since the last reset (failed ones included).
std::uint64_t calls(Op op);
// Calls of `op` that were made to fail since the last reset.
std::uint64_t failures(Op op);

}  // namespace floorgate::store::fault_vfs
