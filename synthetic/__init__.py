"""Synthetic labelled images, charts against everything else a finance feed shows, for the `demo`
ingest source, `make demo` and the tests. It depends only on `core`, and its plotting libraries come
with the `synthetic` extra (`pip install .[synthetic]`). How the images are made: docs/ARCHITECTURE.md,
Synthetic images."""
import matplotlib

matplotlib.use("Agg")  # off-screen, before a module here imports mplfinance (and with it pyplot)
