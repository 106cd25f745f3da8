"""Single sign-on: the claims -> user mapping (every rule and refusal), and the user record."""

from __future__ import annotations

import pytest

from core.app.sso import SsoConfig, SsoIdentity, map_claims
from core.exceptions import AuthenticationError, ConfigError
from core.store import SYSTEM_ACTOR, Store

pytestmark = pytest.mark.security

ROLES = {
    "atelier-admins": "admin",
    "atelier-managers": "manager",
    "atelier-stylists": "stylist",
    "atelier-associates": "associate",
    "atelier-floor": "associate",
}
CONFIG = SsoConfig.from_mapping({"provider": "okta", "label": "Okta", "roles": ROLES})
WITH_STORE = SsoConfig.from_mapping({"roles": ROLES, "store_claim": "store"})


def claims(**extra: object) -> dict[str, object]:
    base: dict[str, object] = {
        "is_logged_in": True,
        "email": "Agnes.Martel@House.example",
        "name": "Inès Martel",
        "groups": ["staff", "atelier-stylists"],
    }
    return {**base, **extra}


# ------------------------------------------------------------------ the configuration
def test_a_minimal_section_takes_the_documented_defaults():
    config = SsoConfig.from_mapping({"roles": {"g": "admin"}})
    assert config == SsoConfig(roles={"g": "admin"})
    assert (config.provider, config.label, config.user_id_claim, config.name_claim) == (
        None, "single sign-on", "email", "name",
    )  # fmt: skip
    assert (config.groups_claim, config.store_claim, config.allow_passwords) == (
        "groups", None, False,
    )  # fmt: skip
    assert CONFIG.label == "Okta" and CONFIG.provider == "okta"
    assert SsoConfig.from_mapping({"provider": "entra", "roles": {"g": "admin"}}).label == "entra"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({}, r"\[sso\]\.roles must map at least one group"),
        ({"roles": {}}, r"\[sso\]\.roles must map at least one group"),
        ({"roles": {"g": "owner"}}, r"group 'g' -> 'owner'; a role is one of associate"),
        ({"roles": {" ": "admin"}}, r"group ' ' -> 'admin'"),
        ({"roles": {"g": "admin"}, "provider": "my_idp"}, "without underscores"),
        ({"roles": {"g": "admin"}, "provider": ""}, "must name an"),
        ({"roles": {"g": "admin"}, "groups_claim": ""}, r"\[sso\]\.groups_claim must be a claim"),
        ({"roles": {"g": "admin"}, "store_claim": 3}, r"\[sso\]\.store_claim must be a claim"),
        ({"roles": {"g": "admin"}, "role_claim": "x"}, r"unknown key\(s\) role_claim"),
    ],
)
def test_a_bad_section_is_refused_naming_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        SsoConfig.from_mapping(section)


# ------------------------------------------------------------------ the mapping
def test_claims_give_the_user_id_name_and_role():
    who = map_claims(claims(), CONFIG)
    assert who == SsoIdentity(
        user_id="agnes.martel@house.example",  # emails are compared lower-case
        name="Inès Martel",
        role="stylist",
        store_id=None,
        store_from_claim=False,
        groups=("atelier-stylists",),
    )


@pytest.mark.parametrize(
    ("groups", "role"),
    [
        (["atelier-admins"], "admin"),
        (["atelier-managers", "everyone"], "manager"),
        ("atelier-associates", "associate"),  # one group sent as a string
        (["atelier-associates", "atelier-floor"], "associate"),  # two groups, one role
        ([" atelier-stylists "], "stylist"),
    ],
)
def test_each_declared_group_gives_its_role(groups, role):
    assert map_claims(claims(groups=groups), CONFIG).role == role


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        ({"email": None}, "sent no 'email' claim to identify you"),
        ({"email": "   "}, "sent no 'email' claim"),
        ({"email": 42}, "sent no 'email' claim"),
        ({"email_verified": False}, "marks your email as not verified"),
        ({"email": "x" * 200 + "@h.example"}, "longer than 128 characters"),
        ({"groups": None}, "sent no 'groups' claim, so Atelier cannot tell your role"),
        ({"groups": {"a": 1}}, "'groups' claim is not a list of group names"),
        ({"groups": ["atelier-admins", 7]}, "not a list of group names"),
        ({"groups": []}, r"none of your 0 group\(s\) gives access"),
        ({"groups": ["staff", "paris"]}, r"none of your 2 group\(s\) gives access to Atelier"),
        (
            {"groups": ["atelier-managers", "atelier-admins"]},
            r"different Atelier roles \(admin from atelier-admins; manager from atelier-managers\)",
        ),
    ],
)
def test_missing_malformed_or_unknown_claims_are_refused_with_a_reason(changed, message):
    with pytest.raises(AuthenticationError, match=f"^Single sign-on refused: .*{message}"):
        map_claims(claims(**changed), CONFIG)


