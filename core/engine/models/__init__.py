"""Recommenders sharing one contract (:mod:`core.engine.models.base`)."""
