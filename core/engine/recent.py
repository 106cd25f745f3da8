"""What a request computed for a client, kept for the very events frame it came from.

A client page reruns with the same frame of the client's events (the
dashboard keeps the frame it read: ``core.app.serving``), so what was
computed from it -- the model's folded state, the client's history -- can be
reused until the frame changes. A frame is read as a snapshot: one changed in
place must be passed as a new frame. ``None`` (no extra events) is a frame
like any other.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from typing import Generic, TypeVar

_V = TypeVar("_V")


class RecentPerFrame(Generic[_V]):
    """The last ``size`` values per key (a client id; a frame's ``id`` for the columns kept
    with it), each valid for one frame object (thread-safe)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[str, tuple[object, _V]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, frame: object) -> _V | None:
        """The value kept for ``key`` if it came from this very ``frame``, else None."""
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] is not frame:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: str, frame: object, value: _V) -> None:
        with self._lock:
            self._items[key] = (frame, value)
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __iter__(self) -> Iterator[str]:
        """The keys kept now, oldest first."""
        with self._lock:
            return iter(list(self._items))

    def forget(self, key: str) -> None:
        with self._lock:
            self._items.pop(key, None)
