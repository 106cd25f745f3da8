"""Contributions -> wording: associate reasons name everything, client reasons only what was volunteered."""

from __future__ import annotations

import re
from collections import Counter

import pandas as pd
import pytest

from core.data.dataset import Dataset
from core.engine.models.base import Contribution, Explanation
from core.suggest.reasons import (
    CLIENT_FALLBACK,
    MAX_NAME_CHARS,
    Pronouns,
    associate_reasons,
    client_reasons,
    explanation_reasons,
    plain_text,
)

TS = pd.Timestamp("2026-02-01")
HOSTILE = {
    "html": "<b>Bold</b> & <i>Tote</i>",
    "script": "<script>alert('x')</script>",
    "markdown": "**Tote** _x_ [link](http://evil.example) # h",
    "emoji": "👜✨ Sac Zoë 🌸",
    "rtl": "حقيبة يد سوداء",
    "long": "Tote " + "x" * 4995,
}
# Words the client must never read about themselves.
FORBIDDEN = re.compile(r"view|zoom|email|click|open|brows|looked|score|\d", re.IGNORECASE)


def make_dataset(names: dict[str, str] | None = None) -> Dataset:
    names = names or {}
    ids = [
        "tote",
        "blouse",
        "boots",
        "coat",
        "ring",
        "scarf",
        "gifted",
        "returned",
        "tried_online",
        "target_bag",
        "target_rtw",
        *HOSTILE,
    ]
    base = {
        "tote": "Black Calfskin Tote", "blouse": "Ivory Silk Blouse", "boots": "Suede Boots",
        "coat": "Cashmere Coat", "ring": "Lace Set", "scarf": "Silk Scarf", "gifted": "Gift Wallet",
        "returned": "Returned Bag", "tried_online": "Virtual Sneaker", "target_bag": "New Bag",
        "target_rtw": "New Knit",
    }  # fmt: skip
    products = pd.DataFrame(
        {
            "product_id": ids,
            "name": [names.get(i, base.get(i, HOSTILE.get(i, i))) for i in ids],
            "category": ["bags", "ready-to-wear", "shoes", "outerwear", "ready-to-wear",
                         "accessories", "small leather goods", "bags", "shoes", "bags",
                         "ready-to-wear", *["bags"] * len(HOSTILE)],
            "material": ["calfskin", "silk", "suede", "cashmere", "lace", "silk", "calfskin",
                         "canvas", "nylon", "calfskin", "cashmere", *["calfskin"] * len(HOSTILE)],
            "color": ["black", "ivory", "tan", "camel", "black", "navy", "black", "red", "white",
                      "black", "camel", *["black"] * len(HOSTILE)],
            "designer": "A",
            "price": 1000.0,
            "sensitive": [i == "ring" for i in ids],
        }
    )  # fmt: skip
    rows = [
        ("tote", "purchase", "store", False),
        ("blouse", "wishlist", "online", False),
        ("boots", "try_on", "store", False),
        ("coat", "view", "online", False),
        ("coat", "zoom", "online", False),
        ("scarf", "email_click", "email", False),
        ("scarf", "email_open", "email", False),
        ("ring", "purchase", "store", False),
        ("gifted", "purchase", "store", True),
        ("returned", "purchase", "store", False),
        ("returned", "return", "store", False),
        ("tried_online", "try_on", "app", False),
        *[(h, "purchase", "store", False) for h in HOSTILE],
    ]
    events = pd.DataFrame(
        {
            "client_id": "c1",
            "product_id": [r[0] for r in rows],
            "event_type": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
            "is_gift": [r[3] for r in rows],
            "timestamp": TS,
        }
    )
    clients = pd.DataFrame(
        {
            "client_id": ["c1"],
            "first_name": ["Marie"],
            "last_name": ["Curie"],
            "home_store_id": ["par"],
            "tier": ["client"],
            "consent_personalization": [True],
            "consent_contact": [True],
            "pref_materials": ["suede"],
            "pref_colors": ["navy"],
        }
    )
    stores = pd.DataFrame(
        {
            "store_id": ["par", "online"],
            "name": ["Paris Saint-Honoré", "Online boutique"],
            "city": ["Paris", "Online"],
            "country": ["France", ""],
            "climate": "temperate",
            "online": [False, True],
        }
    )
    stock = pd.DataFrame(
        {"product_id": ids * 2, "store_id": ["par"] * len(ids) + ["online"] * len(ids)}
    )
    stock["quantity"] = 1
    return Dataset.from_frames(products, events, clients=clients, stores=stores, stock=stock)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return make_dataset()


