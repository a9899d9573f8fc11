"""Ask the filesystem to spread the subfolders of a folder this build made across the disk.

Why: on ext4 without a journal (common on VMs and CI runners), creating a file scans past every
inode of its block group that was deleted in the last few minutes. Deleting an output folder
and building it again (what every cold build and CI check does) then costs ~1.3 ms per new file
instead of ~0.05 ms: 2 s of a 100-spec build. ext4's "top of a directory hierarchy" flag
(`chattr +T`) makes the allocator place each new subfolder in a roomy group of its own rather
than in its parent's, away from those inodes. It is only a placement hint: nothing else about
the folders changes, it is not inherited, and it is set only on folders naftiko-gen created
itself (staging and cache folders), never on the user's. Anywhere it does not apply (other
filesystems or systems, no permission) it is silently skipped.
"""

from __future__ import annotations

import os
import struct
import sys

_GETFLAGS = 0x80086601  # FS_IOC_GETFLAGS
_SETFLAGS = 0x40086602  # FS_IOC_SETFLAGS
_TOPDIR = 0x00020000  # FS_TOPDIR_FL


def spread_subfolders(folder: str | os.PathLike[str]) -> bool:
    """Set the hint on `folder` (a folder this process created); whether it took."""
    if not sys.platform.startswith("linux"):  # the ioctl numbers below are Linux's
        return False
    try:
        import fcntl
    except ImportError:  # not a POSIX system
        return False
    try:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    except (OSError, AttributeError):
        return False
    try:
        # The kernel reads and writes an int through these ioctls, whatever their names say.
        (flags,) = struct.unpack("i", fcntl.ioctl(fd, _GETFLAGS, struct.pack("i", 0)))
        if not flags & _TOPDIR:
            fcntl.ioctl(fd, _SETFLAGS, struct.pack("i", flags | _TOPDIR))
        return True
    except OSError:  # not ext2/3/4, or not permitted: the hint is optional
        return False
    finally:
        os.close(fd)
