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
"""

from __future__ import annotations

import json
import math
import os
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from core.data.schema import CHANNELS, EVENT_TYPES, ONLINE_STORE_ID, TABLES, TIERS

Progress = Callable[[str, float], None]

DEFAULT_AS_OF = pd.Timestamp("2026-11-01")
DEFAULT_N_CLIENTS = 5_000
DEFAULT_N_PRODUCTS = 1_200
DEFAULT_EVENTS_PER_CLIENT = 30.0
WINDOW_DAYS = 730  # events span two years before as_of
RISING_DAYS = 42  # the rising segment ramps up over the last six weeks
COLD_PRODUCT_DAYS = 30
COLD_PRODUCT_SHARE = 0.04
COLD_CLIENT_SHARE = 0.05
SEED_BLOCK = 100  # clients per random stream; chunks are whole blocks

# Allowed ranges, declared once (checked by _check_int and _check_events_per_client).
LIMITS: dict[str, tuple[float, float]] = {
    "n_clients": (10, 50_000_000),
    "n_products": (50, 5_000_000),
    "events_per_client": (0.5, 10_000),
    "chunk_clients": (1, 50_000_000),
    "seed": (0, 2**63 - 1),
}

_CATALOGUE_STREAM, _CLIENT_STREAM = 0, 1
_BUCKET_DAYS = 30
_N_BUCKETS = math.ceil(WINDOW_DAYS / _BUCKET_DAYS)
_DAY = 86_400


# ------------------------------------------------------------------ segments
@dataclass(frozen=True)
class Segment:
    """A planted taste: the palette its products and clients draw from.

    ``categories`` maps category to emphasis; ``price_level`` multiplies the
    category's median price; ``share`` is the segment's weight among products
    and clients.
    """

    name: str
    label: str
    designers: tuple[str, ...]
    materials: tuple[str, ...]
    colors: tuple[str, ...]
    tags: tuple[str, ...]
    categories: tuple[tuple[str, float], ...]
    price_level: float
    share: float
    sustainable_rate: float = 0.04

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready description (used for ``truth/segments.json``)."""
        return {
            "label": self.label,
            "designers": list(self.designers),
            "materials": list(self.materials),
            "colors": list(self.colors),
            "tags": list(self.tags),
            "categories": dict(self.categories),
            "price_level": self.price_level,
            "share": self.share,
            "sustainable_rate": self.sustainable_rate,
        }


