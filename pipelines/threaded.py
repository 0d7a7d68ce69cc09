"""A DoFn whose per-element work runs on a pool of threads: decoding on every core in one worker.

Pillow decodes and resizes with the GIL released, so threads use every core of a local run
without the start-up and pickling cost of worker processes (measured: benchmarks/README.md).
Results keep their element's window and timestamp and leave in input order; counters and other
Beam state are touched only in `emit`, which runs on the bundle's own thread (Beam's metrics
container is per thread).
"""
import collections
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.utils.windowed_value import WindowedValue


def default_threads() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class ThreadPoolDoFn(beam.DoFn):
    """Subclasses define `work(element)` (thread-safe, on the pool) and `emit(element, result)`
    (on the bundle thread, yields outputs). At most `in_flight` elements (default `threads * 8`) are in flight:
    when what follows in the bundle is slow (a model batch), a deeper queue keeps the pool busy meanwhile."""

    def __init__(self, threads: int = 0, in_flight: int = 0):
        self._threads = threads or default_threads()
        self._in_flight = in_flight or self._threads * 8

    def work(self, element: Any) -> Any:
        raise NotImplementedError

    def emit(self, element: Any, result: Any) -> Iterable:
        raise NotImplementedError

    def setup(self):
        self._pool = ThreadPoolExecutor(self._threads, thread_name_prefix=type(self).__name__)

    def start_bundle(self):
        self._pending: collections.deque = collections.deque()

    def process(self, element, window=beam.DoFn.WindowParam, timestamp=beam.DoFn.TimestampParam) -> Iterator:
        self._pending.append((element, self._pool.submit(self.work, element), window, timestamp))
        while self._pending and (len(self._pending) > self._in_flight or self._pending[0][1].done()):
            yield from self._emit_oldest()

    def finish_bundle(self) -> Iterator:
        while self._pending:
            yield from self._emit_oldest()

    def teardown(self):
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _emit_oldest(self) -> Iterator:
        element, future, window, timestamp = self._pending.popleft()
        for output in self.emit(element, future.result()):
            if isinstance(output, beam.pvalue.TaggedOutput):
                yield beam.pvalue.TaggedOutput(output.tag, WindowedValue(output.value, timestamp, (window,)))
            else:
                yield WindowedValue(output, timestamp, (window,))
