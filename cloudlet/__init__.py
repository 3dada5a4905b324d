"""cloudlet: a self-hostable cloud Instances service, wire-compatible with the Gcore Cloud API."""

__version__ = "0.1.0"
