"""Measurements shared by the CLI and the book: FLOPs and parameters, latency and its backends, paired
comparisons over seeds."""
