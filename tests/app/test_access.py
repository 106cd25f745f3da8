"""core.app.access: the permission table, page access, contact visibility and masking."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pytest

from core.app.access import (
    HIDDEN,
    NOT_ON_FILE,
    PAGE_ROLES,
    PERMISSIONS,
    can,
    can_open_page,
    can_see_contact,
    contact_for,
    mask_contact,
)
from core.data.schema import ROLES


@dataclass(frozen=True)
class User:
    user_id: str
    role: str
    store_id: str | None


CLIENT = pd.Series(
    {
        "client_id": "c1",
        "home_store_id": "par",
        "assigned_associate_id": "u_assigned",
        "email": "client@example.com",
        "phone": "+33 6 12 34 56 78",
    }
)


def test_every_role_has_permissions_and_account():
    assert set(PERMISSIONS) == set(ROLES)
    for role in ROLES:
        assert can_open_page(role, "account")


def test_managers_see_no_client_pages():
    for page in ("lookup", "client", "lists"):
        assert not can_open_page("manager", page)
    assert can_open_page("manager", "trends") and can_open_page("manager", "model_health")
    assert not can("manager", "view_clients")


@pytest.mark.parametrize(
    ("role", "page", "allowed"),
    [
        ("associate", "lookup", True),
        ("associate", "trends", False),
        ("associate", "data_users", False),
        ("stylist", "lists", True),
        ("admin", "data_users", True),
        ("admin", "lists", False),
        (None, "account", False),
        ("intruder", "account", False),
    ],
)
def test_can_open_page(role, page, allowed):
    assert can_open_page(role, page) is allowed


def test_unknown_page_is_a_bug():
    with pytest.raises(KeyError, match="unknown page 'lookp'"):
        can_open_page("associate", "lookp")
    assert "lookup" in PAGE_ROLES


def test_unknown_role_in_can():
    with pytest.raises(ValueError, match="unknown role 'boss'"):
        can("boss", "view_clients")


@pytest.mark.parametrize(
    ("user", "allowed"),
    [
        (User("u_assigned", "associate", "lon"), True),  # assigned, other store
        (User("u_same_store", "associate", "par"), True),  # home store
        (User("u_stylist", "stylist", "par"), True),
        (User("u_other", "associate", "lon"), False),  # neither
        (User("u_nostore", "associate", None), False),
        (User("u_manager", "manager", "par"), False),  # managers never, even in the store
        (User("u_assigned", "manager", "par"), False),
        (User("u_admin", "admin", "par"), False),
        (None, False),
    ],
)
def test_can_see_contact(user, allowed):
    assert can_see_contact(user, CLIENT) is allowed
    assert can_see_contact(user, CLIENT.to_dict()) is allowed


def test_client_without_store_or_assignee():
    client = {"home_store_id": None, "assigned_associate_id": float("nan")}
    assert not can_see_contact(User("u1", "associate", "par"), client)
    assert not can_see_contact(User("nan", "associate", None), client)


def test_mask_contact_reveals_nothing():
    masked = mask_contact("client@example.com", "email")
    assert masked == f"email on file ({HIDDEN})"
    assert "client" not in masked and "example" not in masked
    assert mask_contact("+33 6 12 34 56 78", "phone") == f"phone on file ({HIDDEN})"
    assert mask_contact("", "phone") == NOT_ON_FILE
    assert mask_contact(None, "email") == NOT_ON_FILE
    assert mask_contact(float("nan"), "email") == NOT_ON_FILE
    with pytest.raises(ValueError, match="kind must be"):
        mask_contact("x", "address")


def test_contact_for():
    own = contact_for(User("u_assigned", "associate", "lon"), CLIENT)
    assert own == {"email": "client@example.com", "phone": "+33 6 12 34 56 78"}
    other = contact_for(User("u_other", "associate", "lon"), CLIENT)
    assert other == {"email": f"email on file ({HIDDEN})", "phone": f"phone on file ({HIDDEN})"}
    no_phone = contact_for(
        User("u_assigned", "associate", "lon"), {**CLIENT.to_dict(), "phone": ""}
    )
    assert no_phone["phone"] == NOT_ON_FILE