def expl(*parts: Contribution, product_id: str = "target_bag") -> Explanation:
    total = sum(p.value for p in parts)
    return Explanation("c1", product_id, total, total, 0.0, 0.0, tuple(parts))


def item(pid: str, event: str | None, value: float = 1.0) -> Contribution:
    return Contribution("item", pid, value, "cf", event)


def attr(source: str, value: float = 0.5, kind: str = "attribute") -> Contribution:
    return Contribution(kind, source, value, "content")  # type: ignore[arg-type]


# ----------------------------------------------------------------- associate
def test_associate_wording_names_every_signal_with_a_neutral_pronoun(ds):
    e = expl(item("tote", "purchase", 3), item("blouse", "wishlist", 2), item("coat", "view", 1))
    assert associate_reasons(e, ds, ds.client("c1")) == [
        "Because the client bought the Black Calfskin Tote",
        "The client wishlisted the Ivory Silk Blouse",
        "The client viewed the Cashmere Coat",
    ]
    e = expl(item("coat", "zoom"), item("scarf", "email_click", 0.5), item("boots", "try_on", 0.2))
    assert associate_reasons(e, ds) == [
        "The client looked closely at the Cashmere Coat",
        "The client clicked the Silk Scarf in an email",
        "The client tried on the Suede Boots",
    ]


def test_configured_pronoun_is_used_and_never_guessed(ds):
    e = expl(item("tote", "purchase"), attr("material=cashmere"))
    assert associate_reasons(e, ds, ds.client("c1"), pronoun="she") == [
        "Because she bought the Black Calfskin Tote",
        "Matches her preference for cashmere",
    ]
    assert (
        associate_reasons(e, ds, pronoun="they/them")[0]
        == "Because they bought the Black Calfskin Tote"
    )
    custom = Pronouns("xe", "xyr")
    assert associate_reasons(e, ds, pronoun=custom)[1] == "Matches xyr preference for cashmere"
    with pytest.raises(ValueError, match="unknown pronoun 'it'; use she, he or they"):
        associate_reasons(e, ds, pronoun="it")


def test_attributes_are_grouped_into_one_reason(ds):
    e = expl(
        attr("material=cashmere", 0.5),
        attr("color=camel", 0.4),
        attr("word=soft", 0.01),
        attr("designer=A", 0.3, kind="preference"),
    )
    assert associate_reasons(e, ds) == [
        "Matches their preference for cashmere and neutral tones",
        "Matches their stated preference for A",
    ]


def test_a_piece_named_on_earlier_cards_yields_to_a_part_half_as_large(ds):
    """One zoom that leads every card is said on two, then yields to each card's next reason."""
    zoom = "The client looked closely at the Cashmere Coat"
    others = ["tote", "blouse", "boots", "scarf"]
    cards = [expl(item("coat", "zoom", 1.0), item(o, "purchase", 0.6)) for o in others]
    weak = expl(item("coat", "zoom", 1.0), item("ring", "purchase", 0.3))
    named: Counter[str] = Counter()
    firsts = [associate_reasons(e, ds, n=2, named_before=named)[0] for e in [*cards, weak]]
    assert firsts[:2] == [zoom, zoom]
    assert firsts[2:4] == [
        "Because the client bought the Suede Boots",
        "Because the client bought the Silk Scarf",
    ]
    assert firsts[4] == zoom  # 0.3 is less than half of 1.0: the zoom still leads
    # Every card still says both of its parts; only the order changed.
    assert associate_reasons(cards[3], ds, n=2, named_before=Counter({"coat": 5})) == [
        "Because the client bought the Silk Scarf",
        zoom,
    ]
    assert named == Counter({"coat": 5, "tote": 1, "blouse": 1, "boots": 1, "scarf": 1, "ring": 1})
    # Without the list's memory, the strongest part leads every card.
    assert {associate_reasons(e, ds)[0] for e in cards} == {zoom}


