"""`MemoryLimit`: a shard's own resident memory against `workers.memory_limit_mb`.

Read from `/proc/self/statm` (one `pread` on a descriptor kept open), the process's resident
set size now: not the peak from `getrusage`, which Linux carries over `fork` and `exec` from
the parent, so a child of a large daemon would start past it. A shard checks it after each
member's step (the member that just stepped left it there), and when it starts or has been
rebuilt (`unusable`): a process past its limit before any member steps could never step
one, and that is the limit's fault, not a strategy's.
"""

from __future__ import annotations

import os


class MemoryLimit:
    """The limit of one shard process (`limit_mb` None: no limit, nothing is read)."""

    def __init__(self, limit_mb: int | None) -> None:
        self.limit_mb = limit_mb
        self._page = os.sysconf("SC_PAGE_SIZE")
        self._limit_pages = None if limit_mb is None else (limit_mb << 20) // self._page
        self._statm = os.open("/proc/self/statm", os.O_RDONLY) if limit_mb is not None else -1

    def passed(self) -> int | None:
        """The resident memory in MiB (rounded up) if it is past the limit, else None."""
        limit = self._limit_pages
        if limit is None:
            return None
        pages = int(os.pread(self._statm, 64, 0).split()[1])
        return -(-(pages * self._page) // (1 << 20)) if pages > limit else None

    def unusable(self, members: int) -> str | None:
        """Why no member could step in this process (holding `members` members, none
        stepped since they were added), if it is past its limit already."""
        resident_mb = self.passed()
        if resident_mb is None:
            return None
        holding = "before any strategy is in it" if not members else f"with {members} strategies"
        return (
            f"a shard process takes {resident_mb} MiB {holding}, past its memory limit of "
            f"{self.limit_mb} MiB (workers.memory_limit_mb): raise the limit"
            + ("" if not members else ", or spread the strategies over more shards")
        )
