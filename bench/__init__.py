"""Throughput, latency and memory figures of the embedded stack (`make bench`)."""