def test_priors_and_negative_parts(ds):
    e = expl(
        Contribution("prior", "new_arrival", 0.3, "prior"),
        Contribution("prior", "trend", 0.2, "prior"),
        item("tote", "purchase", -1.0),
    )
    assert associate_reasons(e, ds, ds.client("c1")) == ["New arrival", "Trending in Paris"]
    assert client_reasons(e, ds, ds.client("c1")) == [
        "New this season",
        "A favourite in Paris right now",
    ]
    assert associate_reasons(e, ds)[1] == "Trending now"  # no client, no city
    assert associate_reasons(expl(), ds) == ["A good fit for their overall taste"]


# -------------------------------------------------------------------- client
def test_client_wording_for_an_explanation_of_views_zooms_and_emails_mentions_none_of_them(ds):
    e = expl(
        item("coat", "view", 3),
        item("coat", "zoom", 2),
        item("scarf", "email_click", 1),
        item("scarf", "email_open", 0.5),
    )
    reasons = client_reasons(e, ds, ds.client("c1"), n=3)
    assert reasons == [CLIENT_FALLBACK]
    assert not any(FORBIDDEN.search(r) for r in reasons)
    assert not any("Cashmere Coat" in r or "Silk Scarf" in r for r in reasons)
    assert CLIENT_FALLBACK == "Selected for you by your advisor"


def test_client_wording_names_only_volunteered_items(ds):
    e = expl(
        item("tote", "purchase", 5),
        item("blouse", "wishlist", 4),
        item("boots", "try_on", 3),
        item("coat", "view", 9),
        product_id="target_rtw",
    )
    reasons = client_reasons(e, ds, ds.client("c1"), n=5)
    assert reasons == [
        "To pair with your Black Calfskin Tote",
        "To go with the Ivory Silk Blouse on your wishlist",
        "Following the Suede Boots you tried on",
    ]
    # same category as the suggestion: "in the spirit of"
    same = client_reasons(expl(item("tote", "purchase")), ds, ds.client("c1"))
    assert same == ["In the spirit of your Black Calfskin Tote"]
    for r in reasons:
        assert not FORBIDDEN.search(r), r


@pytest.mark.parametrize(
    ("pid", "event", "why"),
    [
        ("gifted", "purchase", "bought as a gift"),
        ("returned", "purchase", "returned"),
        ("ring", "purchase", "sensitive"),
        ("tried_online", "try_on", "not in a store"),
        ("coat", "purchase", "the data says she only viewed it"),
    ],
)
def test_client_wording_checks_the_data_not_just_the_event_type(ds, pid, event, why):
    assert client_reasons(expl(item(pid, event)), ds, ds.client("c1")) == [CLIENT_FALLBACK], why


def test_client_attributes_only_when_declared_or_carried_by_her_own_items(ds):
    client = ds.client("c1")
    e = expl(
        attr("material=cashmere", 0.9),  # only from views of the coat: hidden
        attr("material=calfskin", 0.8),  # her tote is calfskin
        attr("color=navy", 0.7),  # declared
        attr("tag=minimal", 0.6),  # nothing volunteered carries it
    )
    assert client_reasons(e, ds, client, n=5) == [
        "In the calfskin you love",
        "In navy, a colour you love",
    ]
    declared = expl(
        attr("material=suede", 0.5, kind="preference"), attr("price_band=2", 0.1, kind="preference")
    )
    assert client_reasons(declared, ds, client, n=5) == [
        "In the suede you love",
        "In the price range you prefer",
    ]


