"""Placeholder until the group's routes are written."""

routes: list[object] = []
