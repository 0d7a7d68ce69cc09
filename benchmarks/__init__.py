"""Chart Sifter throughput benchmarks (CPU, DirectRunner, offline).

Each module runs on its own, prints a table and writes JSON to ``benchmarks/results/<name>.json``:

    python -m benchmarks.fast_path           # labelling and ingest of ~2,000 real-like images vs a Keras loop,
                                             # a plain loop and the decode ceiling; memory, streaming latency
    python -m benchmarks.train_throughput    # tf.data input pipeline vs model.fit images/s
    python -m benchmarks.run_all             # both, each in its own process (`make bench`)

See ``benchmarks/README.md`` for what each one measures and the figures measured so far.
"""
