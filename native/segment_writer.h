// Executes one batch of segment-file writes and syncs on a worker thread (the I/O half of the
// SegmentWriter; the roll and group-commit logic is shared TypeScript). Pure POSIX, no N-API.
#pragma once
#include <cstddef>
#include <cstdint>

namespace nsq {

struct WriteOp {
  int fd;
  int64_t pos;
  const uint8_t* data;
  size_t len;
  // Bit 0: fdatasync this file after the batch's writes. Bit 1: fsync (metadata too).
  uint8_t flags;
};

// Writes every op in order (pwrite, retrying short writes and EINTR), then fdatasyncs (or
// fsyncs) each file an op asked to sync, once. Returns 0, or the errno of the first failure;
// *done is the number of ops whose writes completed (count when only a sync failed).
int ExecuteBatch(const WriteOp* ops, size_t count, size_t* done);

// flock(LOCK_EX | LOCK_NB) on a directory, as nsqd locks its data path: returns the open fd,
// or -errno.
int LockDirectory(const char* path);

// Releases a LockDirectory fd.
void UnlockDirectory(int fd);

}  // namespace nsq