def test_unknown_clients_keep_only_purchases_and_wishlists(ds):
    e = Explanation("newcomer", "target_bag", 1.0, 1.0, 0.0, 0.0,
                    (item("tote", "purchase", 0.5), item("boots", "try_on", 0.3),
                     item("coat", "view", 0.2)))  # fmt: skip
    assert client_reasons(e, ds, n=5) == ["In the spirit of your Black Calfskin Tote"]


def test_both_wordings_at_once(ds):
    e = expl(item("coat", "view"))
    a, c = explanation_reasons(e, ds, ds.client("c1"))
    assert a == ["The client viewed the Cashmere Coat"]
    assert c == [CLIENT_FALLBACK]


# ------------------------------------------------------------ hostile names
@pytest.mark.parametrize("key", [k for k in HOSTILE if k != "long"])
def test_hostile_names_come_out_as_the_same_plain_text(ds, key):
    name = HOSTILE[key]
    e = expl(item(key, "purchase"))
    assert associate_reasons(e, ds) == [f"Because the client bought the {name}"]
    assert client_reasons(e, ds, ds.client("c1")) == [f"In the spirit of your {name}"]
    assert plain_text(name) == name


def test_long_names_are_cut_at_the_documented_limit(ds):
    name = HOSTILE["long"]
    text = associate_reasons(expl(item("long", "purchase")), ds)[0]
    shown = text.removeprefix("Because the client bought the ")
    assert len(shown) == MAX_NAME_CHARS == 120
    assert shown == name[: MAX_NAME_CHARS - 1] + "…"
    assert plain_text("x" * 120) == "x" * 120  # at the limit: whole


def test_plain_text_controls_and_bidi():
    assert plain_text("Tote\nwith\ttabs\x00") == "Tote with tabs "
    assert plain_text("\u202eetoT") == "\u202eetoT\u202c"  # an override is closed at the end
    assert plain_text("\u2067abc") == "\u2067abc\u2069"
    assert plain_text("\u202eok\u202c") == "\u202eok\u202c"  # balanced: untouched
    cut = plain_text("e" + "\u0301" * 5, limit=3)  # never strands combining marks
    assert cut == "…" or not cut.startswith("\u0301")
    assert plain_text(None) == ""


def test_the_suggested_products_own_history_is_worded_as_such(ds):
    client = ds.client("c1")
    own = expl(item("blouse", "wishlist", 2), item("tote", "purchase", 1), product_id="blouse")
    assert associate_reasons(own, ds, client) == [
        "On their wishlist",
        "Because the client bought the Black Calfskin Tote",
    ]
    assert client_reasons(own, ds, client) == [
        "From your wishlist",
        "To pair with your Black Calfskin Tote",
    ]
    viewed = expl(item("coat", "view"), product_id="coat")
    assert associate_reasons(viewed, ds, client) == ["The client viewed it"]
    assert client_reasons(viewed, ds, client) == [CLIENT_FALLBACK]
    tried = expl(item("boots", "try_on"), product_id="boots")
    assert client_reasons(tried, ds, client) == ["You tried it on in store"]


@pytest.mark.parametrize(
    ("source", "associate", "client"),
    [
        ("store_trend=par", "Trending in Paris", "A favourite in Paris right now"),
        ("trend", "Trending in Paris", "A favourite in Paris right now"),
        ("popularity:store=par", "Popular in Paris", "A favourite in Paris"),
        ("popularity:global", "Popular across the maison", "A maison favourite"),
        ("new_arrival", "New arrival", "New this season"),
    ],
)
def test_prior_sources(ds, source, associate, client):
    e = expl(Contribution("prior", source, 0.2, "prior"))
    assert associate_reasons(e, ds, ds.client("c1")) == [associate]
    assert client_reasons(e, ds, ds.client("c1")) == [client]


def test_unknown_prior_is_vague_for_the_associate_and_silent_for_the_client(ds):
    e = expl(Contribution("prior", "DotRecommender", 0.2, "prior"))
    assert associate_reasons(e, ds) == ["Fits their overall taste"]
    assert client_reasons(e, ds) == [CLIENT_FALLBACK]


