"""Beam's DaskRunner with the graph translation our batch pipelines need.

    --runner=pipelines.dask_runner.DaskRunner [--dask_client_address=HOST:8786]

(`pipelines.runners.pipeline` swaps Beam's own DaskRunner for this one.) Beam 2.77's translation loses
or mixes data on these pipelines; what it gets wrong, what this one does instead and what it refuses:
docs/ARCHITECTURE.md, Runners and exits.
"""
import dataclasses
import itertools
from typing import Any, Optional

import apache_beam as beam
import dask
import dask.bag as db
import dask.distributed as ddist
from apache_beam.internal import pickler
from apache_beam.options.pipeline_options import StandardOptions
from apache_beam.pipeline import AppliedPTransform, PipelineVisitor
from apache_beam.runners.common import DoFnContext, DoFnInvoker, DoFnSignature, Receiver, _OutputHandler
from apache_beam.runners.dask import dask_runner, overrides, transform_evaluator
from apache_beam.runners.runner import PipelineState
from apache_beam.transforms.sideinputs import SideInputMap
from apache_beam.transforms.window import GlobalWindows
from apache_beam.utils.windowed_value import WindowedValue


class DaskRunner(dask_runner.DaskRunner):
    """Runs a batch pipeline on a dask.distributed cluster (--dask_client_address; none: a LocalCluster)."""

    def run_pipeline(self, pipeline, options):
        if options.view_as(StandardOptions).streaming:
            raise ValueError("the DaskRunner runs batch pipelines only: drop --streaming (or pick a streaming runner)")
        dask_options = options.view_as(dask_runner.DaskOptions).get_all_options(drop_default=True, current_only=True)
        bag_kwargs = dask_runner.DaskOptions._extract_bag_kwargs(dask_options)
        client = ddist.Client(**dask_options)
        spread = bag_kwargs.get("npartitions") or max(1, sum(client.nthreads().values()))
        pipeline.replace_all(overrides.dask_overrides())
        graph = _BagGraph(bag_kwargs, spread)
        pipeline.visit(graph)
        leaves = [bag for pcoll, bag in graph.bags.items() if pcoll not in graph.consumed]
        return _Result(client, client.compute(leaves))


class _Result(dask_runner.DaskRunnerResult):
    """Fails a run whose outputs the cluster cancelled (Beam's result calls it done), and closes the run's client
    once the run has ended (and with it a LocalCluster the client started)."""

    def wait_until_finish(self, duration=None) -> str:
        try:
            super().wait_until_finish(duration)
            for future in self.futures:
                if future.status == "cancelled":
                    self._state = PipelineState.FAILED
                    future.result()  # raises why the cluster cancelled it
            return self._state
        finally:
            if PipelineState.is_terminal(self.state):
                self.client.close()


