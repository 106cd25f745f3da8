"""Single sign-on: who an identity provider's claims make someone in Atelier.

A house with an OpenID Connect provider signs its staff in through
Streamlit's ``st.login`` (configured in the ``[auth]`` section of
``.streamlit/secrets.toml``, as Streamlit documents). What the provider says
about a person -- their claims: email, name, groups, store -- becomes an
Atelier user through one declared mapping, the ``[sso]`` section of the same
file (:class:`SsoConfig`), and one pure function, :func:`map_claims`.

The rules, all refusals with a message that says what to ask IT for:

- the user id is one claim (``email`` by default, lower-cased; an email the
  provider marks unverified is refused);
- the role comes from the groups claim: each group named in ``[sso.roles]``
  gives one role; groups Atelier does not know are ignored; no known group is
  refused. Atelier's roles are not nested (a manager sees no client data, an
  admin keeps no lists), so there is no "highest" role: groups that give
  **different** roles are refused rather than guessed between, and IT keeps
  one Atelier group per person;
- the store comes from a claim when ``store_claim`` is set (then an associate
  or a stylist without one is refused, and a store the data does not know is
  refused); without it, the store an admin set in Atelier stays.

Nothing here imports Streamlit: the dashboard passes ``st.user``'s claims in.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

from core.data.schema import ROLES
from core.exceptions import AuthenticationError, ConfigError
from core.store.common import ID_MAX, NAME_MAX

#: Roles that work in a store: with ``store_claim`` set, their claims must name one.
STORE_ROLES: tuple[str, ...] = ("associate", "stylist")
_KEYS = {
    "provider",
    "label",
    "user_id_claim",
    "name_claim",
    "groups_claim",
    "store_claim",
    "allow_passwords",
    "roles",
}


@dataclass(frozen=True)
class SsoConfig:
    """The ``[sso]`` section of the secrets: how claims map to an Atelier user.

    Attributes
    ----------
    roles : mapping of str to str
        Group name (as the provider sends it) -> Atelier role.
    provider : str or None
        The ``[auth.<provider>]`` section ``st.login`` uses; ``None``: ``[auth]`` itself.
    label : str
        Shown on the button: "Sign in with <label>".
    user_id_claim, name_claim, groups_claim : str
        The claims holding the user id, the display name and the groups.
    store_claim : str or None
        The claim holding the store id; ``None``: stores are set in Atelier.
    allow_passwords : bool
        Keep the password form beside the button (accounts created in Atelier,
        e.g. a break-glass admin). Default ``False``.
    """

    roles: Mapping[str, str]
    provider: str | None = None
    label: str = "single sign-on"
    user_id_claim: str = "email"
    name_claim: str = "name"
    groups_claim: str = "groups"
    store_claim: str | None = None
    allow_passwords: bool = False

    @classmethod
    def from_mapping(cls, section: Mapping[str, object], where: str = "[sso]") -> SsoConfig:
        """Read and check the ``[sso]`` section.

        Raises
        ------
        ConfigError
            Naming the key at fault: an unknown key, a role that is not one of
            Atelier's, no roles at all, an empty claim name, a provider name
            with an underscore (Streamlit does not allow one).
        """
        unknown = sorted(set(section) - _KEYS)
        if unknown:
            raise ConfigError(
                f"{where} has unknown key(s) {', '.join(unknown)}; expected: {', '.join(sorted(_KEYS))}"
            )
        roles = section.get("roles")
        if not isinstance(roles, Mapping) or not roles:
            raise ConfigError(
                f"{where}.roles must map at least one group to a role, e.g. "
                '"atelier-stylists" = "stylist"'
            )
        for group, role in roles.items():
            if not str(group).strip() or role not in ROLES:
                raise ConfigError(
                    f"{where}.roles: group {group!r} -> {role!r}; a role is one of {', '.join(ROLES)}"
                )
        provider = section.get("provider")
        if provider is not None and (not _text(provider) or "_" in str(provider)):
            raise ConfigError(
                f"{where}.provider {provider!r} must name an [auth.<provider>] section, "
                "without underscores (Streamlit does not allow them)"
            )
        claims = {}
        for key in ("user_id_claim", "name_claim", "groups_claim", "store_claim"):
            if key in section and not _text(section[key]):
                raise ConfigError(f"{where}.{key} must be a claim name, not {section[key]!r}")
            if key in section:
                claims[key] = str(section[key]).strip()
        label = _text(section.get("label")) or (str(provider) if provider else "single sign-on")
        return cls(
            roles={str(g).strip(): str(r) for g, r in roles.items()},
            provider=str(provider) if provider else None,
            label=label,
            allow_passwords=bool(section.get("allow_passwords", False)),
            **claims,
        )


@dataclass(frozen=True)
class SsoIdentity:
    """An Atelier user as the provider's claims describe them.

    ``store_id`` is ``None`` when the store is not taken from a claim
    (``store_from_claim`` is then ``False``: keep the one set in Atelier).
    """

    user_id: str
    name: str
    role: str
    store_id: str | None
    store_from_claim: bool
    groups: tuple[str, ...]


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def _refuse(reason: str) -> AuthenticationError:
    return AuthenticationError(f"Single sign-on refused: {reason}")


def _groups(claims: Mapping[str, object], name: str) -> list[str]:
    value = claims.get(name)
    if value is None:
        raise _refuse(
            f"your identity provider sent no {name!r} claim, so Atelier cannot tell your role. "
            f"Ask IT to include the {name!r} claim for this app."
        )
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple) or not all(isinstance(g, str) for g in value):
        raise _refuse(f"the {name!r} claim is not a list of group names; ask IT to check it.")
    return [g.strip() for g in value if g.strip()]


def _user_id(claims: Mapping[str, object], config: SsoConfig) -> str:
    name = config.user_id_claim
    user_id = _text(claims.get(name))
    if not user_id:
        raise _refuse(
            f"your identity provider sent no {name!r} claim to identify you; ask IT to include it."
        )
    if name == "email":
        user_id = user_id.lower()
        if claims.get("email_verified") is False:
            raise _refuse("your identity provider marks your email as not verified.")
    if len(user_id) > ID_MAX:
        raise _refuse(f"the {name!r} claim is longer than {ID_MAX} characters.")
    return user_id


def _role(groups: list[str], config: SsoConfig) -> tuple[str, tuple[str, ...]]:
    matched = {g: config.roles[g] for g in groups if g in config.roles}
    if not matched:
        known = ", ".join(sorted(config.roles))
        raise _refuse(
            f"none of your {len(groups)} group(s) gives access to Atelier. Ask IT to add you to "
            f"one of: {known}."
        )
    roles = sorted(set(matched.values()))
    if len(roles) > 1:
        given = "; ".join(
            f"{r} from {', '.join(g for g in matched if matched[g] == r)}" for r in roles
        )
        raise _refuse(
            f"your groups give different Atelier roles ({given}). An account has one role: "
            "ask IT to keep you in one Atelier group."
        )
    return roles[0], tuple(sorted(matched))


def map_claims(
    claims: Mapping[str, object], config: SsoConfig, *, known_stores: Collection[str] | None = None
) -> SsoIdentity:
    """The Atelier user the claims describe, or a refusal that says why.

    Parameters
    ----------
    claims : mapping
        What the provider said (``st.user`` as a dict): at least the user id
        claim and the groups claim.
    config : SsoConfig
    known_stores : collection of str, optional
        Store ids of the data; a store claim naming another is refused.

    Returns
    -------
    SsoIdentity

    Raises
    ------
    AuthenticationError
        Missing or malformed claims, an unverified email, no group that gives
        access, groups that give different roles, a missing or unknown store
        (see the module's description); the message starts "Single sign-on
        refused:" and says what to ask for.
    """
    user_id = _user_id(claims, config)
    role, groups = _role(_groups(claims, config.groups_claim), config)
    name = _text(claims.get(config.name_claim))[:NAME_MAX] or user_id
    store_id = None
    if config.store_claim is not None:
        store_id = _text(claims.get(config.store_claim)) or None
        if store_id is None and role in STORE_ROLES:
            raise _refuse(
                f"a {role} works in a store, and your identity provider sent no "
                f"{config.store_claim!r} claim; ask IT to set your store."
            )
        if store_id is not None and known_stores is not None and store_id not in known_stores:
            raise _refuse(
                f"your store {store_id!r} (from the {config.store_claim!r} claim) is not one of "
                "the house's stores in Atelier; ask IT or an Atelier admin to check it."
            )
    return SsoIdentity(user_id, name, role, store_id, config.store_claim is not None, groups)
