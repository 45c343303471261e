"""The version of nstyle (read by setup.cfg, the machine lines and the cluster's version check)."""

__version__ = "0.1.0"