def test_the_refusal_for_unknown_groups_says_which_groups_would_do():
    with pytest.raises(AuthenticationError) as err:
        map_claims(claims(groups=["staff"]), CONFIG)
    assert "atelier-admins, atelier-associates, atelier-floor" in str(err.value)
    assert "staff" not in str(err.value)  # the person's own groups are not listed


def test_other_claims_can_be_declared():
    config = SsoConfig.from_mapping({
        "roles": {"Atelier Admin": "admin"}, "user_id_claim": "preferred_username",
        "name_claim": "given_name", "groups_claim": "roles",
    })  # fmt: skip
    found = {"preferred_username": "IMartel", "given_name": "Inès M", "roles": ["Atelier Admin"]}
    who = map_claims(found, config)
    assert (who.user_id, who.name, who.role) == ("IMartel", "Inès M", "admin")  # not lower-cased
    assert map_claims({**found, "given_name": ""}, config).name == "IMartel"  # no name: the id


def test_the_store_claim_when_declared():
    who = map_claims(claims(store="S02"), WITH_STORE, known_stores={"S01", "S02"})
    assert (who.store_id, who.store_from_claim) == ("S02", True)
    admin = map_claims(claims(groups=["atelier-admins"]), WITH_STORE)
    assert (admin.role, admin.store_id) == ("admin", None)  # head office: no store needed
    with pytest.raises(AuthenticationError, match="a stylist works in a store.*'store' claim"):
        map_claims(claims(), WITH_STORE)
    with pytest.raises(AuthenticationError, match="your store 'S09'.*not one of the house's"):
        map_claims(claims(store="S09"), WITH_STORE, known_stores={"S01", "S02"})


# ------------------------------------------------------------------ the user record
@pytest.fixture
def store(tmp_path):
    store = Store.open(url=f"sqlite:///{tmp_path / 'sso.db'}")
    yield store
    store.close()


def test_the_first_sso_sign_in_creates_the_user_and_later_ones_follow_the_provider(store):
    created = store.users.sign_in_external(
        "imartel@h.example", "Inès M", "stylist", "S01", via="okta"
    )
    assert (created.role, created.store_id, created.must_change_password) == (
        "stylist",
        "S01",
        False,
    )
    assert created.last_login_at is not None
    with pytest.raises(AuthenticationError):  # the random password is unusable
        store.users.authenticate("imartel@h.example", "")
    again = store.users.sign_in_external("imartel@h.example", "Inès M", "manager", None, via="okta")
    assert (again.role, again.store_id) == ("manager", None)
    kept = store.users.sign_in_external(
        "imartel@h.example", "Inès M", "manager", "S05", via="okta", set_store=False
    )
    assert kept.store_id is None  # the store set in Atelier stays
    entries = store.audit.query(target_id="imartel@h.example", limit=None)
    assert [(e.action, e.actor_id) for e in reversed(entries)] == [
        ("user_create", SYSTEM_ACTOR), ("login", "imartel@h.example"),
        ("login_failed", "imartel@h.example"),  # the password attempt
        ("user_update", SYSTEM_ACTOR), ("login", "imartel@h.example"),
        ("login", "imartel@h.example"),
    ]  # fmt: skip
    update = next(e for e in entries if e.action == "user_update")
    assert update.details == {"role": "manager", "store_id": None, "via": "okta"}


def test_a_user_deactivated_in_atelier_stays_out(store):
    store.users.create_user("boss", "Boss", "admin", None, actor_id=SYSTEM_ACTOR)
    store.users.sign_in_external("imartel@h.example", "Inès M", "stylist", None, via="okta")
    store.users.deactivate("imartel@h.example", actor_id="boss")
    with pytest.raises(AuthenticationError, match="deactivated in Atelier"):
        store.users.sign_in_external("imartel@h.example", "Inès M", "stylist", None, via="okta")
    assert not store.users.get_user("imartel@h.example").active
    failed = store.audit.query(action="login_failed", limit=None)
    assert failed[0].details == {"reason": "deactivated", "via": "okta"}
    with pytest.raises(ValueError, match="reserved"):
        store.users.sign_in_external(SYSTEM_ACTOR, "S", "admin", None, via="okta")
