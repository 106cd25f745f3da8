"""The suggestion pipeline. Imports :mod:`core.engine` and :mod:`core.data`.

- ``catalogue``: the per-dataset arrays everything below reads (built once);
- ``conditions``, ``policy``, ``rules``, ``rule_result``: the house rules;
- ``rerank``: MMR and caps, context lifts, complete-the-look, gift mode;
- ``reasons``: contributions turned into associate and client wording;
- ``request``, ``pipeline`` (the :class:`~core.suggest.pipeline.Suggester`),
  ``results``, ``generic``, ``run``, ``holdout``: one request from rules to
  the rows the pages show.
"""
