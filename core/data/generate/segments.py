"""The planted taste segments: each one's palette of designers, materials, colours, tags and categories."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from core.data.generate.text import listed, weighted


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


SEGMENTS: dict[str, Segment] = {
    s.name: s
    for s in (
        Segment(
            "quiet_luxury", "Quiet luxury",
            listed("Maison Verlaine, Castelroux, Olin & Sorel"),
            listed("cashmere, calfskin, wool, silk, suede, lambskin, merino, white gold, steel, iris"),
            listed("camel, ivory, navy, charcoal, taupe, cream, silver"),
            listed("understated, timeless, tailored, logo-free, neutral, refined"),
            weighted("ready-to-wear:0.3,outerwear:0.17,bags:0.18,shoes:0.12,small leather goods:0.09,"
               "accessories:0.06,watches:0.04,fragrance:0.04"),
            1.3, 0.17,
        ),
        Segment(
            "avant_garde", "Avant-garde",
            listed("Kaito Mori, Atelier Nœud, Vesna Draganić"),
            listed("neoprene, technical jersey, nylon, organza, patent leather, wool, lambskin, "
               "sterling silver, ceramic, acetate, incense"),
            listed("black, graphite, white, acid green, silver, oxblood"),
            listed("deconstructed, asymmetric, sculptural, experimental, monochrome, conceptual"),
            weighted("ready-to-wear:0.38,shoes:0.18,outerwear:0.15,accessories:0.12,bags:0.1,"
               "jewellery:0.04,fragrance:0.03"),
            1.05, 0.12,
        ),
        Segment(
            "heritage_classic", "Heritage classic",
            listed("Hartwell & Co., Beaumont-Laurier, Casa Aldobrandi"),
            listed("tweed, canvas, grained leather, calfskin, gabardine, wool, gold, steel, silk, vetiver"),
            listed("burgundy, forest green, tan, navy, cognac, gold"),
            listed("heritage, monogram, equestrian, classic, craftsmanship, preppy"),
            weighted("bags:0.28,small leather goods:0.18,shoes:0.14,outerwear:0.14,accessories:0.1,"
               "watches:0.08,ready-to-wear:0.05,fragrance:0.03"),
            1.1, 0.16,
        ),
        Segment(
            "runway", "Runway",
            listed("Valentina Roscetti, Léonie Arnaud, Dario Fenzi"),
            listed("silk, sequin, satin, crocodile, velvet, patent leather, gold, diamond, organza, "
               "tuberose"),
            listed("fuchsia, gold, emerald, red, silver, electric blue, black"),
            listed("statement, embellished, bold, evening, catwalk, glamorous"),
            weighted("ready-to-wear:0.34,bags:0.24,shoes:0.2,accessories:0.08,jewellery:0.1,"
               "fragrance:0.04"),
            1.35, 0.14,
        ),
        Segment(
            "sporty_luxe", "Sporty luxe",
            listed("Nordvik, Kestrel Lab, Marlowe Sport"),
            listed("nylon, technical mesh, technical jersey, suede, recycled nylon, calfskin, titanium, "
               "down, jersey, acetate, neroli"),
            listed("white, black, grey, neon orange, sky blue"),
            listed("athleisure, performance, streetwear, logo, technical, urban"),
            weighted("shoes:0.3,ready-to-wear:0.24,outerwear:0.2,accessories:0.12,bags:0.1,"
               "watches:0.02,fragrance:0.02"),
            0.65, 0.15,
        ),
        Segment(
            "jewellery_collector", "Jewellery collector",
            listed("Orsini Joaillier, Maison Delacroix-Vey, Aurelia Solène"),
            listed("gold, rose gold, white gold, platinum, diamond, pearl, emerald, sapphire, "
               "crocodile, oud"),
            listed("gold, rose gold, white, green, blue, silver"),
            listed("fine jewellery, heirloom, precious, collectible, high jewellery, iconic"),
            weighted("jewellery:0.62,watches:0.28,small leather goods:0.04,accessories:0.03,"
               "fragrance:0.03"),
            1.6, 0.12,
        ),
        Segment(
            "minimalist_eco", "Minimalist eco",
            listed("Saskia Lind, Terre Studio, Halden"),
            listed("organic cotton, linen, recycled cashmere, recycled nylon, canvas, recycled gold, "
               "merino, raffia, straw, fig"),
            listed("ecru, sand, sage, stone, white, olive"),
            listed("minimalist, sustainable, clean lines, recycled, organic, essential"),
            weighted("ready-to-wear:0.34,bags:0.18,shoes:0.15,outerwear:0.15,accessories:0.1,"
               "jewellery:0.03,fragrance:0.05"),
            0.75, 0.14, 0.7,
        ),
    )
}  # fmt: skip
SEGMENT_NAMES: tuple[str, ...] = tuple(SEGMENTS)


def segment_definitions() -> dict[str, dict[str, Any]]:
    """Every segment as a JSON-ready dict, keyed by segment name."""
    return {name: seg.as_dict() for name, seg in SEGMENTS.items()}


def segments_table(rising: int) -> pd.DataFrame:
    """The ``segments`` truth table: one row per segment, its palette and whether it is ``rising``."""
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
