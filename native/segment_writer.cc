#include "segment_writer.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <vector>

namespace nsq {

int ExecuteBatch(const WriteOp* ops, size_t count, size_t* done) {
  *done = 0;
  std::vector<int> sync_fds;
  std::vector<bool> full_sync;
  for (size_t i = 0; i < count; i++) {
    const WriteOp& op = ops[i];
    size_t written = 0;
    while (written < op.len) {
      ssize_t n = pwrite(op.fd, op.data + written, op.len - written, static_cast<off_t>(op.pos + static_cast<int64_t>(written)));
      if (n < 0) {
        if (errno == EINTR) continue;
        *done = i;
        return errno;
      }
      if (n == 0) {
        *done = i;
        return EIO;
      }
      written += static_cast<size_t>(n);
    }
    if (op.flags & 3) {
      bool found = false;
      for (size_t k = 0; k < sync_fds.size(); k++) {
        if (sync_fds[k] == op.fd) {
          found = true;
          if (op.flags & 2) full_sync[k] = true;
        }
      }
      if (!found) {
        sync_fds.push_back(op.fd);
        full_sync.push_back((op.flags & 2) != 0);
      }
    }
  }
  *done = count;
  for (size_t k = 0; k < sync_fds.size(); k++) {
    int rc;
    do {
      rc = full_sync[k] ? fsync(sync_fds[k]) : fdatasync(sync_fds[k]);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) return errno;
  }
  return 0;
}

int LockDirectory(const char* path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

void UnlockDirectory(int fd) {
  if (fd < 0) return;
  flock(fd, LOCK_UN);
  close(fd);
}

}  // namespace nsq
