"""Find a client in seconds: by name, email, phone or id, forgiving typos and accents.

"Isabele" finds Isabelle, "Zoe" finds Zoé, "francois" finds François,
"06 12 34 56 78" finds +33 6 12 34 56 78. Names are matched token by token
(each word of the query against the best word of the client's name, so word
order does not matter and a prefix typed so far already matches), with
rapidfuzz's C scorers over a precomputed, accent-free index, vectorised with
:func:`rapidfuzz.process.cdist` so a search over 100,000 clients stays well
under a second.

Build a :class:`ClientIndex` once per dataset (the dashboard caches it) and
call :meth:`ClientIndex.search`; :func:`search_clients` is the one-shot form.

Contact data is searched only where the searcher may see it: with ``viewer``
(the signed-in user), an email or phone matches only the clients whose contact
the access policy shows them (:data:`core.app.access.POLICY`,
``search_contact``), so typing a full phone number cannot name a client of
another store. Names and ids match as before.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from core.app.access import UserLike, allowed_mask, as_id_text
from core.data.values import TimeLike

#: Results below this score (0-100) are not matches.
DEFAULT_MIN_SCORE = 75.0
#: A prefix match ("isa" for "isabelle") scores this fraction of a full match.
PREFIX_WEIGHT = 0.95
#: Fewer query digits than this are not treated as a phone number.
MIN_PHONE_DIGITS = 4

RESULT_COLUMNS: tuple[str, ...] = (
    "client_id",
    "first_name",
    "last_name",
    "tier",
    "home_store_id",
    "assigned_associate_id",
    "last_activity",
    "score",
    "matched_on",
    "is_own",
    "is_own_store",
)

# Letters that NFKD does not decompose into a base letter and a mark.
_FOLD = str.maketrans(
    {
        "ø": "o",
        "Ø": "o",
        "æ": "ae",
        "Æ": "ae",
        "œ": "oe",
        "Œ": "oe",
        "ł": "l",
        "Ł": "l",
        "đ": "d",
        "Đ": "d",
        "ð": "d",
        "þ": "th",
        "ı": "i",
    }
)
_NON_WORD = re.compile(r"[\W_]+")
_NON_DIGIT = re.compile(r"\D+")


def normalise(text: object) -> str:
    """Lower-case words without accents, single-spaced ("Zoé-Marie" -> "zoe marie").

    Accents are removed (Unicode NFKD, then combining marks dropped), letters
    such as ø, æ, ł folded, everything that is not a letter or digit (of any
    script: "مريم" stays) becomes a space. Missing values give ``""``.
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    folded = unicodedata.normalize("NFKD", str(text).translate(_FOLD))
    stripped = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", stripped.casefold().translate(_FOLD)).strip()


def digits(text: object) -> str:
    """Only the digits of ``text`` ("+33 (0)6 12-34" -> "3306 1234" without spaces)."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return _NON_DIGIT.sub("", str(text))


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _same_or(original: str, derived: str) -> str:
    """``original`` itself when ``derived`` equals it (one object instead of two)."""
    return original if derived == original else derived


def _shared_objects(values: pd.Series) -> np.ndarray:
    """``values`` as an object array in which equal values are one object (missing: ``None``).

    Stores, tiers, associates and first names repeat across a million
    clients; one Python string per row would hold each a million times.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = np.array([*uniques.astype(object), None], dtype=object)
    shared: np.ndarray = table[codes]  # code -1 (missing) -> the None at the end
    return shared


