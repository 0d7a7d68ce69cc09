# Two images from one file, both with Chart Sifter and its pinned dependencies from setup.py.
#
# worker (default): the Beam Python SDK harness for Dataflow or any portable Beam runner.
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter:0.1.0 .
#   docker push  REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter:0.1.0
#   python -m pipelines.label ... --runner=DataflowRunner \
#       --sdk_container_image=REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter:0.1.0 --sdk_location=container
#
# serve: the REST API and web page (pipelines.serve) with one exported run directory baked in,
# listening on $PORT (Cloud Run sets it; 8080 otherwise).
#   docker build --target serve --build-arg RUN_DIR=artifacts/models/chart-cnn/<run_id> \
#       -t REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter-serve:0.1.0 .
#   gcloud run deploy chart-sifter --image REGION-docker.pkg.dev/PROJECT/REPO/chart-sifter-serve:0.1.0 \
#       --region REGION --cpu 2 --memory 2Gi --concurrency 16
FROM apache/beam_python3.11_sdk:2.77.0 AS worker

# The `demo` ingest source renders its images on the workers; only then build with
# --build-arg EXTRAS=[synthetic] (the generator's plotting libraries). The shipped configs for
# Dataflow read real images, so the default image leaves them out.
ARG EXTRAS=""
WORKDIR /opt/chart_sifter
COPY setup.py MANIFEST.in README.md ./
COPY core/ core/
COPY synthetic/ synthetic/
COPY transforms/ transforms/
COPY models/ models/
COPY serving/ serving/
COPY pipelines/ pipelines/
COPY configs/ configs/
# LightGBM (the ensemble's boosted trees) needs the OpenMP runtime.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir ".${EXTRAS}" && python -c "import pipelines.label, pipelines.serve, lightgbm"
# The SDK harness stays the entry point (inherited from the base image).

FROM worker AS serve
ARG RUN_DIR
COPY ${RUN_DIR} /opt/model
ENV PORT=8080
ENTRYPOINT ["python", "-m", "pipelines.serve", "--model_dir", "/opt/model", "--host", "0.0.0.0"]
