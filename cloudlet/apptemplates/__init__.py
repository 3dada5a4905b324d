"""Marketplace app templates: a catalog file, and what instance create does with a template volume."""
