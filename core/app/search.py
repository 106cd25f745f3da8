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
import pyarrow as pa
import pyarrow.compute as pc
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


class _Coded:
    """Values held as int32 codes into their distinct values (missing: ``None``).

    Stores, tiers, associates and names repeat across a million clients: a
    code each is 4 bytes where an object pointer per row was 8, and filters
    compare the few distinct values instead of a million strings.
    """

    def __init__(self, values: pd.Series) -> None:
        codes, uniques = pd.factorize(values, use_na_sentinel=True)
        #: The distinct values, then ``None`` (code -1 indexes it).
        self.table = np.array([*uniques.astype(object), None], dtype=object)
        self.codes = codes.astype(np.int32)
        self.text = as_id_text(self.table)  # "" for the missing one

    def __getitem__(self, rows: np.ndarray) -> np.ndarray:
        picked: np.ndarray = self.table[self.codes[rows]]
        return picked

    def text_in(self, wanted: Iterable[str]) -> np.ndarray:
        """Where the value, as text, is one of ``wanted`` (bool per row)."""
        return np.isin(self.table.astype(str), list(wanted))[self.codes]


def _texts(values: pd.Series | Iterable[str]) -> pa.Array | pa.ChunkedArray:
    """Strings as one Arrow array: bytes and offsets, not a Python object per client."""
    if not isinstance(values, pd.Series):
        values = list(values)
    return pa.array(values, type=pa.large_string())


def _texts_or(
    values: Iterable[str], original: pa.Array | pa.ChunkedArray
) -> pa.Array | pa.ChunkedArray:
    """``values`` as Arrow text, or ``original`` itself where they are equal (held once).

    A house's ids and emails are mostly lower case already: their search keys
    then share the clients table's own Arrow buffers.
    """
    made = _texts(values)
    if len(made) == len(original) and not original.null_count:
        same = pc.all(pc.equal(made, original.cast(made.type))).as_py()
        if same and original.type == made.type:
            return original
    return made


