"""Preprocessing shared by ingest, training and labelling (defined once)."""