class ClientIndex:
    """A precomputed, accent-free search index over a clients table.

    Parameters
    ----------
    clients : DataFrame
        The clients table (``client_id``, ``first_name``, ``last_name`` and
        optionally ``email``, ``phone``, ``home_store_id``, ``tier``,
        ``assigned_associate_id``).
    events : DataFrame, optional
        The events table; gives each client's last activity (latest event),
        needed by the ``recently_active_since`` filter.
    latest : Series, optional
        Each client's latest event time by client id, instead of ``events``
        (a house served without its event log:
        :meth:`core.data.partitioned.PartitionedEvents.latest_events`).

    Raises
    ------
    ValueError
        If ``clients`` lacks ``client_id``, ``first_name`` or ``last_name``.
    """

    def __init__(
        self,
        clients: pd.DataFrame,
        events: pd.DataFrame | None = None,
        *,
        latest: pd.Series | None = None,
    ) -> None:
        missing = [c for c in ("client_id", "first_name", "last_name") if c not in clients]
        if missing:
            raise ValueError(
                f"the clients table needs the column(s) {', '.join(missing)} to be searched"
            )
        frame = clients.reset_index(drop=True)
        self.n_clients = len(frame)
        self.client_ids = frame["client_id"].astype(str).to_numpy()
        self.first_names = _shared_objects(_column(frame, "first_name").fillna("").astype(str))
        self.last_names = _shared_objects(_column(frame, "last_name").fillna("").astype(str))
        self.tiers = _shared_objects(_column(frame, "tier"))
        self.stores = _shared_objects(_column(frame, "home_store_id"))
        self.assigned = _shared_objects(_column(frame, "assigned_associate_id"))
        # As text once, so the access check of every search is vectorised.
        self._store_text = as_id_text(self.stores)
        self._assigned_text = as_id_text(self.assigned)
        self._index_keys(frame)
        self._index_activity(events, latest)

    def _index_keys(self, frame: pd.DataFrame) -> None:
        """The accent-free keys each field is matched on, and the display order."""
        # Each distinct (first, last) pair normalised once: names repeat across a house.
        f_codes, f_unique = pd.factorize(self.first_names)
        l_codes, l_unique = pd.factorize(self.last_names)
        width = max(len(l_unique), 1)
        pairs, codes = np.unique(f_codes.astype(np.int64) * width + l_codes, return_inverse=True)
        firsts, lasts = f_unique[pairs // width], l_unique[pairs % width]
        self._index_tokens(
            [normalise(f"{f} {la}") for f, la in zip(firsts, lasts, strict=True)], codes
        )
        # Display order among equals: last name, then first name (a rank, 4 bytes a client).
        order = np.array(
            [f"{normalise(la)} {normalise(f)}" for f, la in zip(firsts, lasts, strict=True)],
            dtype=object,
        )
        self.sort_keys = np.unique(order, return_inverse=True)[1].astype(np.int32)[codes]
        # An id that normalising leaves unchanged is kept as the id's own object, not a copy.
        self.id_keys = np.array([_same_or(c, normalise(c)) for c in self.client_ids], dtype=object)
        self.email_keys = np.array(
            [
                str(e).strip().casefold() if isinstance(e, str) else ""
                for e in _column(frame, "email")
            ],
            dtype=object,
        )
        self.email_local = np.array(
            [normalise(e.split("@", 1)[0]) for e in self.email_keys], dtype=object
        )
        self.phone_keys = np.array([digits(p) for p in _column(frame, "phone")], dtype=object)

    def _index_tokens(self, name_keys: list[str], codes: np.ndarray) -> None:
        """Each client's name words as indices into the unique words, padded with -1.

        ``name_keys``: the normalised distinct names; ``codes``: each client's
        name among them. So a query word is scored once against each distinct word.
        """
        token_lists = [key.split() for key in name_keys]
        vocab: dict[str, int] = {}
        width = max((len(t) for t in token_lists), default=0) or 1
        ids = np.full((len(token_lists), width), -1, dtype=np.int32)
        for row, tokens in enumerate(token_lists):
            for col, tok in enumerate(tokens):
                ids[row, col] = vocab.setdefault(tok, len(vocab))
        self.token_ids = ids[codes] if len(token_lists) else np.full((0, width), -1, np.int32)
        self.vocab = np.array(list(vocab), dtype=object)

    def _index_activity(self, events: pd.DataFrame | None, latest: pd.Series | None) -> None:
        """Each client's latest event (NaT without one), from ``latest`` or else from ``events``."""
        self.last_activity = pd.Series(pd.NaT, index=range(self.n_clients), dtype="datetime64[ns]")
        self.has_activity = events is not None or latest is not None
        if latest is None and events is not None and len(events):
            latest = (
                pd.to_datetime(events["timestamp"]).groupby(events["client_id"].astype(str)).max()
            )
        if latest is not None and len(latest):
            self.last_activity = pd.Series(
                pd.to_datetime(pd.Series(self.client_ids).map(latest)).to_numpy(),
                index=range(self.n_clients),
            )

    # ------------------------------------------------------------------ scoring
    def _name_scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """Length-weighted mean over query words of the best-matching name word, (n_clients,)."""
        if not query_tokens or not len(self.vocab):
            return np.zeros(self.n_clients)
        vocab = list(self.vocab)
        full = process.cdist(query_tokens, vocab, scorer=fuzz.ratio, dtype=np.float32)
        word_scores = np.asarray(full, dtype=np.float64)
        for i, q in enumerate(query_tokens):
            prefixes = [w[: len(q)] for w in vocab]
            pre = process.cdist([q], prefixes, scorer=fuzz.ratio, dtype=np.float32)[0]
            # Only a word at least as long as the query can be "typed so far".
            longer = np.fromiter((len(w) >= len(q) for w in vocab), bool, len(vocab))
            word_scores[i] = np.maximum(word_scores[i], np.where(longer, pre * PREFIX_WEIGHT, 0))
        padded = np.concatenate([word_scores, np.zeros((len(query_tokens), 1))], axis=1)
        ids = np.where(self.token_ids < 0, padded.shape[1] - 1, self.token_ids)
        per_word = padded[:, ids]  # (n_query_words, n_clients, width)
        # Longer query words weigh more: a stray initial ("b", "x") cannot carry a match.
        weights = np.array([len(q) for q in query_tokens], dtype=np.float64)
        return np.asarray(weights @ per_word.max(axis=2) / weights.sum())

    def _id_scores(self, q_norm: str) -> np.ndarray:
        compact = q_norm.replace(" ", "")
        if len(compact) < 2:
            return np.zeros(self.n_clients)
        ids = np.array([k.replace(" ", "") for k in self.id_keys], dtype=object)
        exact = ids == compact
        prefix = np.fromiter((k.startswith(compact) for k in ids), bool, self.n_clients)
        contains = np.fromiter((compact in k for k in ids), bool, self.n_clients)
        return np.select([exact, prefix, contains], [100.0, 97.0, 90.0], 0.0)

    def _email_scores(self, query: str, q_norm: str) -> np.ndarray:
        raw = query.strip().casefold()
        if len(raw) < 3 or not any(self.email_keys):
            return np.zeros(self.n_clients)
        if "@" in raw:
            exact = self.email_keys == raw
            contains = np.fromiter((raw in e for e in self.email_keys), bool, self.n_clients)
            fuzzy = process.cdist([raw], list(self.email_keys), scorer=fuzz.ratio)[0]
            return np.select([exact, contains], [100.0, 96.0], np.asarray(fuzzy, float))
        # Without "@", only a long fragment of the local part counts (a name is
        # already matched by the name scorer; this catches "isa.dupont").
        if "." not in raw and "_" not in raw and len(q_norm.split()) < 2:
            return np.zeros(self.n_clients)
        local = np.asarray(
            process.cdist([q_norm], list(self.email_local), scorer=fuzz.ratio)[0], float
        )
        return local * 0.98

    def _phone_scores(self, query: str) -> np.ndarray:
        q_digits = digits(query).lstrip("0")
        letters = any(ch.isalpha() for ch in query)
        if len(q_digits) < MIN_PHONE_DIGITS or letters:
            return np.zeros(self.n_clients)
        hits = np.fromiter((q_digits in p for p in self.phone_keys), bool, self.n_clients)
        ends = np.fromiter((p.endswith(q_digits) for p in self.phone_keys), bool, self.n_clients)
        return np.select([ends, hits], [100.0, 95.0], 0.0)

    def contact_searchable(self, viewer: UserLike | None) -> np.ndarray:
        """Clients whose email and phone ``viewer`` may search by (bool, shape (n_clients,)).

        ``None`` (no signed-in user: the CLI, a notebook) may search every client's.
        """
        if viewer is None:
            return np.ones(self.n_clients, dtype=bool)
        return allowed_mask(viewer, "search_contact", self._store_text, self._assigned_text)

    def scores(
        self, query: str, *, viewer: UserLike | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best score (0-100) of every client for ``query`` and what it matched on.

        With ``viewer``, email and phone match only the clients whose contact
        ``viewer`` may see (:meth:`contact_searchable`); elsewhere they score 0.

        Returns
        -------
        scores : ndarray of float, shape (n_clients,)
        matched_on : ndarray of str, shape (n_clients,)
            ``"name"``, ``"email"``, ``"phone"`` or ``"id"``.
        """
        q_norm = normalise(query)
        contact = self.contact_searchable(viewer)
        # At equal scores the more specific field is reported (argmax takes the first).
        parts = {
            "id": self._id_scores(q_norm),
            "phone": np.where(contact, self._phone_scores(query), 0.0),
            "email": np.where(contact, self._email_scores(query, q_norm), 0.0),
            "name": self._name_scores(q_norm.split()),
        }
        names = list(parts)
        stacked = np.vstack([parts[n] for n in names])
        best = stacked.argmax(axis=0)
        return stacked.max(axis=0), np.array(names, dtype=object)[best]

    # ------------------------------------------------------------------ search
    def search(
        self,
        query: str = "",
        *,
        viewer: UserLike | None = None,
        store_id: str | Iterable[str] | None = None,
        tier: str | Iterable[str] | None = None,
        assigned_to: str | None = None,
        recently_active_since: TimeLike | None = None,
        prefer_store: str | None = None,
        prefer_associate: str | None = None,
        limit: int | None = 30,
        min_score: float = DEFAULT_MIN_SCORE,
    ) -> pd.DataFrame:
        """Clients matching ``query`` and the filters, best first.

        Parameters
        ----------
        query : str
            Name (any order, typos and accents forgiven, a prefix counts), email,
            phone (spaces, punctuation and a leading trunk 0 ignored) or id
            fragment. Empty: every client passing the filters.
        viewer : UserLike, optional
            The signed-in user: email and phone match only clients whose contact
            they may see. ``None`` (the CLI, a notebook): every client's. The
            dashboard always passes the user.
        store_id, tier : str or list of str, optional
            Keep only clients of these home stores / tiers.
        assigned_to : str, optional
            Keep only clients assigned to this associate.
        recently_active_since : datetime-like, optional
            Keep only clients with an event on or after this time (needs the
            index to be built with ``events``).
        prefer_store, prefer_associate : str, optional
            At equal match quality, the associate's own clients come first,
            then their store's.
        limit : int or None
            At most this many rows (``None``: all).
        min_score : float
            Matches scoring below this (0-100) are dropped.

        Returns
        -------
        DataFrame
            Columns :data:`RESULT_COLUMNS`; ``score`` is 100 for every row when
            the query is empty.

        Raises
        ------
        ValueError
            ``recently_active_since`` without events, or a negative ``limit``.

        Longer than 60 lines for the documentation of its ten options; the
        steps are helpers (``_filter``, :meth:`scores`, ``_ranked``, ``_results``).
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be >= 0 or None, got {limit}")
        query = "" if query is None else str(query)
        keep = self._filter(store_id, tier, assigned_to, recently_active_since)
        if query.strip():
            # Punctuation alone ("!!!") is a query too: it matches nobody.
            score, matched = self.scores(query, viewer=viewer)
            keep &= score >= min_score
        else:
            score = np.full(self.n_clients, 100.0)
            matched = np.full(self.n_clients, "", dtype=object)
        own = self._equals(self.assigned, prefer_associate)
        own_store = self._equals(self.stores, prefer_store)
        rows = self._ranked(np.flatnonzero(keep), score, own, own_store)
        if limit is not None:
            rows = rows[:limit]
        return self._results(rows, score, matched, own, own_store)

    def _ranked(
        self, rows: np.ndarray, score: np.ndarray, own: np.ndarray, own_store: np.ndarray
    ) -> np.ndarray:
        """``rows`` best first: match quality, own clients, own store, then name and id."""
        # Match quality first (rounded so near-equal typos tie), then own clients,
        # own store, then last and first name for a stable, readable order.
        order = np.lexsort(
            (
                self.client_ids[rows],
                self.sort_keys[rows],
                ~own_store[rows],
                ~own[rows],
                -np.round(score[rows]),
            )
        )
        return rows[order]

    def _results(
        self,
        rows: np.ndarray,
        score: np.ndarray,
        matched: np.ndarray,
        own: np.ndarray,
        own_store: np.ndarray,
    ) -> pd.DataFrame:
        """The chosen clients, in order, as :data:`RESULT_COLUMNS`."""
        return pd.DataFrame(
            {
                "client_id": self.client_ids[rows],
                "first_name": self.first_names[rows],
                "last_name": self.last_names[rows],
                "tier": self.tiers[rows],
                "home_store_id": self.stores[rows],
                "assigned_associate_id": self.assigned[rows],
                "last_activity": self.last_activity.to_numpy()[rows],
                "score": np.round(score[rows], 1),
                "matched_on": matched[rows],
                "is_own": own[rows],
                "is_own_store": own_store[rows],
            },
            columns=list(RESULT_COLUMNS),
        )

    def _equals(self, values: np.ndarray, wanted: str | None) -> np.ndarray:
        """Where ``values`` equal ``wanted`` (nowhere without one)."""
        if wanted is None:
            return np.zeros(self.n_clients, dtype=bool)
        return np.asarray(values.astype(str) == str(wanted), dtype=bool)

    def _filter(
        self,
        store_id: str | Iterable[str] | None,
        tier: str | Iterable[str] | None,
        assigned_to: str | None,
        recently_active_since: TimeLike | None,
    ) -> np.ndarray:
        """Clients passing the filters of :meth:`search` (all of them without any)."""
        keep = np.ones(self.n_clients, dtype=bool)
        if store_id is not None:
            stores = {store_id} if isinstance(store_id, str) else set(store_id)
            keep &= np.isin(self.stores.astype(str), list(stores))
        if tier is not None:
            tiers = {tier} if isinstance(tier, str) else set(tier)
            keep &= np.isin(self.tiers.astype(str), list(tiers))
        if assigned_to is not None:
            keep &= self.assigned.astype(str) == str(assigned_to)
        if recently_active_since is not None:
            if not self.has_activity:
                raise ValueError(
                    "recently_active_since needs the events: build the index with "
                    "ClientIndex(clients, events=...) or pass events= to search_clients"
                )
            since = pd.Timestamp(recently_active_since)
            keep &= (self.last_activity >= since).fillna(False).to_numpy(dtype=bool)
        return keep


def search_clients(
    clients_df: pd.DataFrame,
    query: str,
    *,
    viewer: UserLike | None = None,
    store_id: str | Iterable[str] | None = None,
    tier: str | Iterable[str] | None = None,
    assigned_to: str | None = None,
    recently_active_since: TimeLike | None = None,
    events: pd.DataFrame | None = None,
    prefer_store: str | None = None,
    prefer_associate: str | None = None,
    limit: int | None = 30,
) -> pd.DataFrame:
    """One-shot search (builds a :class:`ClientIndex`; cache one for repeated searches).

    See :meth:`ClientIndex.search` for the parameters and the result.
    """
    return ClientIndex(clients_df, events).search(
        query,
        viewer=viewer,
        store_id=store_id,
        tier=tier,
        assigned_to=assigned_to,
        recently_active_since=recently_active_since,
        prefer_store=prefer_store,
        prefer_associate=prefer_associate,
        limit=limit,
    )
