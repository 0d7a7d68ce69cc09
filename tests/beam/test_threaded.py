"""pipelines.threaded: a DoFn's work on a thread pool, in order, bounded, inside a pipeline."""
import threading
import time

import apache_beam as beam
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import Timestamp

from pipelines.threaded import ThreadPoolDoFn


class Square(ThreadPoolDoFn):
    """Squares on the pool (slower for small numbers, so they finish out of order); negatives go to `odd`."""

    def __init__(self, in_flight: int = 0):
        super().__init__(threads=3, in_flight=in_flight)

    def setup(self):
        super().setup()
        self.submitted, self.in_flight_at_emit, self.workers = 0, [], set()

    def work(self, element: int) -> int:
        self.workers.add(threading.current_thread().name)
        time.sleep(0.002 * (10 - abs(element) % 10))
        return element * element

    def emit(self, element: int, result: int):
        self.in_flight_at_emit.append(self.submitted - len(self.in_flight_at_emit))
        yield beam.pvalue.TaggedOutput("odd", element) if element < 0 else result


def run_bundle(dofn: Square, elements) -> list:
    """One bundle by hand, as a runner drives it (counting the elements handed in): the values emitted, in order."""
    dofn.setup()
    dofn.start_bundle()
    out = []
    for element in elements:
        dofn.submitted += 1
        out += dofn.process(element, window=GlobalWindow(), timestamp=Timestamp(0))
    out += dofn.finish_bundle()
    dofn.teardown()
    return [o.value for o in out]


def test_results_leave_in_input_order_from_several_threads():
    dofn = Square()
    assert run_bundle(dofn, range(40)) == [i * i for i in range(40)]
    assert len(dofn.workers) > 1


def test_at_most_in_flight_elements_are_queued():
    for in_flight in (2, 5, 64):
        dofn = Square(in_flight)
        run_bundle(dofn, range(100))
        assert max(dofn.in_flight_at_emit) <= in_flight + 1  # the queue plus the one being emitted
    assert max(dofn.in_flight_at_emit) > 8  # a deep queue is used, not capped at the pool size


def test_in_a_pipeline_every_element_reaches_its_output():
    with TestPipeline() as p:
        out = p | beam.Create([1, -2, 3, -4, 5]) | beam.ParDo(Square(in_flight=2)).with_outputs("odd", main="squares")
        assert_that(out.squares, equal_to([1, 9, 25]), label="squares")
        assert_that(out.odd, equal_to([-2, -4]), label="odd")