class _BagGraph(PipelineVisitor):
    """Translates each leaf transform into a dask bag per output PCollection."""

    def __init__(self, bag_kwargs: dict, spread: int):
        self.bag_kwargs, self.spread = bag_kwargs, spread
        self.bags: dict[beam.pvalue.PValue, db.Bag] = {}
        self.consumed: set = set()

    def visit_transform(self, node: AppliedPTransform) -> None:
        inputs = [self.bags[p] for p in node.inputs if not isinstance(p, beam.pvalue.PBegin)]
        side_inputs = [(si, self.bags[si.pvalue]) for si in node.side_inputs]
        self.consumed.update(node.inputs, (si.pvalue for si in node.side_inputs))
        transform = node.transform
        if isinstance(transform, overrides._Create):
            bag = transform_evaluator.Create(node, bag_kwargs=self.bag_kwargs).apply(None)
        elif isinstance(transform, overrides._Flatten):
            bag = db.concat(inputs)
        elif isinstance(transform, overrides._GroupByKeyOnly):
            bag = transform_evaluator.GroupByKey(node).apply(inputs[0])
        elif isinstance(transform, overrides._Reshuffle):
            bag = inputs[0].repartition(npartitions=max(self.spread, inputs[0].npartitions))
        elif isinstance(transform, (overrides._GroupAlsoByWindow, beam.WindowInto)):
            _check_global(transform, node)
            bag = inputs[0]  # batch, global window: grouping is done, windows are all the same
        elif isinstance(transform, beam.ParDo):
            self._par_do(node, inputs[0], side_inputs)
            return
        else:
            raise NotImplementedError(f"the DaskRunner cannot run {node.full_label} ({type(transform).__name__}): "
                                      "it translates Create, ParDo, GroupByKey, Flatten and Reshuffle only (batch)")
        for pcoll in node.outputs.values():
            self.bags[pcoll] = bag

    def _par_do(self, node: AppliedPTransform, input_bag: db.Bag, side_inputs: list) -> None:
        transform = node.transform
        signature = DoFnSignature(transform.fn)
        if signature.is_stateful_dofn() or signature.is_splittable_dofn():
            raise NotImplementedError(
                f"the DaskRunner cannot run {node.full_label}: it translates no stateful or splittable DoFn"
            )
        main_input = next(iter(node.main_inputs.values()))
        bundle = _Bundle(node.full_label, pickler.dumps(transform.fn), list(transform.args), transform.kwargs,
                         main_input.windowing.windowfn, [(type(si), si._view_options()) for si, _ in side_inputs])
        # One delayed call per partition, each side input passed whole as its partitions' delayed values: a bag's
        # map_partitions with those as arguments sometimes loses a side input's partition (the scheduler cancels
        # the step for "lost dependencies").
        sides = [bag.to_delayed(optimize_graph=False) for _, bag in side_inputs]
        run = dask.delayed(bundle.run)
        tagged = db.from_delayed([run(part, *sides) for part in input_bag.to_delayed(optimize_graph=False)])
        for tag, pcoll in node.outputs.items():
            self.bags[pcoll] = tagged.map_partitions(_select, tag)


@dataclasses.dataclass
class _Bundle:
    """One ParDo over one partition: a fresh DoFn, its whole lifecycle, every output as (tag, value)."""

    label: str
    fn: bytes  # pickled, so that each bundle gets its own DoFn instance
    args: list
    kwargs: dict
    window_fn: Any
    side_views: list  # (view class, view options) of each side input, in order

    def run(self, elements, *side_inputs_parts: list[list]) -> list[tuple[Optional[str], Any]]:
        outputs: list[tuple[Optional[str], Any]] = []
        receivers = _Receivers(outputs)
        handler = _OutputHandler(
            self.window_fn,
            receivers[None],
            receivers,
            per_element_output_counter=None,
            output_batch_converter=None,
            process_yields_batches=False,
            process_batch_yields_elements=False,
        )
        side_inputs = [SideInputMap(view, options, [_windowed(v) for v in itertools.chain.from_iterable(parts)])
                       for (view, options), parts in zip(self.side_views, side_inputs_parts)]
        invoker = DoFnInvoker.create_invoker(
            DoFnSignature(pickler.loads(self.fn)),
            handler,
            context=DoFnContext(self.label, state=None),
            side_inputs=side_inputs,
            input_args=self.args,
            input_kwargs=self.kwargs,
            user_state_context=None,
            bundle_finalizer_param=beam.DoFn.BundleFinalizerParam(),
        )
        invoker.invoke_setup()
        invoker.invoke_start_bundle()
        for element in elements:
            invoker.invoke_process(_windowed(element))
        invoker.invoke_finish_bundle()
        invoker.invoke_teardown()
        return outputs


class _Receivers(dict):
    """Output tag -> a receiver appending (tag, value) to one list."""

    def __init__(self, outputs: list):
        super().__init__()
        self._outputs = outputs

    def __missing__(self, tag: Optional[str]) -> Receiver:
        self[tag] = _Collect(tag, self._outputs)
        return self[tag]


class _Collect(Receiver):
    def __init__(self, tag: Optional[str], outputs: list):
        self._tag, self._outputs = tag, outputs

    def receive(self, windowed_value: WindowedValue) -> None:
        self._outputs.append((self._tag, windowed_value.value))


def _select(tagged: list, tag: Optional[str]) -> list:
    return [value for t, value in tagged if t == tag]


def _windowed(value) -> WindowedValue:
    return transform_evaluator.get_windowed_value(value, None)  # the global window


def _check_global(transform, node: AppliedPTransform) -> None:
    windowfn = transform.windowing.windowfn
    if not isinstance(windowfn, GlobalWindows):
        raise NotImplementedError(
            f"the DaskRunner runs the global window only; {node.full_label} uses {type(windowfn).__name__}"
        )
