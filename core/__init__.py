"""The contracts every package shares: names, layouts, record shapes, reason codes, and paths on any
filesystem. The bottom layer: TensorFlow-free, it imports no other package of this project
(docs/ARCHITECTURE.md, Layering)."""
