"""Pausing Python's cyclic garbage collector while botkit builds a large, acyclic structure.

Compiling a bot and reading a month of records for a report each allocate hundreds of thousands
to millions of objects in one go (a flow's tree; a report's rows, conversations and counters).
The cyclic collector walks the growing heap again and again and finds nothing to free: about 15%
of compiling a 1,000-state flow, and over a third of ``botkit report`` over a million records.
Reference counting still frees everything; the collector resumes afterwards.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["no_cyclic_gc"]


@contextlib.contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic collector inside the block (nested blocks leave it to the outer one)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
