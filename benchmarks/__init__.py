"""Chart Sifter throughput benchmarks (CPU, DirectRunner, offline).

Each module runs on its own, prints a table and writes JSON to ``benchmarks/results/<name>.json``:

    python -m benchmarks.ingest_throughput   # Beam + tf.Transform ingest vs a plain-Python loop
    python -m benchmarks.train_throughput    # tf.data input pipeline vs model.fit images/s
    python -m benchmarks.label_throughput    # Beam RunInference labelling vs a plain-Python loop
    python -m benchmarks.run_all             # all three, each in its own process (`make bench`)

See ``benchmarks/README.md`` for what each one measures and the figures measured so far.
"""
