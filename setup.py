"""Chart Sifter: sort financial chart images from everything else, at any scale.

Every dependency is pinned here, and only here. `pip install -e .[dev]` gives a
working development install; Dataflow workers get the same pins via
`--setup_file ./setup.py` (or the Dockerfile).
"""
import setuptools

REQUIRED = [
    "tensorflow==2.21.0",
    "keras==3.15.1",
    "tf-keras==2.21.0",
    "tensorflow-transform==1.21.0",
    "tfx-bsl==1.21.0",
    "apache-beam[gcp]==2.77.0",
    # DaskRunner (pipelines.dask_runner); Beam 2.77's [dask] extra asks for dask and distributed >= 2024.4.2.
    "dask[distributed]==2026.8.0",
    "distributed==2026.8.0",
    # Beam's TensorFlow RunInference module imports tensorflow_hub.
    "tensorflow-hub==0.16.1",
    "datasets==5.2.0",
    "pyarrow==25.0.1",
    "numpy==2.4.6",
    "pillow==12.3.0",
    "pyyaml==6.0.3",
    "fsspec==2026.9.0",
    "gcsfs==2026.10.1",
    "google-cloud-storage==3.17.1",
    "google-cloud-pubsub==2.44.0",
    "matplotlib==3.11.2",
    "tqdm==4.70.1",  # progress bars (pipelines/cli.py); datasets also needs it
    "scikit-learn==1.9.1",
    "lightgbm==4.7.0",  # the ensemble's boosted trees (models/boosted.py); needs libgomp1
    "ai-edge-litert==2.3.0",  # runs the pretrained member's backbone (models/member.py): XNNPACK, 3x TensorFlow on CPU
    # REST API (pipelines.serve)
    "fastapi==0.165.0",
    "fastapi-offline==1.7.7",  # Swagger UI and ReDoc files for /docs and /redoc, served without a CDN
    "starlette==1.10.0",
    "uvicorn==0.54.0",
    "python-multipart==0.0.34",
]

# The synthetic image generator (synthetic/: the `demo` ingest source, make demo, the tests). Workers
# need it only to run the demo source on a remote runner (Dockerfile: --build-arg EXTRAS=[synthetic]).
SYNTHETIC = [
    "mplfinance==0.12.10b0",
    "pandas==3.1.1",
]

DEV = [
    *SYNTHETIC,
    "pytest==9.2.0",
    "pytest-xdist==3.8.0",
    "hypothesis==6.170.17",  # property tests of image validation
    # Local GCS stand-in for tests (the real service is unreachable offline).
    "gcp-storage-emulator==2026.7.19",
    # Drives Debian's Chromium (/usr/bin/chromium) in the web page's test; never downloads a browser.
    "playwright==1.65.2",
    "ruff==0.17.6",  # make test lints first (ruff.toml)
]

PACKAGES = ("core", "synthetic", "transforms", "models", "serving", "pipelines")
CONFIGS = ("model_config.yaml", "ingest.yaml", "ingest_demo.yaml", "ingest_real.yaml")

setuptools.setup(
    name="chart-sifter",
    version="0.1.0",
    description=(
        "Sort financial chart images from everything else: Beam + TFT ingest, Keras training, RunInference labelling."
    ),
    python_requires=">=3.11,<3.12",
    packages=setuptools.find_packages(include=[f"{name}{sub}" for name in PACKAGES for sub in ("", ".*")]),
    data_files=[("configs", [f"configs/{name}" for name in CONFIGS])],
    include_package_data=True,
    package_data={"serving": ["page.html", "review.html"],
                  "models": ["shipped/*.json", "shipped/saved_model/*.pb", "shipped/saved_model/variables/*",
                             "pretrained/*"]},
    install_requires=REQUIRED,
    extras_require={"synthetic": SYNTHETIC, "dev": DEV},
    # `chart-sifter ingest|train|label|evaluate|serve|demo ...`, the same as `python -m pipelines.<command> ...`
    entry_points={"console_scripts": ["chart-sifter = pipelines.console:main"]},
)
