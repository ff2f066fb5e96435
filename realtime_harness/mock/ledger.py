"""The ledger: every fault the mock injected, in memory and optionally as JSONL.

Soak runs and tests compare what a client detected with this list, so each record carries the ids
a client can see: ``session_id``, ``response_id``, ``event_id`` (of the event that carried the
fault, or the last event sent before a drop/close/stall), ``item_id`` and the Unix time ``t``.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import orjson

from realtime_harness.mock.faults import FaultRecord

__all__ = ["Ledger"]

log = logging.getLogger("realtime_harness.mock")


class Ledger:
    """A thread-safe list of :class:`FaultRecord`, appended to a JSONL file when ``path`` is set.

    The file is opened in append mode and flushed per record, so a soak run that is killed still
    leaves every fault injected so far on disk.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._records: list[FaultRecord] = []
        self._lock = threading.Lock()
        #: Why the file stopped being written (a full disk...); the records stay in memory.
        self.write_error: str | None = None
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def add(self, record: FaultRecord) -> None:
        """Keep one record (and write it out when a path was given)."""
        with self._lock:
            self._records.append(record)
            if self.path is not None and self.write_error is None:
                try:
                    with self.path.open("ab") as handle:
                        handle.write(orjson.dumps(record.model_dump()) + b"\n")
                except OSError as exc:
                    # Never a silently short ledger: say so once, keep counting in memory.
                    self.write_error = f"cannot append to the ledger {self.path}: {exc.strerror}"
                    log.error("%s; later faults are kept in memory only", self.write_error)

    @property
    def records(self) -> list[FaultRecord]:
        """A copy of every record so far, in injection order."""
        with self._lock:
            return list(self._records)

    def clear(self) -> None:
        """Forget the in-memory records (the JSONL file is kept)."""
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)
