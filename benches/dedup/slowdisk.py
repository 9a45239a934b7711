#!/usr/bin/env python3
"""An emulated uncached disk, for timing opens of the near-duplicate index (README "An
uncached disk, emulated"): a passthrough FUSE file system over BACKING whose every read
request waits LAT_MS milliseconds (none when it goes on from where the last read of its file
ended: a sequential read) plus its size at BW_MBS megabytes a second. Requests made at once
wait at once, up to the daemon's threads, or up to QD of them (a device's queue depth: 1 is
a single spinning disk; the rest wait their turn). Writes and metadata pass through at once. Drop the
VM's page cache before each timing (`echo 3 > /proc/sys/vm/drop_caches`): the kernel caches
what it read through the mount.

Not a dependency of the project: needs Debian's fuse3 and libfuse2, and `pip install fusepy`.
usage: python3 benches/dedup/slowdisk.py BACKING MOUNTPOINT [LAT_MS=5] [BW_MBS=100] [QD]
       (then `fusermount -u MOUNTPOINT`)"""
import errno, os, sys, threading, time
from fuse import FUSE, FuseOSError, Operations

class Slow(Operations):
    def __init__(self, root, lat, bw, qd=None):
        self.root, self.lat, self.bw = root, lat, bw
        self.ends = {}
        self.queue = threading.Semaphore(qd) if qd else None
    def _p(self, path): return os.path.join(self.root, path.lstrip('/'))
    def access(self, path, mode):
        if not os.access(self._p(path), mode): raise FuseOSError(errno.EACCES)
    def getattr(self, path, fh=None):
        try: st = os.lstat(self._p(path))
        except OSError as e: raise FuseOSError(e.errno)
        return {k: getattr(st, k) for k in ('st_atime','st_ctime','st_gid','st_mode','st_mtime','st_nlink','st_size','st_uid','st_blocks')}
    def readdir(self, path, fh): return ['.', '..'] + os.listdir(self._p(path))
    def mkdir(self, path, mode): os.mkdir(self._p(path), mode)
    def rmdir(self, path): os.rmdir(self._p(path))
    def unlink(self, path): os.unlink(self._p(path))
    def rename(self, old, new): os.rename(self._p(old), self._p(new))
    def chmod(self, path, mode): os.chmod(self._p(path), mode)
    def chown(self, path, uid, gid): os.chown(self._p(path), uid, gid)
    def utimens(self, path, times=None): os.utime(self._p(path), times)
    def truncate(self, path, length, fh=None):
        with open(self._p(path), 'r+b') as f: f.truncate(length)
    def statfs(self, path):
        s = os.statvfs(self._p(path))
        return {k: getattr(s, k) for k in ('f_bavail','f_bfree','f_blocks','f_bsize','f_favail','f_ffree','f_files','f_flag','f_frsize','f_namemax')}
    def open(self, path, flags): return os.open(self._p(path), flags)
    def create(self, path, mode, fi=None): return os.open(self._p(path), os.O_RDWR | os.O_CREAT, mode)
    def read(self, path, size, offset, fh):
        # A read that starts where the last read of this file ended (or up to 1 MiB after)
        # is sequential: the disk streams it without a seek.
        last = self.ends.get(path)
        seq = last is not None and last <= offset <= last + (1 << 20)
        self.ends[path] = offset + size
        wait = (0 if seq else self.lat) + size / self.bw
        if self.queue is None:
            time.sleep(wait)
        else:
            with self.queue:
                time.sleep(wait)
        return os.pread(fh, size, offset)
    def write(self, path, data, offset, fh): return os.pwrite(fh, data, offset)
    def flush(self, path, fh): return 0
    def release(self, path, fh): os.close(fh); return 0
    def fsync(self, path, datasync, fh): os.fsync(fh); return 0

if __name__ == '__main__':
    lat = float(sys.argv[3]) / 1000 if len(sys.argv) > 3 else 0.005
    bw = float(sys.argv[4]) * 1e6 if len(sys.argv) > 4 else 100e6
    qd = int(sys.argv[5]) if len(sys.argv) > 5 else None
    FUSE(Slow(sys.argv[1], lat, bw, qd), sys.argv[2], foreground=True, nothreads=False, allow_other=False)
