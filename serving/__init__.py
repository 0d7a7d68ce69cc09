"""The REST API and web page that label single images (FastAPI; `pipelines.serve` starts it)."""
