"""Run a pipeline's `run(argv)` with its module imported under its real name.

    python -m benchmarks._entry pipelines.ingest --runner=DirectRunner ...

Same code path as `python -m pipelines.ingest ...` (cli.main(run): exit code, os._exit), except
that classes defined in the pipeline module are `pipelines.ingest.Example` rather than
`__main__.Example`. Beam's multi_processing workers (and any remote worker) can only unpickle the
former: with `python -m pipelines.ingest`, a worker has no `__main__.Example` to look up (see the
ingest benchmark's report). The benchmarks use this entry only where the documented command fails.
"""
import importlib
import sys

from pipelines import cli

if __name__ == "__main__":
    module = importlib.import_module(sys.argv[1])
    sys.argv = [sys.argv[1]] + sys.argv[2:]
    cli.main(module.run)
