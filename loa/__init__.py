"""Loa command-line tooling: the `loa` CLI, the one-machine demo, the broker set-up and benchmarks.

Imports here stay lazy: `loa agent` must start on a node that has only the agent's
dependencies installed.
"""

__version__ = "0.1.0"
