"""Benchmarks: scripts that measure and print figures, with ratios against a peer.

Run them all with `make bench` (or `python -m benchmarks`), or one with
`python -m benchmarks.poll` / `python -m benchmarks.environment` / `python -m benchmarks.gateway`.
"""
