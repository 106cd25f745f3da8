"""The generated maison: a believable multi-designer luxury house with planted taste.

Atelier's embedded default data and its benchmark data both come from here.
Every client secretly mixes one or two taste *segments* (quiet luxury,
avant-garde, ...); every product belongs to one segment and draws most of its
attributes (designer, material, colour, tags, category, price band) from that
segment's palette. Events follow a luxury funnel and choose products by the
affinity of the client's mix with the product's segment, so the engine can be
checked against the planted truth (:attr:`Maison.truth`).

Randomness is chunk-proof: clients are grouped in fixed blocks of
:data:`SEED_BLOCK`; each block owns a generator spawned from the seed, and
every draw takes each block's values from that block's generator. The same
seed gives the same tables whether they are built in memory in one chunk or
streamed to disk in many (:func:`write_maison`).

The package holds the vocabulary apart from the builder:

- the data tables: :mod:`~core.data.generate.segments` (the planted tastes),
  :mod:`~core.data.generate.vocabulary` (categories, materials, colours, ...),
  :mod:`~core.data.generate.geography` (boutiques and names),
  :mod:`~core.data.generate.behaviour` (funnel, channels, rates);
- the builder, by stage: :mod:`~core.data.generate.products`,
  :mod:`~core.data.generate.stores` (stores, stock, staff),
  :mod:`~core.data.generate.catalogue`, :mod:`~core.data.generate.clients`,
  :mod:`~core.data.generate.events`, :mod:`~core.data.generate.chunks`;
- the results: :mod:`~core.data.generate.maison` (in memory) and
  :mod:`~core.data.generate.writing` (to a folder);
- their tools: :mod:`~core.data.generate.parameters` (defaults and limits),
  :mod:`~core.data.generate.draws`, :mod:`~core.data.generate.tables`,
  :mod:`~core.data.generate.text`.
"""

from __future__ import annotations

from core.data.generate.maison import Maison, generate_maison
from core.data.generate.parameters import (
    COLD_CLIENT_SHARE,
    COLD_PRODUCT_DAYS,
    COLD_PRODUCT_SHARE,
    DEFAULT_AS_OF,
    DEFAULT_EVENTS_PER_CLIENT,
    DEFAULT_N_CLIENTS,
    DEFAULT_N_PRODUCTS,
    LIMITS,
    RISING_DAYS,
    SEED_BLOCK,
    WINDOW_DAYS,
    Progress,
)
from core.data.generate.segments import SEGMENT_NAMES, SEGMENTS, Segment, segment_definitions
from core.data.generate.writing import write_maison

__all__ = [
    "COLD_CLIENT_SHARE",
    "COLD_PRODUCT_DAYS",
    "COLD_PRODUCT_SHARE",
    "DEFAULT_AS_OF",
    "DEFAULT_EVENTS_PER_CLIENT",
    "DEFAULT_N_CLIENTS",
    "DEFAULT_N_PRODUCTS",
    "LIMITS",
    "RISING_DAYS",
    "SEED_BLOCK",
    "SEGMENTS",
    "SEGMENT_NAMES",
    "WINDOW_DAYS",
    "Maison",
    "Progress",
    "Segment",
    "generate_maison",
    "segment_definitions",
    "write_maison",
]