def test_client_reasons_many_reads_one_client(ds):
    from core.suggest.reasons import client_reasons_many

    a = expl(item("tote", "purchase"))
    assert (
        client_reasons_many([a, a], ds, ds.client("c1"))
        == [["In the spirit of your Black Calfskin Tote"]] * 2
    )
    other = Explanation("c2", "tote", 1.0, 1.0, 0.0, 0.0, ())
    with pytest.raises(ValueError, match="explanations of one client expected"):
        client_reasons_many([a, other], ds)


# ------------------------------------------------------------ named once
@pytest.mark.security
@pytest.mark.parametrize("twin", ["subcategory=bag", "word=bag", "tag=bag", "word=Bags"])
def test_a_category_and_its_singular_are_named_once(ds, twin):
    e = expl(attr("category=bags", 0.5), attr(twin, 0.4), attr("material=calfskin", 0.3))
    assert associate_reasons(e, ds) == ["Matches their preference for bags and calfskin"]
    declared = expl(attr("category=bags", 0.5, kind="preference"), attr("tag=bag", 0.4))
    assert client_reasons(declared, ds, ds.client("c1"), n=3) == ["From the bags you love"]


@pytest.mark.security
def test_client_reasons_carry_no_bidi_controls(ds):
    e = expl(item("tote", "purchase"))
    hostile = make_dataset({"tote": "\u202eetoT \u2067x"})
    assert client_reasons(e, hostile, hostile.client("c1")) == ["In the spirit of your etoT x"]
    # associate wording keeps the name and closes what it opened (documented above)
    assert associate_reasons(e, hostile)[0].endswith("\u202c\u2069")


def test_the_visual_part_is_said_to_the_associate_only(ds):
    e = expl(
        Contribution("visual", "visual", 0.9, "content"),
        attr("material=cashmere", 0.3),
    )
    assert associate_reasons(e, ds, pronoun="she") == [
        "Looks like pieces she chose",
        "Matches her preference for cashmere",
    ]
    assert not any("ook" in r for r in client_reasons(e, ds, ds.client("c1"), n=3))


# ----------------------------------------------------------------- next step
def step(pid: str, value: float = 1.0) -> Contribution:
    return Contribution("sequence", pid, value, "cf", "purchase")


def test_next_step_wording_names_her_purchase_once_and_never_other_clients_to_her(ds):
    e = expl(step("tote", 3), step("boots", 2), item("coat", "view", 1), product_id="target_rtw")
    assert associate_reasons(e, ds, ds.client("c1")) == [
        "Clients who bought the Black Calfskin Tote often went on to this",
        "The client viewed the Cashmere Coat",
    ]  # one next-step reason per card: the strongest
    assert client_reasons(e, ds, ds.client("c1")) == [
        "A natural next step after your Black Calfskin Tote"
    ]
    # the same past piece behind two parts is named once, by the stronger
    both = expl(step("tote", 2), item("tote", "purchase", 1), product_id="target_rtw")
    assert associate_reasons(both, ds, ds.client("c1")) == [
        "Clients who bought the Black Calfskin Tote often went on to this"
    ]
    assert client_reasons(both, ds, ds.client("c1")) == [
        "A natural next step after your Black Calfskin Tote"
    ]
    first_item = expl(item("tote", "purchase", 2), step("tote", 1), product_id="target_rtw")
    assert associate_reasons(first_item, ds) == [
        "Because the client bought the Black Calfskin Tote"
    ]


@pytest.mark.parametrize("pid", ["gifted", "returned", "ring", "boots", "coat"])
def test_the_client_hears_of_a_next_step_only_after_a_piece_she_kept(ds, pid):
    """Gifts, returns, sensitive pieces, try-ons and views lead to no client wording."""
    assert client_reasons(expl(step(pid)), ds, ds.client("c1")) == [CLIENT_FALLBACK]
