"""The catalogue's vocabulary: categories, subcategories, materials, colours, tags, model names, sizes."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.data.generate.segments import SEGMENTS
from core.data.generate.text import listed, weighted
from core.data.sizes import client_size_column


@dataclass(frozen=True)
class Category:
    """A product category: its subcategories (with weights), median price, materials,
    colours and the mean stock a store holds of one of its products."""

    name: str
    subcategories: tuple[tuple[str, float], ...]
    median_price: float
    materials: tuple[str, ...]
    colors: tuple[str, ...] | None  # None: any colour of the segment palettes
    stock_mean: float


_METAL_COLORS = listed("gold, rose gold, silver, white, black, green, blue")
CATEGORIES: tuple[Category, ...] = (
    Category("bags", weighted("tote:3,shoulder bag:3,crossbody:3,clutch:1.5,top-handle:2,backpack:1,bucket bag:1.5"), 2900,
              listed("calfskin, lambskin, grained leather, canvas, crocodile, suede, nylon, raffia, recycled nylon, patent leather"), None, 3),
    Category("shoes", weighted("pumps:2,loafers:2,sneakers:3,ankle boots:2,sandals:2,ballet flats:1,knee boots:1,mules:1"), 890,
              listed("calfskin, suede, patent leather, satin, nylon, technical mesh, canvas, velvet, lambskin"), None, 4),
    Category("ready-to-wear", weighted("dress:3,blouse:2,shirt:2,knit sweater:2.5,trousers:2.5,skirt:1.5,blazer:2,cardigan:1.5,t-shirt:1.5,lingerie set:1.6,jumpsuit:0.5"), 1450,
              listed("cashmere, recycled cashmere, silk, wool, merino, tweed, cotton poplin, organic cotton, linen, satin, sequin, jersey, technical jersey, organza, neoprene, velvet"), None, 5),
    Category("jewellery", weighted("ring:3,necklace:2.5,earrings:2.5,bracelet:2,pendant:1,engagement ring:1.6,brooch:0.5"), 5200,
              listed("gold, rose gold, white gold, platinum, diamond, pearl, emerald, sapphire, sterling silver, recycled gold"), _METAL_COLORS, 1.5),
    Category("watches", weighted("automatic watch:2,dress watch:2,chronograph:2,diver watch:1"), 11500,
              listed("steel, gold, rose gold, white gold, platinum, titanium, ceramic"), _METAL_COLORS, 1.2),
    Category("small leather goods", weighted("wallet:2,card holder:3,key pouch:1,belt:2,passport cover:1,phone case:1"), 520,
              listed("calfskin, lambskin, grained leather, canvas, crocodile, nylon, suede"), None, 6),
    Category("fragrance", weighted("eau de parfum:4,extrait de parfum:1.5,scented candle:2,body oil:1"), 240,
              listed("iris, vetiver, tuberose, neroli, oud, fig, incense, amber"), listed("clear, amber, black, rose"), 15),
    Category("outerwear", weighted("trench coat:2,wool coat:3,puffer jacket:2,leather jacket:1.5,cape:0.5,parka:1.5"), 3300,
              listed("wool, cashmere, recycled cashmere, tweed, nylon, recycled nylon, shearling, lambskin, suede, gabardine, down"), None, 3),
    Category("accessories", weighted("scarf:3,sunglasses:2,hat:1.5,gloves:1.5,silk carré:1.5"), 480,
              listed("silk, cashmere, wool, acetate, titanium, straw, calfskin, lambskin, sterling silver, nylon"), None, 6),
)  # fmt: skip
# Subcategories whose material is narrower than their category's.
SUB_MATERIALS: dict[str, tuple[str, ...]] = {
    "wool coat": listed("wool, cashmere, recycled cashmere, tweed"),
    "cape": listed("wool, cashmere, recycled cashmere, tweed"),
    "puffer jacket": listed("nylon, recycled nylon, down"),
    "parka": listed("nylon, recycled nylon, gabardine"),
    "trench coat": listed("gabardine, recycled nylon, nylon"),
    "leather jacket": listed("lambskin, shearling, suede"),
    "knit sweater": listed("cashmere, recycled cashmere, merino, wool"),
    "cardigan": listed("cashmere, recycled cashmere, merino, wool"),
    "t-shirt": listed("jersey, organic cotton, technical jersey"),
    "lingerie set": listed("silk, satin"),
    "shirt": listed("cotton poplin, organic cotton, silk, linen"),
    "blouse": listed("silk, organza, satin, cotton poplin, linen"),
    "trousers": listed("wool, linen, cotton poplin, technical jersey, tweed, neoprene"),
    "blazer": listed("wool, tweed, linen, velvet, cashmere, neoprene"),
    "sneakers": listed("calfskin, suede, nylon, technical mesh, canvas"),
    "knee boots": listed("calfskin, suede, patent leather"),
    "ankle boots": listed("calfskin, suede, patent leather"),
    "backpack": listed("nylon, recycled nylon, calfskin, canvas"),
    "clutch": listed("calfskin, lambskin, crocodile, patent leather, raffia"),
    "sunglasses": listed("acetate, titanium"),
    "hat": listed("straw, wool, cashmere, nylon"),
    "gloves": listed("lambskin, calfskin, cashmere"),
    "scarf": listed("silk, cashmere, wool"),
    "silk carré": listed("silk"),
    "belt": listed("calfskin, grained leather, crocodile, canvas"),
}  # fmt: skip
CATEGORY_NAMES = tuple(c.name for c in CATEGORIES)
SUBCATEGORIES = tuple(
    (ci, name, w) for ci, c in enumerate(CATEGORIES) for name, w in c.subcategories
)
PLURAL = frozenset(n for _, n, _ in SUBCATEGORIES if n.endswith("s") and n != "dress")
DESIGNERS = np.array([d for s in SEGMENTS.values() for d in s.designers], dtype=object)
MATERIALS = tuple(dict.fromkeys(m for c in CATEGORIES for m in c.materials))
PALETTE_COLORS = tuple(dict.fromkeys(c for s in SEGMENTS.values() for c in s.colors))
COLORS = tuple(dict.fromkeys(PALETTE_COLORS + tuple(x for c in CATEGORIES for x in c.colors or ())))
TAGS = tuple(dict.fromkeys(t for s in SEGMENTS.values() for t in s.tags))
TAGS_ARRAY = np.array(TAGS, dtype=object)
PRICE_FACTOR = {
    "crocodile": 5.0, "diamond": 3.0, "platinum": 2.2, "emerald": 2.2, "sapphire": 2.0,
    "white gold": 1.7, "gold": 1.6, "rose gold": 1.6, "recycled gold": 1.5, "shearling": 1.6,
    "cashmere": 1.5, "recycled cashmere": 1.35, "sequin": 1.3, "lambskin": 1.2, "velvet": 1.1,
    "pearl": 1.2, "nylon": 0.6, "recycled nylon": 0.65, "canvas": 0.75, "cotton poplin": 0.7,
    "organic cotton": 0.75, "jersey": 0.6, "technical jersey": 0.7, "linen": 0.8,
    "sterling silver": 0.4, "steel": 0.7, "titanium": 0.9, "straw": 0.6, "raffia": 0.7,
    "acetate": 0.8,
}  # fmt: skip
SUSTAINABLE_MATERIALS = frozenset(
    listed("organic cotton, linen, recycled cashmere, recycled nylon, recycled gold")
)
WARM_MATERIALS = frozenset(listed("cashmere, recycled cashmere, wool, merino, tweed, velvet"))
HEAVY_SUBCATEGORIES = frozenset(listed("wool coat, puffer jacket, parka"))
SENSITIVE_SUBCATEGORIES = frozenset(listed("lingerie set, engagement ring"))
FRAGRANCE_NOTES = frozenset(CATEGORIES[CATEGORY_NAMES.index("fragrance")].materials)
MODEL_NAMES = listed(
    "Aurore, Odéon, Sélène, Riviera, Capri, Alma, Étoile, Lumière, Mistral, Sable, Orée, Tivoli, "
    "Brera, Kensington, Ginza, Fjord, Atlas, Nocturne, Solstice, Camille, Rivoli, Portofino, "
    "Belvédère, Opéra, Iris, Marais, Vendôme, Amalfi, Saint-Tropez, Mayfair, Aster, Calliope, "
    "Dune, Minuit, Aube, Corso, Palais, Cygne, Orsay, Lido, Soho, Tribeca, Hanami, Kōyō, Nordlys, "
    "Aurelia, Cassis, Verbier"
)  # fmt: skip
SEASON_WEIGHTS = (0.12, 0.18, 0.2, 0.24, 0.26)  # oldest to newest season

SIZES_RTW = (("XS", "S", "M", "L", "XL"), (0.12, 0.3, 0.33, 0.17, 0.08))
SIZES_SHOES = tuple(f"{s / 2:g}" for s in range(70, 93))  # EU 35 to 46
SIZES_RING = tuple(str(s) for s in range(48, 63))  # French ring sizes

#: Each client size column's run and how often each size is worn (the clients' draw).
SIZE_RUNS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "size_rtw": SIZES_RTW,
    "size_shoes": (SIZES_SHOES, (1.0,) * len(SIZES_SHOES)),
    "size_ring": (SIZES_RING, (1.0,) * len(SIZES_RING)),
}


def size_run(category: str, subcategory: str) -> tuple[str, ...]:
    """The sizes a product of this kind comes in (empty: unsized)."""
    column = client_size_column(category, subcategory)
    return SIZE_RUNS[column][0] if column in SIZE_RUNS else ()
