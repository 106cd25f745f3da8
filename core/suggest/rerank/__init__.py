"""Re-ranking: diversity, context, complete-the-look and gift mode.

- :mod:`~core.suggest.rerank.select`: :func:`~core.suggest.rerank.select.mmr`
  orders candidates by Maximal Marginal Relevance with caps per designer and
  per category.
- :mod:`~core.suggest.rerank.context`: lifts for an occasion, a season and a
  client's upcoming birthday or anniversary, each with the words to show the
  associate and the client.
- :mod:`~core.suggest.rerank.look`: complementary products in other
  categories for an anchor product (co-purchase lift plus attribute
  compatibility, optionally personalised).
- :mod:`~core.suggest.rerank.gift`: products for a described recipient within
  a budget, ignoring the buyer's own taste.

Relevance, boosts and penalties share one scale: candidate scores min-max
scaled to [0, 1] (see :mod:`core.suggest.rules`). Item similarity is the cosine of
L2-normalised item vectors, dense or sparse (a model's ``item_embedding()``
when it has one, else :func:`core.engine.diversity.attribute_vectors`).
"""
