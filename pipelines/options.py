"""Pipeline options of every Chart Sifter pipeline, as Beam `PipelineOptions` subclasses.

They live in this module, which is never run as `__main__`: Beam parses the options of
every subclass in one parser, so each class must be defined exactly once per process
(and nothing may be `required`: each command checks its own flags).
"""
from apache_beam.options.pipeline_options import PipelineOptions

from pipelines.inputs import DEFAULT_MAX_FILE_MB


class ChartSifterOptions(PipelineOptions):
    """Options every Chart Sifter pipeline takes (a flag shared by pipelines is declared once)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--debug", action="store_true", help="Verbose logging.")
        parser.add_argument("--max_file_mb", type=float, default=DEFAULT_MAX_FILE_MB, help="Input files larger than this are dead-lettered (file_too_large), never read whole.")
        parser.add_argument("--allow_outside_root", action="store_true", help="Read symlinks that point outside the input folder (default: dead-lettered, outside_root).")


class IngestOptions(ChartSifterOptions):
    """Chart Sifter ingest options (any other Beam option passes through)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--config", default="configs/ingest.yaml", help="Ingest YAML config (sources, split, image_size).")
        parser.add_argument("--output_dir", default=None, help="Where TFRecords, the transform graph, dead letters and the summary go. Default: $BASE_DIR/ingest (BASE_DIR defaults to artifacts/).")


class LabelOptions(ChartSifterOptions):
    """Chart Sifter labelling options (any other Beam option passes through)."""

    @classmethod
    def _add_argparse_args(cls, parser):
        parser.add_argument("--model_dir", help="A training run directory, a model_type's `latest` file, or the model_type folder.")
        parser.add_argument("--input", help="A folder, a glob, a gs:// (any Beam filesystem) pattern, or a Pub/Sub subscription projects/P/subscriptions/S.")
        parser.add_argument("--output", help="Output prefix for the JSONL results (PREFIX-*.jsonl) and dead letters (PREFIX.rejected-*.jsonl).")
        parser.add_argument("--threshold", type=float, default=None, help="Chart probability at or above which an image is `chart` (default: the threshold recorded with the model).")
        parser.add_argument("--sort_into", default=None, help="Also copy each labelled image into DIR/chart/ or DIR/non_chart/.")
        parser.add_argument("--poll_interval", type=float, default=1.0, help="Streaming over files: seconds between listings (each is one list call on a bucket).")
        parser.add_argument("--duration", type=float, default=None, help="Streaming: stop cleanly after this many seconds (default: run until Ctrl-C).")
        parser.add_argument("--batch_size", type=int, default=64, help="Largest batch given to the model.")
        parser.add_argument("--allowed_prefix", action="append", default=None, help="Pub/Sub: read image URIs only under this prefix (repeatable, e.g. gs://bucket/uploads/). Default: GCS notifications' own objects; plain URI payloads need one.")
        parser.add_argument("--decode_threads", type=int, default=0, help="Threads reading and decoding images in each worker (default 0: one per core).")
