"""Feature keys, labels, splits and output layouts: every other module imports these names."""

# Raw features (what ingest validates and hands to tf.Transform).
IMAGE_KEY = "image"  # raw RGB bytes (S*S*3, row order) of transforms.image.prepare: the model's input
LABEL_KEY = "label"  # int64: 1 = chart (the positive class), 0 = non_chart
SHA256_KEY = "sha256"  # hex sha256 of the original file bytes (provenance)
WEIGHT_KEY = "weight"  # float: the source's weight (ingest config), a sample weight in training

# Labels: `chart` is the positive class everywhere; the score is the chart probability.
CHART = "chart"
NON_CHART = "non_chart"
LABEL_NAMES = (NON_CHART, CHART)  # index == integer label
LABEL_IDS = {name: i for i, name in enumerate(LABEL_NAMES)}
REVIEW = "review"  # --sort_into's folder for images scored inside the review band

# Splits written by ingest.
TRAIN, VAL, TEST = "train", "val", "test"
SPLITS = (TRAIN, VAL, TEST)

# Side of the square image the model sees (pixels); ingest configs may override it.
DEFAULT_IMAGE_SIZE = 224

# Output layout under an ingest output directory.
TRANSFORM_DIR = "transform"  # tf.Transform output (transform_fn/, transformed_metadata/)
TFRECORD_DIR = "tfrecords"  # tfrecords/<split>/part-*.tfrecord.gz
DEAD_LETTER_PREFIX = "dead_letter/rejected"  # JSONL, one object per rejected input
DUPLICATES_PREFIX = "duplicates/dropped"  # JSONL, one object per copy dropped by deduplication
SUMMARY_FILE = "ingest_summary.json"
MANIFEST_FILE = "_SUCCESS"  # written last: JSON {"tfrecords": {split: [shard paths relative to the output dir]}}
TFRECORD_SUFFIX = ".tfrecord.gz"

# Output layout under a labelling --output PREFIX.
# A result line (PREFIX-*.jsonl)
RESULT_FIELDS = ("uri", "label", "score", "review", "model_type", "run_id", "sha256", "width", "height", "labeled_at")
JSONL_SUFFIX = ".jsonl"  # results: PREFIX-*.jsonl, one object per image; dead letters: PREFIX.rejected-*.jsonl
# Dead letters go to PREFIX.rejected-*.jsonl, a name `PREFIX-*` never matches (Beam's WriteToText
# deletes files matching its own PREFIX-*-of-N glob before finalizing).
DEAD_LETTER_INFIX = ".rejected"
LABEL_SUMMARY_SUFFIX = ".summary.json"  # batch runs: PREFIX.summary.json
