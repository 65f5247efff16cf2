"""What the shards of one parallel campaign share, through files in one folder (``DIR/shards``).

- **The budget.** A counter of examples claimed, under an exclusive lock: a shard checks an example only after
  claiming it, so the shards together check exactly the budget and a fast shard takes over the share of a slow
  one (a static split leaves the faster worker idle while the other finishes; examples vary 100-fold in cost).
- **The findings kept.** Each shard publishes the signatures of the findings it kept; another shard that
  meets a finding already covered (same backend and kind, a superset of its primitives) does not shrink it
  again. Two shards that find the same thing at the same moment may both shrink it; the merge keeps one.

Each shard still draws from its own seed, so its examples are reproducible; which shard checks how many of
them depends on timing, and each shard's count is recorded in its results.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["Budget", "SharedBudget"]

try:
    import fcntl
except ImportError:  # pragma: no cover (not POSIX): each shard keeps its static share
    fcntl = None


class Budget:
    """A campaign's own budget: ``claim`` succeeds ``total`` times. Nothing shared."""

    def __init__(self, total: int, done: int = 0):
        self.total, self.claimed = total, done

    def remaining(self) -> int:
        return self.total - self.claimed

    def claim(self) -> bool:
        if self.claimed >= self.total:
            return False
        self.claimed += 1
        return True

    def peers_seen(self) -> set:
        return set()

    def publish(self, seen) -> None:
        pass


class SharedBudget(Budget):
    """The budget of shard ``shard`` among the shards sharing ``folder``: ``total`` examples in all. Needs file
    locks (POSIX): where ``available`` is false, each shard keeps a :class:`Budget` of its static share."""

    available = fcntl is not None

    def __init__(self, folder, total: int, shard: int):
        super().__init__(total)  # its own count stays unused: the shared counter is the budget
        self.folder, self.shard = Path(folder), shard
        self.folder.mkdir(parents=True, exist_ok=True)
        self.counter = self.folder / "budget"

    def _count(self, take: bool) -> int:
        """The examples claimed so far, under the lock; with ``take``, one more is claimed if any is left."""
        fd = os.open(self.counter, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            text = os.pread(fd, 64, 0).decode().strip()
            claimed = int(text) if text else 0
            if take and claimed < self.total:
                os.pwrite(fd, f"{claimed + 1:020d}\n".encode(), 0)
            return claimed
        finally:
            os.close(fd)  # closing releases the lock

    def remaining(self) -> int:
        return self.total - self._count(take=False)

    def claim(self) -> bool:
        return self._count(take=True) < self.total

    def peers_seen(self) -> set:
        seen = set()
        for path in self.folder.glob("seen-*.json"):
            if path.name == f"seen-{self.shard}.json":
                continue
            try:
                seen.update(tuple(k) for k in json.loads(path.read_text()))
            except (OSError, ValueError):  # unreadable: the merge deduplicates anyway
                continue
        return seen

    def publish(self, seen) -> None:
        from .results import write_json

        write_json(self.folder / f"seen-{self.shard}.json", sorted(list(k) for k in seen))

