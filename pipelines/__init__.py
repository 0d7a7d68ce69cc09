"""Beam pipelines: ingest, train, label, evaluate."""
