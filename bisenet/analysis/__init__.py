"""Measurements shared by the CLI and the book: FLOPs and parameters, latency, provenance."""
