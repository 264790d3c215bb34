"""carpool: a private container cloud (build, run, discover, deploy)."""

__version__ = "0.1.0"
