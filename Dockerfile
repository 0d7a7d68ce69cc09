# Worker image for Dataflow (or any portable Beam runner): the Beam Python SDK
# harness plus Chart Sifter and its pinned dependencies from setup.py.
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter:0.1.0 .
#   docker push  REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter:0.1.0
#   python -m pipelines.label ... --runner=DataflowRunner \
#       --sdk_container_image=REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter:0.1.0 --sdk_location=container
FROM apache/beam_python3.11_sdk:2.77.0

WORKDIR /opt/chart_sifter
COPY setup.py MANIFEST.in README.md ./
COPY pipelines/ pipelines/
COPY transforms/ transforms/
COPY models/ models/
COPY configs/ configs/
RUN pip install --no-cache-dir . && python -c "import pipelines.label, transforms.image, models.inference"

# The SDK harness stays the entry point (inherited from the base image).
