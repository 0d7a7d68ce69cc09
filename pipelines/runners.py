"""The Beam Pipeline every Chart Sifter pipeline runs on, whatever runner the options name."""
import logging

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

BEAM_DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


def pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A Pipeline on the runner the options name, except that Beam's own DaskRunner (which loses data on
    these pipelines, see pipelines.dask_runner) is replaced by pipelines.dask_runner.DaskRunner. No --runner means
    Beam's default, the DirectRunner, named here so that Beam does not log that the option is missing."""
    standard = options.view_as(StandardOptions)
    if standard.runner is None:
        standard.runner = "DirectRunner"
    if standard.runner == BEAM_DASK_RUNNER:
        from pipelines.dask_runner import DaskRunner

        logging.info(
            "Running on pipelines.dask_runner.DaskRunner: Beam's DaskRunner with the fixes these pipelines need"
        )
        return beam.Pipeline(runner=DaskRunner(), options=options)
    return beam.Pipeline(options=options)