def _t(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


def _w(text: str) -> tuple[tuple[str, float], ...]:
    return tuple((k.strip(), float(v)) for k, v in (p.split(":") for p in text.split(",")))


SEGMENTS: dict[str, Segment] = {
    s.name: s
    for s in (
        Segment(
            "quiet_luxury", "Quiet luxury",
            _t("Maison Verlaine, Castelroux, Olin & Sorel"),
            _t("cashmere, calfskin, wool, silk, suede, lambskin, merino, white gold, steel, iris"),
            _t("camel, ivory, navy, charcoal, taupe, cream, silver"),
            _t("understated, timeless, tailored, logo-free, neutral, refined"),
            _w("ready-to-wear:0.3,outerwear:0.17,bags:0.18,shoes:0.12,small leather goods:0.09,"
               "accessories:0.06,watches:0.04,fragrance:0.04"),
            1.3, 0.17,
        ),
        Segment(
            "avant_garde", "Avant-garde",
            _t("Kaito Mori, Atelier Nœud, Vesna Draganić"),
            _t("neoprene, technical jersey, nylon, organza, patent leather, wool, lambskin, "
               "sterling silver, ceramic, acetate, incense"),
            _t("black, graphite, white, acid green, silver, oxblood"),
            _t("deconstructed, asymmetric, sculptural, experimental, monochrome, conceptual"),
            _w("ready-to-wear:0.38,shoes:0.18,outerwear:0.15,accessories:0.12,bags:0.1,"
               "jewellery:0.04,fragrance:0.03"),
            1.05, 0.12,
        ),
        Segment(
            "heritage_classic", "Heritage classic",
            _t("Hartwell & Co., Beaumont-Laurier, Casa Aldobrandi"),
            _t("tweed, canvas, grained leather, calfskin, gabardine, wool, gold, steel, silk, vetiver"),
            _t("burgundy, forest green, tan, navy, cognac, gold"),
            _t("heritage, monogram, equestrian, classic, craftsmanship, preppy"),
            _w("bags:0.28,small leather goods:0.18,shoes:0.14,outerwear:0.14,accessories:0.1,"
               "watches:0.08,ready-to-wear:0.05,fragrance:0.03"),
            1.1, 0.16,
        ),
        Segment(
            "runway", "Runway",
            _t("Valentina Roscetti, Léonie Arnaud, Dario Fenzi"),
            _t("silk, sequin, satin, crocodile, velvet, patent leather, gold, diamond, organza, "
               "tuberose"),
            _t("fuchsia, gold, emerald, red, silver, electric blue, black"),
            _t("statement, embellished, bold, evening, catwalk, glamorous"),
            _w("ready-to-wear:0.34,bags:0.24,shoes:0.2,accessories:0.08,jewellery:0.1,"
               "fragrance:0.04"),
            1.35, 0.14,
        ),
        Segment(
            "sporty_luxe", "Sporty luxe",
            _t("Nordvik, Kestrel Lab, Marlowe Sport"),
            _t("nylon, technical mesh, technical jersey, suede, recycled nylon, calfskin, titanium, "
               "down, jersey, acetate, neroli"),
            _t("white, black, grey, neon orange, sky blue"),
            _t("athleisure, performance, streetwear, logo, technical, urban"),
            _w("shoes:0.3,ready-to-wear:0.24,outerwear:0.2,accessories:0.12,bags:0.1,"
               "watches:0.02,fragrance:0.02"),
            0.65, 0.15,
        ),
        Segment(
            "jewellery_collector", "Jewellery collector",
            _t("Orsini Joaillier, Maison Delacroix-Vey, Aurelia Solène"),
            _t("gold, rose gold, white gold, platinum, diamond, pearl, emerald, sapphire, "
               "crocodile, oud"),
            _t("gold, rose gold, white, green, blue, silver"),
            _t("fine jewellery, heirloom, precious, collectible, high jewellery, iconic"),
            _w("jewellery:0.62,watches:0.28,small leather goods:0.04,accessories:0.03,"
               "fragrance:0.03"),
            1.6, 0.12,
        ),
        Segment(
            "minimalist_eco", "Minimalist eco",
            _t("Saskia Lind, Terre Studio, Halden"),
            _t("organic cotton, linen, recycled cashmere, recycled nylon, canvas, recycled gold, "
               "merino, raffia, straw, fig"),
            _t("ecru, sand, sage, stone, white, olive"),
            _t("minimalist, sustainable, clean lines, recycled, organic, essential"),
            _w("ready-to-wear:0.34,bags:0.18,shoes:0.15,outerwear:0.15,accessories:0.1,"
               "jewellery:0.03,fragrance:0.05"),
            0.75, 0.14, 0.7,
        ),
    )
}  # fmt: skip
SEGMENT_NAMES: tuple[str, ...] = tuple(SEGMENTS)


def segment_definitions() -> dict[str, dict[str, Any]]:
    """Every segment as a JSON-ready dict, keyed by segment name."""
    return {name: seg.as_dict() for name, seg in SEGMENTS.items()}


# ---------------------------------------------------------- catalogue vocab
@dataclass(frozen=True)
class _Category:
    name: str
    subcategories: tuple[tuple[str, float], ...]
    median_price: float
    materials: tuple[str, ...]
    colors: tuple[str, ...] | None  # None: any colour of the segment palettes
    stock_mean: float


_METAL_COLORS = _t("gold, rose gold, silver, white, black, green, blue")
_CATEGORIES: tuple[_Category, ...] = (
    _Category("bags", _w("tote:3,shoulder bag:3,crossbody:3,clutch:1.5,top-handle:2,backpack:1,bucket bag:1.5"), 2900,
              _t("calfskin, lambskin, grained leather, canvas, crocodile, suede, nylon, raffia, recycled nylon, patent leather"), None, 3),
    _Category("shoes", _w("pumps:2,loafers:2,sneakers:3,ankle boots:2,sandals:2,ballet flats:1,knee boots:1,mules:1"), 890,
              _t("calfskin, suede, patent leather, satin, nylon, technical mesh, canvas, velvet, lambskin"), None, 4),
    _Category("ready-to-wear", _w("dress:3,blouse:2,shirt:2,knit sweater:2.5,trousers:2.5,skirt:1.5,blazer:2,cardigan:1.5,t-shirt:1.5,lingerie set:1.6,jumpsuit:0.5"), 1450,
              _t("cashmere, recycled cashmere, silk, wool, merino, tweed, cotton poplin, organic cotton, linen, satin, sequin, jersey, technical jersey, organza, neoprene, velvet"), None, 5),
    _Category("jewellery", _w("ring:3,necklace:2.5,earrings:2.5,bracelet:2,pendant:1,engagement ring:1.6,brooch:0.5"), 5200,
              _t("gold, rose gold, white gold, platinum, diamond, pearl, emerald, sapphire, sterling silver, recycled gold"), _METAL_COLORS, 1.5),
    _Category("watches", _w("automatic watch:2,dress watch:2,chronograph:2,diver watch:1"), 11500,
              _t("steel, gold, rose gold, white gold, platinum, titanium, ceramic"), _METAL_COLORS, 1.2),
    _Category("small leather goods", _w("wallet:2,card holder:3,key pouch:1,belt:2,passport cover:1,phone case:1"), 520,
              _t("calfskin, lambskin, grained leather, canvas, crocodile, nylon, suede"), None, 6),
    _Category("fragrance", _w("eau de parfum:4,extrait de parfum:1.5,scented candle:2,body oil:1"), 240,
              _t("iris, vetiver, tuberose, neroli, oud, fig, incense, amber"), _t("clear, amber, black, rose"), 15),
    _Category("outerwear", _w("trench coat:2,wool coat:3,puffer jacket:2,leather jacket:1.5,cape:0.5,parka:1.5"), 3300,
              _t("wool, cashmere, recycled cashmere, tweed, nylon, recycled nylon, shearling, lambskin, suede, gabardine, down"), None, 3),
    _Category("accessories", _w("scarf:3,sunglasses:2,hat:1.5,gloves:1.5,silk carré:1.5"), 480,
              _t("silk, cashmere, wool, acetate, titanium, straw, calfskin, lambskin, sterling silver, nylon"), None, 6),
)  # fmt: skip
# Subcategories whose material is narrower than their category's.
_SUB_MATERIALS: dict[str, tuple[str, ...]] = {
    "wool coat": _t("wool, cashmere, recycled cashmere, tweed"),
    "cape": _t("wool, cashmere, recycled cashmere, tweed"),
    "puffer jacket": _t("nylon, recycled nylon, down"),
    "parka": _t("nylon, recycled nylon, gabardine"),
    "trench coat": _t("gabardine, recycled nylon, nylon"),
    "leather jacket": _t("lambskin, shearling, suede"),
    "knit sweater": _t("cashmere, recycled cashmere, merino, wool"),
    "cardigan": _t("cashmere, recycled cashmere, merino, wool"),
    "t-shirt": _t("jersey, organic cotton, technical jersey"),
    "lingerie set": _t("silk, satin"),
    "shirt": _t("cotton poplin, organic cotton, silk, linen"),
    "blouse": _t("silk, organza, satin, cotton poplin, linen"),
    "trousers": _t("wool, linen, cotton poplin, technical jersey, tweed, neoprene"),
    "blazer": _t("wool, tweed, linen, velvet, cashmere, neoprene"),
    "sneakers": _t("calfskin, suede, nylon, technical mesh, canvas"),
    "knee boots": _t("calfskin, suede, patent leather"),
    "ankle boots": _t("calfskin, suede, patent leather"),
    "backpack": _t("nylon, recycled nylon, calfskin, canvas"),
    "clutch": _t("calfskin, lambskin, crocodile, patent leather, raffia"),
    "sunglasses": _t("acetate, titanium"),
    "hat": _t("straw, wool, cashmere, nylon"),
    "gloves": _t("lambskin, calfskin, cashmere"),
    "scarf": _t("silk, cashmere, wool"),
    "silk carré": _t("silk"),
    "belt": _t("calfskin, grained leather, crocodile, canvas"),
}  # fmt: skip
_CAT_NAMES = tuple(c.name for c in _CATEGORIES)
_SUBS = tuple((ci, name, w) for ci, c in enumerate(_CATEGORIES) for name, w in c.subcategories)
_PLURAL = frozenset(n for _, n, _ in _SUBS if n.endswith("s") and n != "dress")
_DESIGNERS = np.array([d for s in SEGMENTS.values() for d in s.designers], dtype=object)
_MATERIALS = tuple(dict.fromkeys(m for c in _CATEGORIES for m in c.materials))
_PALETTE_COLORS = tuple(dict.fromkeys(c for s in SEGMENTS.values() for c in s.colors))
_COLORS = tuple(
    dict.fromkeys(_PALETTE_COLORS + tuple(x for c in _CATEGORIES for x in c.colors or ()))
)
_TAGS = tuple(dict.fromkeys(t for s in SEGMENTS.values() for t in s.tags))
_TAGS_ARRAY = np.array(_TAGS, dtype=object)
_PRICE_FACTOR = {
    "crocodile": 5.0, "diamond": 3.0, "platinum": 2.2, "emerald": 2.2, "sapphire": 2.0,
    "white gold": 1.7, "gold": 1.6, "rose gold": 1.6, "recycled gold": 1.5, "shearling": 1.6,
    "cashmere": 1.5, "recycled cashmere": 1.35, "sequin": 1.3, "lambskin": 1.2, "velvet": 1.1,
    "pearl": 1.2, "nylon": 0.6, "recycled nylon": 0.65, "canvas": 0.75, "cotton poplin": 0.7,
    "organic cotton": 0.75, "jersey": 0.6, "technical jersey": 0.7, "linen": 0.8,
    "sterling silver": 0.4, "steel": 0.7, "titanium": 0.9, "straw": 0.6, "raffia": 0.7,
    "acetate": 0.8,
}  # fmt: skip
_SUSTAINABLE_MATERIALS = frozenset(
    _t("organic cotton, linen, recycled cashmere, recycled nylon, recycled gold")
)
_WARM_MATERIALS = frozenset(_t("cashmere, recycled cashmere, wool, merino, tweed, velvet"))
_HEAVY = frozenset(_t("wool coat, puffer jacket, parka"))
_SENSITIVE_SUBCATEGORIES = frozenset(_t("lingerie set, engagement ring"))
_FRAGRANCE_NOTES = frozenset(_CATEGORIES[_CAT_NAMES.index("fragrance")].materials)
_MODEL_NAMES = _t(
    "Aurore, Odéon, Sélène, Riviera, Capri, Alma, Étoile, Lumière, Mistral, Sable, Orée, Tivoli, "
    "Brera, Kensington, Ginza, Fjord, Atlas, Nocturne, Solstice, Camille, Rivoli, Portofino, "
    "Belvédère, Opéra, Iris, Marais, Vendôme, Amalfi, Saint-Tropez, Mayfair, Aster, Calliope, "
    "Dune, Minuit, Aube, Corso, Palais, Cygne, Orsay, Lido, Soho, Tribeca, Hanami, Kōyō, Nordlys, "
    "Aurelia, Cassis, Verbier"
)  # fmt: skip
_SEASON_WEIGHTS = (0.12, 0.18, 0.2, 0.24, 0.26)  # oldest to newest season

# ------------------------------------------------------------------- stores
# id, name, city, country, climate, phone prefix, client share, stock factor,
# regional name mix, segment affinity (multiplies the segment shares)
_STORES: tuple[tuple[str, str, str, str, str, str, float, float, str, str], ...] = (
    ("par", "Paris Saint-Honoré", "Paris", "France", "temperate", "+33", 0.15, 1.4,
     "fr:55,it:5,gb:5,us:7,ar:7,zh:6,es:5,jp:4,de:3,in:3", "quiet_luxury:1.3,heritage_classic:1.2,avant_garde:1.1"),
    ("lon", "London Bond Street", "London", "United Kingdom", "temperate", "+44", 0.13, 1.3,
     "gb:50,fr:6,it:5,us:10,ar:8,in:8,zh:6,es:4,nordic:3", "heritage_classic:1.4,quiet_luxury:1.1"),
    ("mil", "Milano Montenapoleone", "Milan", "Italy", "temperate", "+39", 0.08, 1.0,
     "it:60,fr:6,de:6,us:6,ar:5,zh:7,es:5,kr:5", "runway:1.5,heritage_classic:1.1"),
    ("nyc", "New York Madison Avenue", "New York", "United States", "temperate", "+1", 0.12, 1.3,
     "us:55,es:12,fr:5,gb:6,it:6,zh:6,kr:5,in:5", "sporty_luxe:1.3,quiet_luxury:1.2"),
    ("tyo", "Tokyo Ginza", "Tokyo", "Japan", "temperate", "+81", 0.09, 1.1,
     "jp:75,kr:8,zh:10,us:4,fr:3", "avant_garde:1.8,minimalist_eco:1.2"),
    ("dxb", "Dubai Design District", "Dubai", "United Arab Emirates", "warm", "+971", 0.08, 1.0,
     "ar:55,in:15,gb:10,fr:5,it:5,zh:5,es:5", "jewellery_collector:2.0,runway:1.5"),
    ("mia", "Miami Design District", "Miami", "United States", "warm", "+1", 0.06, 0.8,
     "us:45,es:40,fr:5,it:5,gb:5", "sporty_luxe:1.5,runway:1.3"),
    ("sin", "Singapore Orchard Road", "Singapore", "Singapore", "warm", "+65", 0.07, 0.9,
     "zh:55,in:15,gb:8,jp:6,us:6,kr:5,ar:5", "jewellery_collector:1.3,quiet_luxury:1.2"),
    ("hkg", "Hong Kong Landmark", "Hong Kong", "Hong Kong", "warm", "+852", 0.06, 0.9,
     "zh:70,gb:10,jp:6,kr:6,us:4,fr:4", "jewellery_collector:1.6,heritage_classic:1.1"),
    ("osl", "Oslo Aker Brygge", "Oslo", "Norway", "cold", "+47", 0.04, 0.6,
     "nordic:75,gb:6,de:8,us:5,fr:3,zh:3", "minimalist_eco:2.0,sporty_luxe:1.2"),
    ("zrh", "Zürich Bahnhofstrasse", "Zurich", "Switzerland", "cold", "+41", 0.05, 0.8,
     "de:55,fr:15,it:12,us:5,gb:5,ar:4,zh:4", "quiet_luxury:1.4,jewellery_collector:1.3"),
    (ONLINE_STORE_ID, "Online boutique", "Online", "International", "temperate", "", 0.07, 3.0,
     "fr:1,gb:1,it:1,us:2,es:1,jp:1,ar:1,zh:1,nordic:1,de:1,in:1,kr:1", "sporty_luxe:1.3,minimalist_eco:1.2"),
)  # fmt: skip

_NAMES: dict[str, tuple[str, str]] = {
    "fr": ("Zoé, Isabelle, Chloé, Léa, Camille, Manon, Inès, Hélène, Élodie, Margaux, Clémence, Joséphine, "
           "François, Étienne, Julien, Louis, Théo, Raphaël, Aurélien, Benoît, Amélie, Céline, Noémie, Gaëlle",
           "Martin, Bernard, Dubois, Lefèvre, Moreau, Laurent, Girard, Rousseau, Fontaine, Chevalier, Mercier, "
           "Lemaître, Durand, Bonnet, Faure, Gauthier, Duchêne, Lécuyer, de La Roche, Béranger"),
    "gb": ("Olivia, Amelia, Charlotte, Harriet, Imogen, Georgia, James, Oliver, Henry, Edward, Alistair, "
           "Siobhan, Niamh, Rhys, Beatrix, Florence",
           "Smith, Harrington, Whitmore, Ashford, Blackwood, Pemberton, O'Connor, Fitzgerald, Clarke, Hughes, "
           "Campbell, MacLeod, Kavanagh"),
    "it": ("Giulia, Francesca, Chiara, Beatrice, Ludovica, Alessandro, Lorenzo, Niccolò, Matteo, Federica, "
           "Caterina, Gianluca, Vittoria",
           "Rossi, Bianchi, Ferrari, Romano, Colombo, Ricci, Marino, Greco, Conti, De Luca, Esposito, Galli, Fabbri"),
    "us": ("Emily, Madison, Ashley, Sarah, Jessica, Michael, Daniel, Ethan, Grace, Lauren, Brooke, "
           "Christopher, Natalie, Taylor",
           "Johnson, Williams, Brown, Miller, Davis, Wilson, Anderson, Taylor, Thompson, Lee, Whitaker, Sullivan"),
    "es": ("Ana, José, María, Lucía, Sofía, Valentina, Mateo, Santiago, Alejandro, Camila, Martín, Ximena, Begoña",
           "García, Fernández, López, Martínez, Sánchez, Pérez, Gómez, Díaz, Álvarez, Muñoz, Castillo, Ibáñez"),
    "jp": ("Yuki, Haruka, Aiko, Sakura, Mei, Hina, Kenji, Takeshi, Haruto, Ren, Yui, Emi, Sōta, Kōki",
           "Tanaka, Suzuki, Takahashi, Watanabe, Itō, Yamamoto, Nakamura, Kobayashi, Saitō, Katō, Yoshida, Matsumoto"),
    "ar": ("Aïsha, Fatima, Mariam, Noor, Layla, Hessa, Omar, Khalid, Rashid, Youssef, Salma, Amira, Hamdan, Zaïd",
           "Al Mansouri, Al Hashimi, Haddad, Khoury, Nasser, El-Amin, Saleh, Karam, Farouk, Al Suwaidi, Rahman, Bouzid"),
    "zh": ("Mei, Jia Hui, Wei, Xin Yi, Hui Min, Jun, Kai, Ling, Yan, Zhi Hao, Shu Fen, Wing",
           "Tan, Lim, Lee, Ng, Wong, Chan, Chen, Leung, Ong, Goh, Teo, Lau, Cheung"),
    "nordic": ("Søren, Astrid, Ingrid, Sigrid, Linnéa, Maja, Björn, Håkon, Eirik, Freja, Ole, Nora, Sølvi",
               "Hansen, Johansen, Olsen, Larsen, Andersen, Pedersen, Nilsen, Kristiansen, Bjørnstad, Lindqvist, "
               "Strøm, Haugen, Åberg"),
    "de": ("Anna, Lena, Lukas, Jonas, Sophie, Mia, Felix, Maximilian, Jürgen, Käthe, Noah, Léonie, Matthias, Mirjam",
           "Müller, Meier, Schmid, Keller, Weber, Huber, Schneider, Fischer, Brunner, Baumann, Gerber, Zürcher, Käser"),
    "in": ("Priya, Ananya, Arjun, Rohan, Kavya, Aditi, Vikram, Meera, Ishaan, Diya",
           "Sharma, Kapoor, Mehta, Iyer, Patel, Reddy, Malhotra, Banerjee, Nair"),
    "kr": ("Ji-woo, Seo-yeon, Min-jun, Ha-eun, Do-yun, Soo-ah, Ye-jin, Jae-won",
           "Kim, Park, Choi, Jung, Kang, Yoon, Han, Seo"),
}  # fmt: skip
_REGIONS = tuple(_NAMES)

# ----------------------------------------------------------------- behaviour
# Funnel per tier over EVENT_TYPES (returns are derived from purchases).
_FUNNEL = np.array(
    [  # view  zoom  wish  e_open e_click try_on purchase return
        [0.56, 0.12, 0.06, 0.19, 0.05, 0.01, 0.01, 0.0],  # prospect
        [0.50, 0.12, 0.08, 0.19, 0.06, 0.025, 0.025, 0.0],  # client
        [0.47, 0.12, 0.09, 0.18, 0.06, 0.04, 0.04, 0.0],  # loyal
        [0.49, 0.12, 0.09, 0.14, 0.05, 0.05, 0.06, 0.0],  # vic
    ]
)
_TIER_P = np.array([0.20, 0.45, 0.28, 0.07])
_TIER_ACTIVITY = np.array([0.35, 0.75, 1.4, 3.8])
# Channel per event type, over CHANNELS (store, online, email, app, phone).
_CHANNEL_P = np.array(
    [
        [0.10, 0.58, 0.0, 0.32, 0.0],  # view
        [0.0, 0.62, 0.0, 0.38, 0.0],  # zoom
        [0.12, 0.50, 0.0, 0.38, 0.0],  # wishlist
        [0.0, 0.0, 1.0, 0.0, 0.0],  # email_open
        [0.0, 0.0, 1.0, 0.0, 0.0],  # email_click
        [1.0, 0.0, 0.0, 0.0, 0.0],  # try_on
        [0.58, 0.24, 0.0, 0.12, 0.06],  # purchase
        [0.6, 0.4, 0.0, 0.0, 0.0],  # return
    ]
)
_E = {name: i for i, name in enumerate(EVENT_TYPES)}
_C = {name: i for i, name in enumerate(CHANNELS)}
_NOISE = 0.12  # share of a client's demand that ignores their taste
_EMAIL_NOISE = 0.5  # newsletters push the house's picks, not the client's
_GIFT_RATE = 0.08
_RETURN_RATE = 0.075  # a few returns fall after as_of and are dropped
_VIEW_BEFORE_PURCHASE = 0.85
_TRY_BEFORE_STORE_PURCHASE = 0.5
_RISING_PEAK = 0.55  # chance, on as_of's eve, that demand goes to the rising segment
# Derived events (views, try-ons, returns) and short histories, measured at
# the default sizes: base events = events_per_client / this factor.
_CALIBRATION = 0.923


# --------------------------------------------------------------- the result
@dataclass(frozen=True)
class Maison:
    """A generated maison.

    Attributes
    ----------
    tables : dict of str to DataFrame
        ``products``, ``stores``, ``stock``, ``associates``, ``clients``,
        ``events``, with every column of :mod:`core.data.schema`.
    truth : dict of str to DataFrame
        ``client_segments`` (client_id, segment, weight; weights of a client
        sum to 1), ``product_segments`` (product_id, segment) and
        ``segments`` (one row per segment: its palette, and ``rising``).
    as_of : Timestamp
        Reference date (midnight); every event is strictly before it.
    """

    tables: dict[str, pd.DataFrame]
    truth: dict[str, pd.DataFrame]
    as_of: pd.Timestamp


# -------------------------------------------------------------- validation
def _check_int(name: str, value: Any) -> int:
    lo, hi = LIMITS[name]
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise ValueError(f"{name} must be between {lo:,.0f} and {hi:,.0f}, got {value:,}")
    return int(value)


def _check_events_per_client(value: float | None) -> float:
    if value is None:
        return DEFAULT_EVENTS_PER_CLIENT
    lo, hi = LIMITS["events_per_client"]
    if not isinstance(value, int | float) or not math.isfinite(value) or not lo <= value <= hi:
        raise ValueError(
            f"events_per_client must be a number between {lo} and {hi:,}, got {value!r}"
        )
    return float(value)


def _check_n_events(n_events: int | None, n_clients: int) -> float:
    """Events per client for ``n_events`` in all."""
    if n_events is None:
        return DEFAULT_EVENTS_PER_CLIENT
    lo, hi = LIMITS["events_per_client"]
    if isinstance(n_events, bool) or not isinstance(n_events, int | np.integer):
        raise ValueError(f"n_events must be an integer or None, got {n_events!r}")
    if not lo <= n_events / n_clients <= hi:
        raise ValueError(
            f"n_events must give between {lo} and {hi:,} events per client "
            f"(here {lo * n_clients:,.0f} to {hi * n_clients:,.0f}), got {n_events:,}"
        )
    return n_events / n_clients


def _check_as_of(as_of: pd.Timestamp | str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(as_of)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"as_of must be a date, got {as_of!r}") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError("as_of must be a date, got a missing value")
    if ts.tzinfo is not None:
        raise ValueError("as_of must be timezone-naive (local store time); drop the timezone")
    return ts.normalize().as_unit("us")


def _check_rising(rising_segment: str | None) -> int:
    if rising_segment is None:
        return -1
    if rising_segment not in SEGMENTS:
        raise ValueError(
            f"rising_segment must be one of {', '.join(SEGMENT_NAMES)} or None, "
            f"got {rising_segment!r}"
        )
    return SEGMENT_NAMES.index(rising_segment)


# ------------------------------------------------------------------ helpers
_ARROW = {
    "str": pa.string(), "list": pa.string(), "int": pa.int64(), "float": pa.float64(),
    "bool": pa.bool_(), "datetime": pa.timestamp("us"),
}  # fmt: skip
_TRUTH_SCHEMAS = {
    "client_segments": pa.schema(
        [("client_id", pa.string()), ("segment", pa.string()), ("weight", pa.float64())]
    ),
    "product_segments": pa.schema([("product_id", pa.string()), ("segment", pa.string())]),
}


def _schema(name: str) -> pa.Schema:
    if name in _TRUTH_SCHEMAS:
        return _TRUTH_SCHEMAS[name]
    return pa.schema([(c.name, _ARROW[c.kind]) for c in TABLES[name].columns])


def _table(name: str, columns: dict[str, Any]) -> pa.Table:
    """Arrow table of one contract table, columns in contract order."""
    schema = _schema(name)
    if set(columns) != set(schema.names):
        raise AssertionError(f"{name}: columns {sorted(set(columns) ^ set(schema.names))}")
    arrays = [
        col if isinstance(col := columns[f.name], pa.Array | pa.ChunkedArray)
        else pa.array(col, type=f.type, from_pandas=True)
        for f in schema
    ]  # fmt: skip
    return pa.Table.from_arrays(arrays, schema=schema)


def _cum(p: np.ndarray) -> np.ndarray:
    """Row-wise cumulative distribution; values within rounding of 1 are exactly 1."""
    p = np.asarray(p, dtype=float)
    c = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    c[c > 1.0 - 1e-12] = 1.0
    return c


def _pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Index drawn from each row of ``cum`` (a cumulative distribution) with ``u``."""
    if cum.ndim == 1:
        return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)
    return np.minimum((u[:, None] >= cum).sum(axis=1), cum.shape[1] - 1)


def _weights(pairs: str | tuple[tuple[str, float], ...], names: tuple[str, ...]) -> np.ndarray:
    """Weights over ``names`` from ``(name, weight)`` pairs or ``"name:w,..."`` text."""
    w = np.zeros(len(names))
    for k, v in _w(pairs) if isinstance(pairs, str) else pairs:
        w[names.index(k)] = float(v)
    return w


_FOLD = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l"})


def _ascii(name: str) -> str:
    """Lower-case ASCII letters and digits of a name (for e-mail addresses)."""
    folded = name.lower().translate(_FOLD)
    folded = unicodedata.normalize("NFKD", folded)
    return "".join(ch for ch in folded if ch.isascii() and ch.isalnum())


def _joined(labels: np.ndarray, picks: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``|``-join the first ``m[i]`` labels of ``picks[i]`` (object array of str)."""
    out = np.full(len(m), "", dtype=object)
    if picks.shape[1] == 0:
        return out
    has = m > 0
    out[has] = labels[picks[has, 0]]
    for j in range(1, picks.shape[1]):
        more = m > j
        out[more] = out[more] + "|" + labels[picks[more, j]]
    return out


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _nice_price(x: np.ndarray) -> np.ndarray:
    step = np.where(x < 500, 5.0, np.where(x < 5_000, 50.0, 100.0))
    return np.maximum(np.round(x / step) * step, 45.0)


def _season_code(ts: pd.Timestamp) -> str:
    return f"{'SS' if ts.month < 7 else 'FW'}{ts.year % 100:02d}"


def _seconds(ts: pd.Timestamp) -> int:
    return int((ts - pd.Timestamp(0)) // pd.Timedelta(seconds=1))


def _datetimes(seconds: np.ndarray) -> np.ndarray:
    return seconds.astype("datetime64[s]").astype("datetime64[us]")


class _BlockRandom:
    """Random draws for a chunk of clients that do not depend on the chunking.

    Each block of :data:`SEED_BLOCK` clients owns a generator spawned from the
    seed (``SeedSequence(seed, spawn_key=(1, block))``). Items (clients,
    events, purchases) are listed in client order; a draw takes each block's
    items from that block's generator, in the same sequence of calls whatever
    the chunk holds.
    """

    def __init__(self, seed: int, first_block: int, sizes: np.ndarray) -> None:
        self.sizes = sizes
        self._gens = [
            np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_CLIENT_STREAM, b)))
            for b in range(first_block, first_block + len(sizes))
        ]

    def draw(
        self, owner: np.ndarray | None, fn: Callable[[np.random.Generator, slice], Any]
    ) -> np.ndarray:
        """Concatenate ``fn(generator, slice of items)`` over blocks.

        ``owner`` gives each item's client (chunk-local, non-decreasing);
        ``None`` means one item per client.
        """
        if owner is None:
            counts = self.sizes
        else:
            counts = np.bincount(owner // SEED_BLOCK, minlength=len(self._gens))
        parts, start = [], 0
        for gen, k in zip(self._gens, counts, strict=True):
            parts.append(fn(gen, slice(start, start + int(k))))
            start += int(k)
        return np.concatenate(parts)

    def normal(self) -> np.ndarray:
        """One standard normal per client."""
        return self.draw(None, lambda g, s: g.standard_normal(s.stop - s.start))

    def random(self, owner: np.ndarray | None = None, cols: int | None = None) -> np.ndarray:
        """Uniforms in [0, 1): one per item, or ``cols`` per item."""
        return self.draw(
            owner,
            lambda g, s: g.random(s.stop - s.start if cols is None else (s.stop - s.start, cols)),
        )


# ---------------------------------------------------------------- catalogue
@dataclass(frozen=True)
class _Catalogue:
    """Everything clients and events need from the catalogue, stores and staff."""

    tables: dict[str, pa.Table]
    product_segments: pa.Table
    product_ids: pa.Array
    product_id_labels: np.ndarray  # the same, as an object array
    price: np.ndarray
    launch_day: np.ndarray  # days after the window start (may be negative)
    heavy: np.ndarray
    light: np.ndarray
    choice_keys: np.ndarray  # (bucket, segment) blocks of cumulative product weights
    seg_order: np.ndarray  # products sorted by segment (the order inside a block)
    seg_start: np.ndarray  # (S + 1,) offsets into seg_order
    price_band: np.ndarray  # (S, 2) 10th and 90th percentile price per segment
    pref_labels: dict[str, np.ndarray]
    pref_matrix: dict[str, np.ndarray]  # (S, labels) taste weights per segment
    store_ids: pa.Array
    store_share: np.ndarray
    store_climate: np.ndarray  # index into ("warm", "temperate", "cold")
    store_segments: np.ndarray  # (stores, S) cumulative primary-segment distribution
    store_regions: np.ndarray  # (stores, regions) cumulative name-region distribution
    store_phone: tuple[str, ...]
    physical: np.ndarray  # indices of the physical stores
    online: int
    staff_ids: pa.Array
    staff_start: np.ndarray  # (stores + 1,) offsets into staff_pool
    staff_pool: np.ndarray  # associate and stylist rows, grouped by store
    stylist: np.ndarray  # store -> stylist row (-1 online)
    start_seconds: int  # the window start, in epoch seconds


def _pool_pick(pools: list[np.ndarray], group: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Item ``u`` of pool ``group[i]`` for each i."""
    flat = np.concatenate(pools)
    counts = np.array([len(p) for p in pools])
    start = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return flat[start[group] + (u * counts[group]).astype(int)]


_FIRST_NAMES = [np.array(_t(_NAMES[g][0]), dtype=object) for g in _REGIONS]
_LAST_NAMES = [np.array(_t(_NAMES[g][1]), dtype=object) for g in _REGIONS]
_FOLDED = {x: _ascii(x) for pool in _FIRST_NAMES + _LAST_NAMES for x in pool}


def _palette(
    labels: tuple[str, ...], rows: list[tuple[tuple[str, ...], tuple[str, ...]]], own: float
) -> np.ndarray:
    """Cumulative distributions over ``labels``, one per (palette, allowed) row:
    ``own`` of the mass on the palette's allowed labels, the rest on all allowed."""
    p = np.zeros((len(rows), len(labels)))
    for i, (palette, allowed) in enumerate(rows):
        mine = [x for x in palette if x in allowed]
        for x in allowed:
            p[i, labels.index(x)] += (1 - own if mine else 1.0) / len(allowed)
        for x in mine:
            p[i, labels.index(x)] += own / len(mine)
    return _cum(p)


def _products(rng: np.random.Generator, n: int, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """Product attributes; each product's segment shapes ~80% of its draws."""
    segs = list(SEGMENTS.values())
    n_seg = len(segs)
    shares = np.array([s.share for s in segs])
    seg = rng.choice(n_seg, size=n, p=shares / shares.sum())
    seg[rng.permutation(n)[:n_seg]] = np.arange(n_seg)  # every segment is represented
    cat_p = np.array([_weights(s.categories, _CAT_NAMES) for s in segs])
    cat_p = 0.85 * cat_p / cat_p.sum(1, keepdims=True) + 0.15 / len(_CAT_NAMES)
    cat = _pick(_cum(cat_p)[seg], rng.random(n))
    sub_p = np.array([[w * (c == ci) for ci, _, w in _SUBS] for c in range(len(_CATEGORIES))])
    sub = _pick(_cum(sub_p)[cat], rng.random(n))
    subcat = np.array([name for _, name, _ in _SUBS], dtype=object)[sub]

    des_p = np.array(
        [[0.85 / len(s.designers) * (d in s.designers) for d in _DESIGNERS] for s in segs]
    )
    designer = _DESIGNERS[_pick(_cum(des_p + 0.15 / len(_DESIGNERS))[seg], rng.random(n))]
    row = seg * len(_SUBS) + sub
    allowed = [(_SUB_MATERIALS.get(name) or _CATEGORIES[ci].materials) for ci, name, _ in _SUBS]
    mat_cum = _palette(_MATERIALS, [(s.materials, a) for s in segs for a in allowed], 0.8)
    material = np.array(_MATERIALS, dtype=object)[_pick(mat_cum[row], rng.random(n))]
    col_allowed = [_CATEGORIES[ci].colors or _PALETTE_COLORS for ci, _, _ in _SUBS]
    col_cum = _palette(_COLORS, [(s.colors, a) for s in segs for a in col_allowed], 0.8)
    color = np.array(_COLORS, dtype=object)[_pick(col_cum[row], rng.random(n))]
    tag_cum = _palette(_TAGS, [(s.tags, _TAGS) for s in segs], 0.8)
    tag_i = _pick(np.repeat(tag_cum[seg], 3, axis=0), rng.random(3 * n)).reshape(n, 3)

    # Collections: the last five seasons; the new arrivals launched in the last 30 days.
    last_launch = as_of - pd.Timedelta(days=COLD_PRODUCT_DAYS + 1)
    starts = [
        s for y in range(as_of.year - 3, as_of.year + 1) for m in (1, 7)
        if (s := pd.Timestamp(year=y, month=m, day=15)) <= last_launch
    ][-len(_SEASON_WEIGHTS) :]  # fmt: skip
    season = _pick(_cum(np.array(_SEASON_WEIGHTS[-len(starts) :])), rng.random(n))
    start_days = np.array([(s - as_of).days for s in starts])
    launch_rel = np.minimum(start_days[season] + rng.integers(0, 100, n), -(COLD_PRODUCT_DAYS + 1))
    collection = np.array([_season_code(s) for s in starts], dtype=object)[season]
    cold = np.zeros(n, dtype=bool)
    cold[rng.permutation(n)[: max(1, round(COLD_PRODUCT_SHARE * n))]] = True
    launch_rel[cold] = -rng.integers(1, COLD_PRODUCT_DAYS + 1, cold.sum())
    collection[cold] = [_season_code(as_of + pd.Timedelta(days=int(d))) for d in launch_rel[cold]]

    level = np.array([s.price_level for s in segs])[seg]
    factor = np.array([_PRICE_FACTOR.get(m, 1.0) for m in material])
    medians = np.array([c.median_price for c in _CATEGORIES])[cat]
    markdown = (launch_rel < -300) & (rng.random(n) < 0.1)
    noise = rng.lognormal(0.0, 0.3, n)
    price = _nice_price(medians * level * factor * noise * np.where(markdown, 0.7, 1.0))
    sust_rate = np.array([s.sustainable_rate for s in segs])[seg]
    sust_material = np.isin(material, list(_SUSTAINABLE_MATERIALS))
    sustainable = rng.random(n) < np.where(sust_material, 0.85, sust_rate)
    collectible = np.isin(seg, [SEGMENT_NAMES.index(x) for x in ("runway", "jewellery_collector")])
    limited = rng.random(n) < np.where(collectible, 0.08, 0.03)
    warmth = np.full(n, "", dtype=object)
    rtw, outer = cat == _CAT_NAMES.index("ready-to-wear"), cat == _CAT_NAMES.index("outerwear")
    knit = np.isin(material, list(_WARM_MATERIALS)) | np.isin(subcat, ["knit sweater", "cardigan"])
    warmth[rtw] = np.where(knit[rtw], "medium", "light")
    heavy = np.isin(subcat, list(_HEAVY)) | np.isin(material, ["shearling", "down"])
    warmth[outer] = np.where(heavy[outer], "heavy", "medium")

    model = np.array(_MODEL_NAMES, dtype=object)[rng.integers(0, len(_MODEL_NAMES), n)]
    frag = cat == _CAT_NAMES.index("fragrance")
    tags, description = [], []
    for i in range(n):
        t = list(dict.fromkeys(_TAGS_ARRAY[tag_i[i]]))
        tags.append("|".join(t))
        what = f"{material[i]} {subcat[i]}" if frag[i] else f"{color[i]} {material[i]} {subcat[i]}"
        if subcat[i] in _PLURAL:
            what = what[0].upper() + what[1:]
        else:
            what = f"{_article(what).capitalize()} {what}"
        description.append(
            f"{what} by {designer[i]} from the {collection[i]} collection, "
            f"in {_article(t[0])} {' and '.join(t[:2])} mood."
        )
    width = max(5, len(str(n)))
    return {
        "product_id": np.array([f"p{i + 1:0{width}d}" for i in range(n)], dtype=object),
        "name": model + " " + subcat + np.where(frag, "", " in " + material),
        "category": np.array(_CAT_NAMES, dtype=object)[cat], "price": price,
        "designer": designer, "subcategory": subcat, "material": material, "color": color,
        "currency": np.full(n, "EUR", dtype=object), "collection": collection,
        "launch_date": (np.datetime64(as_of.date(), "D") + launch_rel).astype("datetime64[us]"),
        "style_tags": np.array(tags, dtype=object),
        "description": np.array(description, dtype=object), "sustainable": sustainable,
        "limited_edition": limited, "sensitive": np.isin(subcat, list(_SENSITIVE_SUBCATEGORIES)),
        "markdown": markdown, "warmth": warmth,
        # internal, not part of the table
        "_segment": seg, "_category": cat, "_launch_rel": launch_rel, "_cold": cold,
    }  # fmt: skip


def _stock(rng: np.random.Generator, p: dict[str, np.ndarray]) -> pa.Table:
    """A row per (product, store); some pairs, and a few products, out of stock."""
    n, n_st = len(p["product_id"]), len(_STORES)
    cold, limited = p["_cold"], p["limited_edition"]
    mean = np.array([c.stock_mean for c in _CATEGORIES])[p["_category"]][:, None] * np.array(
        [s[7] for s in _STORES]
    )
    warm = np.array([s[4] == "warm" for s in _STORES])
    mean[np.ix_(p["warmth"] == "heavy", warm)] *= 0.3  # few heavy coats in warm cities
    qty = rng.poisson(mean)
    qty[rng.random((n, n_st)) < np.where(cold, 0.03, np.where(limited, 0.35, 0.12))[:, None]] = 0
    qty[(rng.random(n) < 0.03) & ~cold] = 0
    return _table("stock", {
        "product_id": np.repeat(p["product_id"], n_st),
        "store_id": np.tile([s[0] for s in _STORES], n),
        "quantity": qty.reshape(-1).astype(np.int64),
    })  # fmt: skip


def _staff(
    rng: np.random.Generator, store_ids: pa.Array, online: int
) -> tuple[pa.Table, np.ndarray, np.ndarray, np.ndarray]:
    """Per boutique 2-4 associates and one stylist; three managers; two admins.

    Returns the table, the offsets of each store's associates and stylist in
    the pool, the pool (rows of the table) and each store's stylist row.
    """
    n_st = len(_STORES)
    role: list[str] = []
    where: list[int] = []
    pool: list[int] = []
    stylist = np.full(n_st, -1)
    start = np.zeros(n_st + 1, dtype=int)
    for i in range(n_st):
        start[i] = len(pool)
        if i == online:
            continue
        for r in ["associate"] * int(rng.integers(2, 5)) + ["stylist"]:
            pool.append(len(role))
            if r == "stylist":
                stylist[i] = len(role)
            role.append(r)
            where.append(i)
    start[n_st] = len(pool)
    role += ["manager"] * 3 + ["admin"] * 2
    where += [0, 3, 5, -1, -1]  # regional managers in Paris, New York, Dubai; admins at head office
    region_cum = _cum(np.array([_weights(s[8], _REGIONS) for s in _STORES]))
    ws = np.array(where)
    region = _pick(region_cum[np.maximum(ws, 0)], rng.random(len(role)))
    u = rng.random((len(role), 2))
    first = _pool_pick(_FIRST_NAMES, region, u[:, 0])
    last = _pool_pick(_LAST_NAMES, region, u[:, 1])
    emails: list[str] = []
    for a, b in zip(first, last, strict=True):
        local = f"{_FOLDED[a]}.{_FOLDED[b]}"
        taken = sum(e.startswith(local + "@") or e.startswith(local + "-") for e in emails)
        emails.append(f"{local}{f'-{taken + 1}' if taken else ''}@atelier.example")
    table = _table("associates", {
        "user_id": np.array([f"u{i + 1:04d}" for i in range(len(role))], dtype=object),
        "name": first + " " + last, "role": role,
        "store_id": store_ids.take(pa.array(ws, mask=ws < 0)), "email": emails,
    })  # fmt: skip
    return table, start, np.array(pool), stylist


def _choice_keys(
    rng: np.random.Generator, seg: np.ndarray, launch_day: np.ndarray, cold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The product-choice table.

    For each 30-day bucket and segment, the cumulative weights (popularity x
    lifecycle, zero before launch) of the segment's products, laid end to end:
    block ``bucket * S + segment`` spans ``(block, block + 1]``, so one
    ``searchsorted`` of ``block + u`` draws a product for every event.
    Returns the keys, the product order inside a block and segment offsets.
    """
    n_seg = len(SEGMENTS)
    # New arrivals start with a launch buzz well below an established product.
    pop = rng.lognormal(0.0, 1.0, len(seg)) * np.where(cold, 0.4, 1.0)
    b = np.arange(_N_BUCKETS)[:, None]
    age = b * _BUCKET_DAYS + _BUCKET_DAYS // 2 - launch_day[None, :]
    life = np.select([age < 0, age < 120, age < 365], [0.8, 1.6, 1.0], 0.55)
    launched = launch_day[None, :] < np.minimum((b + 1) * _BUCKET_DAYS, WINDOW_DAYS)
    order = np.argsort(seg, kind="stable")
    seg_sorted = seg[order]
    start = np.searchsorted(seg_sorted, np.arange(n_seg + 1))
    w = (pop * life * launched)[:, order]
    totals = np.add.reduceat(w, start[:-1], axis=1)  # (buckets, S)
    for s in range(n_seg):  # a segment with nothing launched yet borrows a later bucket
        for bi in range(_N_BUCKETS - 2, -1, -1):
            if totals[bi, s] <= 0:
                w[bi, start[s] : start[s + 1]] = w[bi + 1, start[s] : start[s + 1]]
                totals[bi, s] = totals[bi + 1, s]
    cs = np.cumsum(w, axis=1)
    before = np.concatenate([np.zeros((_N_BUCKETS, 1)), cs], axis=1)[:, start[:-1]]
    within = (cs - before[:, seg_sorted]) / totals[:, seg_sorted]
    within[:, start[1:] - 1] = 1.0
    return ((b * n_seg + seg_sorted[None, :]) + within).reshape(-1), order, start


def _build_catalogue(n_products: int, seed: int, as_of: pd.Timestamp) -> _Catalogue:
    # One stream per part, so that staff (say) do not change with the catalogue size.
    rng = [
        np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_CATALOGUE_STREAM, part)))
        for part in range(4)
    ]
    segs = list(SEGMENTS.values())
    p = _products(rng[0], n_products, as_of)
    products = _table("products", {k: v for k, v in p.items() if not k.startswith("_")})
    seg, price = p["_segment"], p["price"]
    stores = _table("stores", {
        "store_id": [s[0] for s in _STORES], "name": [s[1] for s in _STORES],
        "city": [s[2] for s in _STORES], "country": [s[3] for s in _STORES],
        "climate": [s[4] for s in _STORES], "online": [s[0] == ONLINE_STORE_ID for s in _STORES],
    })  # fmt: skip
    store_ids = stores.column("store_id").combine_chunks()
    online = [s[0] for s in _STORES].index(ONLINE_STORE_ID)
    stock = _stock(rng[1], p)
    associates, staff_start, staff_pool, stylist = _staff(rng[2], store_ids, online)
    launch_day = p["_launch_rel"] + WINDOW_DAYS
    keys, order, seg_start = _choice_keys(rng[3], seg, launch_day, p["_cold"])

    materials = np.array([m for m in _MATERIALS if m not in _FRAGRANCE_NOTES], dtype=object)
    cat_w = np.array([_weights(s.categories, _CAT_NAMES) for s in segs])
    pref_labels = {
        "designers": _DESIGNERS, "categories": np.array(_CAT_NAMES, dtype=object),
        "colors": np.array(_PALETTE_COLORS, dtype=object), "materials": materials,
    }  # fmt: skip
    pref_matrix = {
        "designers": np.array([[1.0 * (d in s.designers) for d in _DESIGNERS] for s in segs]),
        "categories": cat_w / cat_w.sum(1, keepdims=True),
        "colors": np.array([[1.0 * (c in s.colors) for c in _PALETTE_COLORS] for s in segs]),
        "materials": np.array([[1.0 * (m in s.materials) for m in materials] for s in segs]),
    }
    affinity = np.array([_weights(s[9], SEGMENT_NAMES) for s in _STORES])
    affinity[affinity == 0] = 1.0
    shares = np.array([s.share for s in segs])
    return _Catalogue(
        tables={"products": products, "stores": stores, "stock": stock, "associates": associates},
        product_segments=_table("product_segments", {
            "product_id": p["product_id"], "segment": np.array(SEGMENT_NAMES, dtype=object)[seg],
        }),
        product_ids=products.column("product_id").combine_chunks(),
        product_id_labels=p["product_id"], price=price,
        launch_day=launch_day, heavy=p["warmth"] == "heavy", light=p["warmth"] == "light",
        choice_keys=keys, seg_order=order, seg_start=seg_start,
        price_band=np.array([np.percentile(price[seg == s], [10, 90]) for s in range(len(segs))]),
        pref_labels=pref_labels, pref_matrix=pref_matrix, store_ids=store_ids,
        store_share=np.array([s[6] for s in _STORES]),
        store_climate=np.array([("warm", "temperate", "cold").index(s[4]) for s in _STORES]),
        store_segments=_cum(shares * affinity),
        store_regions=_cum(np.array([_weights(s[8], _REGIONS) for s in _STORES])),
        store_phone=tuple(s[5] for s in _STORES),
        physical=np.array([i for i in range(len(_STORES)) if i != online]), online=online,
        staff_ids=associates.column("user_id").combine_chunks(), staff_start=staff_start,
        staff_pool=staff_pool, stylist=stylist,
        start_seconds=_seconds(as_of - pd.Timedelta(days=WINDOW_DAYS)),
    )  # fmt: skip


# ------------------------------------------------------------------ clients
_SIZES_RTW = (("XS", "S", "M", "L", "XL"), (0.12, 0.3, 0.33, 0.17, 0.08))
_SIZES_SHOES = tuple(f"{s / 2:g}" for s in range(70, 93))  # EU 35 to 46
_SIZES_RING = tuple(str(s) for s in range(48, 63))  # French ring sizes
_EMAIL_DOMAINS = np.array(["example.com", "example.org", "example.net"], dtype=object)


@dataclass(frozen=True)
class _Clients:
    """What the events of a chunk need to know about its clients."""

    ids: np.ndarray
    home: np.ndarray
    tier: np.ndarray
    mix: np.ndarray  # (clients, S) true segment weights, rows sum to 1
    cold: np.ndarray
    consent_contact: np.ndarray
    start_day: np.ndarray  # first day (after the window start) they can have events


def _declared(
    br: _BlockRandom, weights: np.ndarray, labels: np.ndarray, m_max: int, present: np.ndarray
) -> np.ndarray:
    """Declared preferences: 1..m_max labels per client, drawn without replacement
    in proportion to ``weights`` (Gumbel top-k), ``""`` where not ``present``."""
    u = br.random(cols=len(labels))
    m = 1 + (br.random() * m_max).astype(int)
    with np.errstate(divide="ignore"):
        keys = np.log(weights) - np.log(-np.log(np.maximum(u, 1e-300)))
    picks = np.argsort(-keys, axis=1)[:, :m_max]
    m = np.where(present, np.minimum(m, (weights > 0).sum(axis=1)), 0)
    return _joined(labels, picks, m)


def _clients(
    br: _BlockRandom, cat: _Catalogue, first: int, n_clients: int, as_of: pd.Timestamp
) -> tuple[pa.Table, pa.Table, _Clients]:
    """The clients of a chunk (``first`` is the global index of its first client),
    their true segments, and what their events need."""
    r = br.random
    nc, n_seg, days = int(br.sizes.sum()), len(SEGMENTS), WINDOW_DAYS
    gidx = first + np.arange(nc)
    shares = np.array([s.share for s in SEGMENTS.values()])

    # Who they are: home store, tier, true taste (one or two segments).
    home = _pick(_cum(cat.store_share), r())
    cold = r() < COLD_CLIENT_SHARE
    tier = np.where(cold, (r() >= 0.75).astype(int), _pick(_cum(_TIER_P), r()))
    vic = tier == TIERS.index("vic")
    primary = _pick(cat.store_segments[home], r())
    second_p = np.tile(shares, (n_seg, 1))
    np.fill_diagonal(second_p, 0.0)
    second = _pick(_cum(second_p)[primary], r())
    w1 = np.where(r() < 0.45, 0.55 + 0.3 * r(), 1.0)
    mix = np.zeros((nc, n_seg))
    mix[np.arange(nc), primary] = w1
    mix[np.arange(nc), second] += 1.0 - w1

    # Names, contact details, consent, assigned associate.
    region = _pick(cat.store_regions[home], r())
    first_name = _pool_pick(_FIRST_NAMES, region, r())
    last_name = _pool_pick(_LAST_NAMES, region, r())
    domain = _EMAIL_DOMAINS[(r() * len(_EMAIL_DOMAINS)).astype(int)]
    email = [
        f"{_FOLDED[f]}.{_FOLDED[la]}.{i + 1}@{d}"
        for f, la, i, d in zip(first_name, last_name, gidx, domain, strict=True)
    ]
    travelled = cat.physical[(r() * len(cat.physical)).astype(int)]
    phone_store = np.where(home == cat.online, travelled, home)
    digits = (r(cols=3) * np.array([1e3, 1e3, 1e4])).astype(int)
    phone = [
        "" if skip else f"{cat.store_phone[s]} {a:03d} {b:03d} {c:04d}"
        for s, (a, b, c), skip in zip(phone_store, digits, r() < 0.08, strict=True)
    ]
    consent_p = r() < 0.88
    consent_c = r() < np.where(consent_p, 0.84, 0.5)
    n_staff = cat.staff_start[home + 1] - cat.staff_start[home]
    slot = np.minimum(cat.staff_start[home] + (r() * n_staff).astype(int), len(cat.staff_pool) - 1)
    staff = np.where(vic & (r() < 0.6), cat.stylist[home], cat.staff_pool[slot])
    staff = np.where((home == cat.online) | (~vic & (r() < 0.15)), -1, staff)

    # When they joined: cold clients lately; others mostly before the window.
    u_join = r(cols=2)
    joined_ago = np.select(
        [cold, u_join[:, 0] < 0.65],
        [1 + (u_join[:, 1] * 150).astype(int), days + 1 + (u_join[:, 1] * 6 * 365).astype(int)],
        14 + (u_join[:, 1] * (days - 14)).astype(int),
    )
    end_s = _seconds(as_of)
    created = end_s - joined_ago * _DAY + ((9 + 10 * r()) * 3600).astype(int)

    # Declared preferences, consistent with the true taste (always, for cold clients).
    has_prefs = cold | (r() < 0.75)
    declared = {}
    for field, m_max in (("designers", 2), ("categories", 3), ("colors", 3), ("materials", 2)):
        present = has_prefs & (cold | (r() < 0.85))
        weights = mix @ cat.pref_matrix[field]
        declared[field] = _declared(br, weights, cat.pref_labels[field], m_max, present)
    band = cat.price_band[primary] * np.exp(0.2 * br.normal())[:, None]
    has_band = cold | (has_prefs & (r() < 0.7))
    price_min = np.where(has_band, np.maximum(np.round(band[:, 0] / 50) * 50, 50.0), np.nan)
    price_max = np.where(has_band, np.round(band[:, 1] / 100) * 100 + 100, np.nan)

    # Sizes, dates, exclusions.
    def size(labels: tuple[str, ...], p: np.ndarray | None = None) -> np.ndarray:
        pick = _pick(_cum(p if p is not None else np.ones(len(labels))), r())
        return np.where(r() < 0.8, np.array(labels, dtype=object)[pick], "")

    sizes = {
        "size_rtw": size(_SIZES_RTW[0], np.array(_SIZES_RTW[1])),
        "size_shoes": size(_SIZES_SHOES),
        "size_ring": size(_SIZES_RING),
    }
    today = as_of.to_datetime64().astype("datetime64[D]")
    age_days = (np.clip(44 + 12 * br.normal(), 19, 85) * 365.25).astype(int)
    birthday = np.where(r() < 0.85, today - age_days, np.datetime64("NaT"))
    married_ago = 30 + (r() * np.maximum(age_days - 22 * 365, 0)).astype(int)
    married = (r() < np.where(vic, 0.5, 0.25)) & (age_days > 23 * 365)
    anniversary = np.where(married, today - married_ago, np.datetime64("NaT"))
    in_segment = np.diff(cat.seg_start)[primary][:, None]
    dns_pick = cat.seg_order[cat.seg_start[primary][:, None] + (r(cols=2) * in_segment).astype(int)]
    dns_n = np.where(r() < 0.02, 1 + (r() < 0.4), 0)
    dns_n = np.where((dns_n == 2) & (dns_pick[:, 0] == dns_pick[:, 1]), 1, dns_n)
    sustainable_only = r() < np.where(primary == SEGMENT_NAMES.index("minimalist_eco"), 0.15, 0.02)
    contacted_ago = 1 + (-45 * np.log1p(-r())).astype(int)
    contacted = consent_c & ~cold & (r() < np.where(vic, 0.9, 0.45)) & (contacted_ago < joined_ago)
    contact_s = end_s - contacted_ago * _DAY + ((10 + 9 * r()) * 3600).astype(int)

    width = max(5, len(str(n_clients)))
    ids = np.array([f"c{i + 1:0{width}d}" for i in gidx], dtype=object)
    clients = _table("clients", {
        "client_id": ids, "first_name": first_name, "last_name": last_name,
        "home_store_id": cat.store_ids.take(pa.array(home)),
        "tier": np.array(TIERS, dtype=object)[tier],
        "consent_personalization": consent_p, "consent_contact": consent_c,
        "email": email, "phone": phone,
        "assigned_associate_id": cat.staff_ids.take(pa.array(staff, mask=staff < 0)),
        **{f"pref_{k}": v for k, v in declared.items()},
        "price_min": price_min, "price_max": price_max, **sizes,
        "birthday": birthday.astype("datetime64[us]"),
        "anniversary": anniversary.astype("datetime64[us]"),
        "do_not_suggest": _joined(cat.product_id_labels, dns_pick, dns_n),
        "sustainable_only": sustainable_only,
        "last_contacted_at": np.where(contacted, _datetimes(contact_s), np.datetime64("NaT", "us")),
        "created_at": _datetimes(created),
    })  # fmt: skip
    ci, si = np.nonzero(mix)
    truth = _table("client_segments", {
        "client_id": ids[ci], "segment": np.array(SEGMENT_NAMES, dtype=object)[si],
        "weight": mix[ci, si],
    })  # fmt: skip
    start_day = np.maximum(days - joined_ago + 1, 0)
    state = _Clients(ids, home, tier, mix, cold, consent_c, start_day)
    return clients, truth, state


def _events(
    br: _BlockRandom,
    cat: _Catalogue,
    cl: _Clients,
    as_of: pd.Timestamp,
    events_per_client: float,
    rising: int,
) -> pa.Table:
    """The events of a chunk's clients, sorted by client and time."""
    n_seg, days = len(SEGMENTS), WINDOW_DAYS
    shares = np.array([s.share for s in SEGMENTS.values()])
    shares = shares / shares.sum()

    # How many: by tier, with noise; shorter histories for recent clients.
    activity = _TIER_ACTIVITY[cl.tier] / (_TIER_P @ _TIER_ACTIVITY)
    noise = np.exp(0.5 * br.normal() - 0.125)  # mean 1
    history = 0.3 + 0.7 * (days - cl.start_day) / days
    lam = events_per_client / _CALIBRATION / (1 - COLD_CLIENT_SHARE) * activity * noise * history
    n_events = np.where(cl.cold, 0, np.maximum(1, br.draw(None, lambda g, s: g.poisson(lam[s]))))
    ec = np.repeat(np.arange(len(cl.ids)), n_events)
    u = br.random(ec, cols=13)

    # Which funnel step; no newsletters without consent.
    etype = _pick(_cum(_FUNNEL)[cl.tier[ec]], u[:, 0])
    newsletter = [_E["email_open"], _E["email_click"]]
    etype[np.isin(etype, newsletter) & ~cl.consent_contact[ec]] = _E["view"]
    is_email = np.isin(etype, newsletter)
    is_p = etype == _E["purchase"]

    # When: activity grows over time.
    span = days - cl.start_day[ec]
    recent = np.where(u[:, 1] < 0.45, u[:, 2], np.sqrt(u[:, 2]))
    day = np.minimum(cl.start_day[ec] + (span * recent).astype(int), days - 1)

    # Which segment: the client's mix, some noise; newsletters push the house's
    # picks; the rising segment takes a growing share; gifts go outside the mix.
    seg = _pick(_cum((1 - _NOISE) * cl.mix + _NOISE * shares)[ec], u[:, 3])
    email_cum = _cum((1 - _EMAIL_NOISE) * cl.mix + _EMAIL_NOISE * shares)
    seg[is_email] = _pick(email_cum[ec[is_email]], u[is_email, 3])
    if rising >= 0:
        ramp = np.clip((day - (days - RISING_DAYS)) / RISING_DAYS, 0.0, 1.0) * _RISING_PEAK
        seg[~is_email & (u[:, 11] < ramp)] = rising
    gift = is_p & (u[:, 10] < _GIFT_RATE)
    outside = cl.mix[ec[gift]] == 0
    k = (u[gift, 3] * outside.sum(axis=1)).astype(int)
    seg[gift] = np.argmax(np.cumsum(outside, axis=1) > k[:, None], axis=1)

    # Which product: by popularity within the segment and month; clients in
    # warm cities mostly pass on heavy coats, in cold ones on summer pieces.
    bucket = day // _BUCKET_DAYS
    prod = _choose(cat, bucket * n_seg + seg, u[:, 4])
    climate = cat.store_climate[cl.home[ec]]
    too_warm = cat.heavy[prod] & (climate == 0) & (u[:, 5] < 0.7)
    too_cold = cat.light[prod] & (climate == 2) & (u[:, 5] < 0.4)
    redo = too_warm | too_cold
    u_redo = np.where(climate[redo] == 0, u[redo, 5] / 0.7, u[redo, 5] / 0.4)
    prod[redo] = _choose(cat, bucket[redo] * n_seg + seg[redo], u_redo)
    launch = cat.launch_day[prod]
    early = launch > day  # launched later in its month: move the event after the launch
    hi = np.maximum(np.minimum((bucket + 1) * _BUCKET_DAYS, days), launch + 1)
    day[early] = np.minimum(launch + (u[:, 9] * (hi - launch)).astype(int), days - 1)[early]

    # Where: the home boutique mostly, sometimes another; online is a store.
    channel = _pick(_cum(_CHANNEL_P)[etype], u[:, 6])
    home = cl.home[ec]
    physical_home = home != cat.online
    travel_u = np.where(physical_home, np.clip((u[:, 7] - 0.85) / 0.15, 0.0, 1 - 1e-9), u[:, 7])
    travel = cat.physical[_pick(_cum(cat.store_share[cat.physical]), travel_u)]
    in_store = np.where(physical_home & (u[:, 7] < 0.85), home, travel)
    store = np.select(
        [channel == _C["store"], channel == _C["phone"], channel == _C["email"]],
        [in_store, np.where(physical_home, home, cat.online), -1],
        cat.online,
    )
    shop_hours = (channel == _C["store"]) | (channel == _C["phone"])
    hour = np.where(
        shop_hours, 10 + 9 * u[:, 8], np.where(is_email, 7 + 15 * u[:, 8], 24 * u[:, 8])
    )
    ts = cat.start_seconds + day * _DAY + (hour * 3600).astype(np.int64)
    qty = np.where(is_p & (u[:, 12] < 0.04), 2, 1)
    value = np.where(is_p, cat.price[prod] * qty, 0.0)

    # Derived: a view before most purchases, a try-on before some store
    # purchases, and returns (same client, product, quantity) after a few.
    pi = np.flatnonzero(is_p)
    up = br.random(ec[pi], cols=7)
    first_day = np.maximum(np.maximum(cat.launch_day[prod[pi]], cl.start_day[ec[pi]]), 0)
    floor = cat.start_seconds + first_day * _DAY
    v = up[:, 0] < np.where(gift[pi], 0.5, _VIEW_BEFORE_PURCHASE)
    view_ts = np.maximum(ts[pi] - 600 - (up[:, 1] ** 2 * 21 * _DAY).astype(np.int64), floor)
    view_ch = np.where(up[:, 2] < 0.6, _C["online"], _C["app"])
    t = (channel[pi] == _C["store"]) & (up[:, 3] < _TRY_BEFORE_STORE_PURCHASE)
    try_ts = np.maximum(ts[pi] - 300 - (up[:, 4] * 3300).astype(np.int64), floor)
    ret_ts = ts[pi] + 2 * _DAY + (up[:, 6] * 28 * _DAY).astype(np.int64)
    ret = (up[:, 5] < _RETURN_RATE) & (ret_ts < _seconds(as_of))
    in_person = np.isin(channel[pi], [_C["store"], _C["phone"]])
    ret_ch = np.where(in_person, _C["store"], _C["online"])
    ret_store = np.where(in_person, store[pi], cat.online)

    parts: list[tuple[Any, ...]] = [
        (ec, prod, etype, ts, channel, store, qty, value, gift),
        (ec[pi][v], prod[pi][v], _E["view"], view_ts[v], view_ch[v], cat.online, 1, 0.0, False),
        (ec[pi][t], prod[pi][t], _E["try_on"], try_ts[t], _C["store"], store[pi][t], 1, 0.0, False),
        (ec[pi][ret], prod[pi][ret], _E["return"], ret_ts[ret], ret_ch[ret], ret_store[ret],
         qty[pi][ret], value[pi][ret], gift[pi][ret]),
    ]  # fmt: skip
    cols = [np.concatenate([np.broadcast_to(p[j], p[0].shape) for p in parts]) for j in range(9)]
    order = np.lexsort((cols[3], cols[0]))
    e_client, e_prod, e_type, e_ts, e_ch, e_store, e_qty, e_value, e_gift = (c[order] for c in cols)
    return _table("events", {
        "client_id": pa.array(cl.ids, type=pa.string()).take(pa.array(e_client)),
        "product_id": cat.product_ids.take(pa.array(e_prod)),
        "event_type": pa.array(EVENT_TYPES, type=pa.string()).take(pa.array(e_type)),
        "timestamp": _datetimes(e_ts),
        "channel": pa.array(CHANNELS, type=pa.string()).take(pa.array(e_ch)),
        "store_id": cat.store_ids.take(pa.array(e_store, mask=e_store < 0)),
        "quantity": e_qty.astype(np.int64), "value": e_value.astype(float),
        "is_gift": e_gift.astype(bool),
    })  # fmt: skip


def _client_chunk(
    cat: _Catalogue,
    seed: int,
    first_block: int,
    sizes: np.ndarray,
    n_clients: int,
    as_of: pd.Timestamp,
    events_per_client: float,
    rising: int,
) -> dict[str, pa.Table]:
    """Clients, their events and their true segments, for whole blocks of clients."""
    br = _BlockRandom(seed, first_block, sizes)
    clients, truth, state = _clients(br, cat, first_block * SEED_BLOCK, n_clients, as_of)
    events = _events(br, cat, state, as_of, events_per_client, rising)
    return {"clients": clients, "events": events, "client_segments": truth}


def _choose(cat: _Catalogue, block: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Product drawn within each (bucket, segment) block, in proportion to its weight."""
    idx = np.searchsorted(cat.choice_keys, block + u, side="right")
    n = len(cat.seg_order)
    return cat.seg_order[np.minimum(idx, len(cat.choice_keys) - 1) % n]


def _chunks(
    cat: _Catalogue,
    n_clients: int,
    chunk_clients: int,
    seed: int,
    as_of: pd.Timestamp,
    events_per_client: float,
    rising: int,
) -> Iterator[tuple[int, dict[str, pa.Table]]]:
    """Yield (clients done so far, tables) for consecutive chunks of whole blocks."""
    n_blocks = math.ceil(n_clients / SEED_BLOCK)
    sizes = np.full(n_blocks, SEED_BLOCK)
    sizes[-1] = n_clients - SEED_BLOCK * (n_blocks - 1)
    per_chunk = max(1, math.ceil(chunk_clients / SEED_BLOCK))
    for b0 in range(0, n_blocks, per_chunk):
        part = sizes[b0 : b0 + per_chunk]
        out = _client_chunk(cat, seed, b0, part, n_clients, as_of, events_per_client, rising)
        yield int(sizes[: b0 + len(part)].sum()), out


def _segments_table(rising: int) -> pd.DataFrame:
    rows = []
    for i, s in enumerate(SEGMENTS.values()):
        d = s.as_dict()
        rows.append({
            "segment": s.name, "label": s.label,
            **{k: "|".join(d[k]) for k in ("designers", "materials", "colors", "tags")},
            "categories": "|".join(k for k, _ in s.categories), "price_level": s.price_level,
            "share": s.share, "sustainable_rate": s.sustainable_rate, "rising": i == rising,
        })  # fmt: skip
    return pd.DataFrame(rows)


def _noop(stage: str, fraction: float) -> None:
    return None


# --------------------------------------------------------------- public API
def generate_maison(
    n_clients: int = DEFAULT_N_CLIENTS,
    n_products: int = DEFAULT_N_PRODUCTS,
    *,
    seed: int = 7,
    as_of: pd.Timestamp | str = DEFAULT_AS_OF,
    events_per_client: float | None = None,
    rising_segment: str | None = None,
    progress: Progress | None = None,
) -> Maison:
    """Generate a maison in memory.

    Parameters
    ----------
    n_clients : int
        Number of clients (at least 10); about 5% are cold (declared
        preferences, no events).
    n_products : int
        Number of products (at least 50); 4% are new arrivals launched in the
        30 days before ``as_of``.
    seed : int
        Everything is a function of the seed; never of the clock.
    as_of : date-like
        Reference date (tz-naive; its date is used). Events fall in the two
        years before it, strictly before it.
    events_per_client : float, optional
        Mean number of events per client, cold clients included (default 30,
        about 150,000 events for 5,000 clients).
    rising_segment : str, optional
        A segment of :data:`SEGMENTS` whose share of demand ramps up over the
        last six weeks (for momentum tests).
    progress : callable, optional
        Called as ``progress(stage, fraction)``.

    Returns
    -------
    Maison
        The six contract tables as DataFrames, and the planted truth.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it.
    """
    n_clients = _check_int("n_clients", n_clients)
    n_products = _check_int("n_products", n_products)
    seed = _check_int("seed", seed)
    epc = _check_events_per_client(events_per_client)
    day = _check_as_of(as_of)
    rising = _check_rising(rising_segment)
    progress = progress or _noop
    progress("catalogue", 0.0)
    cat = _build_catalogue(n_products, seed, day)
    progress("clients", 0.0)
    parts: dict[str, list[pa.Table]] = {"clients": [], "events": [], "client_segments": []}
    for done, chunk in _chunks(cat, n_clients, n_clients, seed, day, epc, rising):
        for name, table in chunk.items():
            parts[name].append(table)
        progress("clients", done / n_clients)
    tables = {name: t.to_pandas() for name, t in cat.tables.items()}
    for name in ("clients", "events"):
        tables[name] = pa.concat_tables(parts[name]).to_pandas()
    truth = {
        "client_segments": pa.concat_tables(parts["client_segments"]).to_pandas(),
        "product_segments": cat.product_segments.to_pandas(),
        "segments": _segments_table(rising),
    }
    progress("done", 1.0)
    return Maison(tables={n: tables[n] for n in TABLES}, truth=truth, as_of=day)


class _Sink:
    """One output file, written under a temporary name and renamed on commit."""

    def __init__(self, path: Path, fmt: str, schema: pa.Schema) -> None:
        self.path = path
        self.tmp = path.with_name(f".{path.name}.{os.getpid()}.partial")
        self.rows = 0
        self._header = True
        if fmt == "parquet":
            self._writer: pq.ParquetWriter | None = pq.ParquetWriter(
                self.tmp, schema, compression="zstd"
            )
        else:
            self._writer = None
            self._fh = self.tmp.open("w", encoding="utf-8", newline="")

    def write(self, table: pa.Table) -> None:
        if self._writer is not None:
            self._writer.write_table(table)
        else:
            table.to_pandas().to_csv(self._fh, header=self._header, index=False)
            self._header = False
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        else:
            self._fh.close()

    def commit(self) -> None:
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        try:
            self.close()
        finally:
            self.tmp.unlink(missing_ok=True)


def write_maison(
    out_dir: str | Path,
    n_clients: int = DEFAULT_N_CLIENTS,
    n_products: int = DEFAULT_N_PRODUCTS,
    *,
    seed: int = 7,
    as_of: pd.Timestamp | str = DEFAULT_AS_OF,
    fmt: Literal["csv", "parquet"] = "csv",
    n_events: int | None = None,
    rising_segment: str | None = None,
    chunk_clients: int = 50_000,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Generate a maison and write it to ``out_dir``, streaming clients in chunks.

    Writes ``products``, ``stores``, ``stock``, ``associates``, ``clients`` and
    ``events`` (one ``.csv`` or ``.parquet`` file each), and the planted truth
    in ``out_dir/truth/`` (``client_segments``, ``product_segments``,
    ``segments.json``), where the loader does not look. Each file is written
    under a temporary name and renamed once every file is complete; a file of
    the same table in the other format is removed, so the folder holds one
    version. The tables equal :func:`generate_maison`'s for the same arguments,
    whatever ``chunk_clients``.

    Parameters
    ----------
    out_dir : path
        Created if missing.
    n_clients, n_products, seed, as_of, rising_segment
        As in :func:`generate_maison`.
    fmt : {"csv", "parquet"}
        File format.
    n_events : int, optional
        Approximate number of events (default 30 per client).
    chunk_clients : int
        Clients generated and written at a time (rounded up to a multiple of
        :data:`SEED_BLOCK`); bounds the memory used.
    progress : callable, optional
        Called as ``progress(stage, fraction)``.

    Returns
    -------
    dict of str to int
        Rows written per table, truth tables included.

    Raises
    ------
    ValueError
        A parameter is out of range; the message names it.
    """
    n_clients = _check_int("n_clients", n_clients)
    n_products = _check_int("n_products", n_products)
    seed = _check_int("seed", seed)
    chunk_clients = _check_int("chunk_clients", chunk_clients)
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    epc = _check_n_events(n_events, n_clients)
    day = _check_as_of(as_of)
    rising = _check_rising(rising_segment)
    progress = progress or _noop

    out = Path(out_dir)
    (out / "truth").mkdir(parents=True, exist_ok=True)
    ext = f".{fmt}"
    names = [*TABLES, "client_segments", "product_segments"]
    paths = {n: (out / "truth" if n not in TABLES else out) / f"{n}{ext}" for n in names}
    sinks: dict[str, _Sink] = {}
    seg_tmp = out / "truth" / f".segments.json.{os.getpid()}.partial"
    try:
        for n in names:
            sinks[n] = _Sink(paths[n], fmt, _schema(n))
        progress("catalogue", 0.0)
        cat = _build_catalogue(n_products, seed, day)
        for name, table in cat.tables.items():
            sinks[name].write(table)
        sinks["product_segments"].write(cat.product_segments)
        progress("clients", 0.0)
        for done, chunk in _chunks(cat, n_clients, chunk_clients, seed, day, epc, rising):
            for name, table in chunk.items():
                sinks[name].write(table)
            progress("clients", done / n_clients)
        for sink in sinks.values():
            sink.close()
        definitions = {"rising_segment": rising_segment, "segments": segment_definitions()}
        seg_tmp.write_text(json.dumps(definitions, indent=2, ensure_ascii=False), encoding="utf-8")
    except BaseException:
        for sink in sinks.values():
            sink.discard()
        seg_tmp.unlink(missing_ok=True)
        raise
    for sink in sinks.values():
        sink.commit()
    os.replace(seg_tmp, out / "truth" / "segments.json")
    other = ".parquet" if fmt == "csv" else ".csv"
    for n in names:
        for stale in (paths[n].with_suffix(other), paths[n].with_suffix(".pq")):
            stale.unlink(missing_ok=True)
    progress("done", 1.0)
    return {n: sinks[n].rows for n in names}
