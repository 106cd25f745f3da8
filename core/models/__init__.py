"""Recommenders sharing one contract (:mod:`core.models.base`)."""