def _flags(found: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """An Arrow boolean result as a numpy bool array."""
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=bool)


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
        self.client_ids = _texts(frame["client_id"].astype(str))
        self.first_names = _Coded(_column(frame, "first_name").fillna("").astype(str))
        self.last_names = _Coded(_column(frame, "last_name").fillna("").astype(str))
        self.tiers = _Coded(_column(frame, "tier"))
        self.stores = _Coded(_column(frame, "home_store_id"))
        self.assigned = _Coded(_column(frame, "assigned_associate_id"))
        # Each distinct (store, assigned) pair once: the access check of a search
        # asks the policy about those pairs, not a million clients.
        n_stores, n_assigned = len(self.stores.table), len(self.assigned.table)
        # Code -1 (missing) is the table's last entry, None.
        pairs = (self.stores.codes % n_stores).astype(np.int64) * n_assigned + (
            self.assigned.codes % n_assigned
        )
        pair_codes, pair_values = pd.factorize(pairs)
        self._pairs = pair_codes.astype(np.int32)
        self._pair_store = self.stores.text[pair_values // n_assigned]
        self._pair_assigned = self.assigned.text[pair_values % n_assigned]
        self._index_keys(frame)
        self._index_activity(events, latest)

    def _index_keys(self, frame: pd.DataFrame) -> None:
        """The accent-free keys each field is matched on, and the display order."""
        # Each distinct (first, last) pair normalised once: names repeat across a house.
        f_codes, f_unique = self.first_names.codes, self.first_names.table
        l_codes, l_unique = self.last_names.codes, self.last_names.table
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
        name_rank = np.unique(order, return_inverse=True)[1][codes]
        # Display order among equals: last name, first name, then id, as one rank.
        self.display_rank = np.empty(self.n_clients, dtype=np.int32)
        by_id = pc.sort_indices(self.client_ids).to_numpy()
        self.display_rank[by_id[np.argsort(name_rank[by_id], kind="stable")]] = np.arange(
            self.n_clients, dtype=np.int32
        )
        # Ids without spaces, as an id query is compared.
        self.id_keys = _texts_or(
            (normalise(c).replace(" ", "") for c in self.client_ids.to_pylist()), self.client_ids
        )
        emails = [
            str(e).strip().casefold() if isinstance(e, str) else "" for e in _column(frame, "email")
        ]
        self._has_email = any(emails)
        self.email_local = _texts(normalise(e.split("@", 1)[0]) for e in emails)
        self.email_keys = _texts_or(emails, pa.array(_column(frame, "email").astype(str)))
        del emails
        self.phone_keys = _texts(digits(p) for p in _column(frame, "phone"))

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
            # Each client's position among ``latest``'s ids, matched in Arrow (-1: none).
            known = pa.array(latest.index.astype(str), type=pa.large_string())
            found = pc.fill_null(pc.index_in(self.client_ids, value_set=known), -1).to_numpy()
            times = pd.to_datetime(latest).to_numpy(dtype="datetime64[ns]")
            picked = np.where(found >= 0, times[np.maximum(found, 0)], np.datetime64("NaT"))
            self.last_activity = pd.Series(picked, index=range(self.n_clients))

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
        ids = self.id_keys
        exact = _flags(pc.equal(ids, compact))
        prefix = _flags(pc.starts_with(ids, pattern=compact))
        contains = _flags(pc.match_substring(ids, pattern=compact))
        return np.select([exact, prefix, contains], [100.0, 97.0, 90.0], 0.0)

    def _email_scores(self, query: str, q_norm: str) -> np.ndarray:
        raw = query.strip().casefold()
        if len(raw) < 3 or not self._has_email:
            return np.zeros(self.n_clients)
        if "@" in raw:
            exact = _flags(pc.equal(self.email_keys, raw))
            contains = _flags(pc.match_substring(self.email_keys, pattern=raw))
            fuzzy = process.cdist([raw], self.email_keys.to_pylist(), scorer=fuzz.ratio)[0]
            return np.select([exact, contains], [100.0, 96.0], np.asarray(fuzzy, float))
        # Without "@", only a long fragment of the local part counts (a name is
        # already matched by the name scorer; this catches "isa.dupont").
        if "." not in raw and "_" not in raw and len(q_norm.split()) < 2:
            return np.zeros(self.n_clients)
        local = np.asarray(
            process.cdist([q_norm], self.email_local.to_pylist(), scorer=fuzz.ratio)[0], float
        )
        return local * 0.98

    def _phone_scores(self, query: str) -> np.ndarray:
        q_digits = digits(query).lstrip("0")
        letters = any(ch.isalpha() for ch in query)
        if len(q_digits) < MIN_PHONE_DIGITS or letters:
            return np.zeros(self.n_clients)
        hits = _flags(pc.match_substring(self.phone_keys, pattern=q_digits))
        ends = _flags(pc.ends_with(self.phone_keys, pattern=q_digits))
        return np.select([ends, hits], [100.0, 95.0], 0.0)

    def contact_searchable(self, viewer: UserLike | None) -> np.ndarray:
        """Clients whose email and phone ``viewer`` may search by (bool, shape (n_clients,)).

        ``None`` (no signed-in user: the CLI, a notebook) may search every client's.
        """
        if viewer is None:
            return np.ones(self.n_clients, dtype=bool)
        allowed = allowed_mask(viewer, "search_contact", self._pair_store, self._pair_assigned)
        return np.asarray(allowed[self._pairs], dtype=bool)

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
        # own store, then last and first name and id for a stable, readable order.
        order = np.lexsort(
            (
                self.display_rank[rows],
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
                "client_id": self.client_ids.take(rows).to_numpy(zero_copy_only=False),
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

    def _equals(self, values: _Coded, wanted: str | None) -> np.ndarray:
        """Where ``values`` equal ``wanted`` (nowhere without one)."""
        if wanted is None:
            return np.zeros(self.n_clients, dtype=bool)
        return values.text_in([str(wanted)])

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
            keep &= self.stores.text_in(stores)
        if tier is not None:
            tiers = {tier} if isinstance(tier, str) else set(tier)
            keep &= self.tiers.text_in(tiers)
        if assigned_to is not None:
            keep &= self.assigned.text_in([str(assigned_to)])
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
