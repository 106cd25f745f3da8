"""Text inputs that state their limit, and say so when a paste goes over it.

Streamlit's ``max_chars`` shows a counter and cuts any longer value on the
server, but in the browser a change that would go over the limit is ignored
whole: pasting 10,000 characters into a field of 2,000 leaves it as it was,
with no message (the text input's and text area's change handler drops any
value longer than ``max_chars``; the element has no ``maxlength``). So every
text input of the dashboard goes through :func:`limited_text`:

- its label states the limit ("... · up to 2,000 characters");
- ``max_chars`` keeps the counter, and keeps any longer value from reaching
  the app (the server cuts it too);
- the field sits in a container whose key carries the limit, and a small
  script (:data:`PASTE_GUARD_JS`, installed once per page by
  :func:`install_paste_guard`) catches a paste that would go over it: it
  pastes what fits and says, next to the field, how much was left out.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any, Literal

import streamlit as st

from core.store.common import ID_MAX, NAME_MAX, NOTE_MAX, TITLE_MAX
from core.store.users import PASSWORD_MAX

# The limit of every kind of field, declared once. Where the text is stored, the
# store's own limit (it refuses longer text); elsewhere, what the field needs.
ID_CHARS = ID_MAX
"""A user, client or target id."""
NAME_CHARS = NAME_MAX
"""A person's name."""
PASSWORD_CHARS = PASSWORD_MAX
"""A password."""
NOTE_CHARS = NOTE_MAX
"""An internal note on a list or an item."""
SEARCH_CHARS = 200
"""A search box (a name, an email, an id: far less is needed)."""
TITLE_CHARS = TITLE_MAX
"""A list's title."""
MESSAGE_CHARS = 1_000
"""The personal message of a lookbook (shown to the client)."""
CONSENT_NOTE_CHARS = 300
"""How a client gave a consent (the store takes up to NOTE_MAX)."""
DETAIL_CHARS = 500
"""The details of a removal reason (the reason and its details stay under REASON_MAX)."""
SIZE_CHARS = 8
"""A size typed on the gift form ("38", "M", "52")."""

LIMIT_PREFIX = "atelier-limit-"
"""Start of the key of the container around a limited field: ``atelier-limit-<n>-...``."""
GUARD_KEY = "atelier-paste-guard"
"""Key of the (hidden) container of the paste guard script."""

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def limit_label(label: str, limit: int) -> str:
    """``label`` followed by the limit: ``"Internal note · up to 2,000 characters"``."""
    return f"{label} · up to {limit:,} characters"


def container_key(key: str, limit: int) -> str:
    """The key of the container around the field ``key``: carries ``limit``, CSS-safe, unique."""
    digest = hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]
    return f"{LIMIT_PREFIX}{limit}-{_UNSAFE.sub('-', key)[:60]}-{digest}"


def limited_text(
    label: str,
    *,
    key: str,
    limit: int,
    kind: Literal["input", "area"] = "input",
    where: Any = None,
    **kwargs: Any,
) -> str:
    """A text input (or text area) that holds at most ``limit`` characters, and says so.

    Parameters
    ----------
    label : str
        The field's label; the limit is added to it (:func:`limit_label`).
    key : str
        The widget key (its value is ``st.session_state[key]``).
    limit : int
        The most characters the field holds (at least 1).
    kind : {"input", "area"}
        ``st.text_input`` or ``st.text_area``.
    where : container, optional
        Where to draw the field (a column, a form, ...); default: the current
        container.
    **kwargs
        Passed on to the Streamlit widget (``value``, ``placeholder``,
        ``type``, ``height``, ``autocomplete``, ...), except ``max_chars``.

    Returns
    -------
    str
        The field's value (never longer than ``limit``).

    Raises
    ------
    ValueError
        ``limit`` is below 1, or ``max_chars`` is passed (the limit is ``limit``).
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    if "max_chars" in kwargs:
        raise ValueError("pass the limit as limit=, not max_chars=")
    box = (where if where is not None else st).container(key=container_key(key, limit))
    widget = box.text_area if kind == "area" else box.text_input
    value = widget(limit_label(label, limit), key=key, max_chars=limit, **kwargs)
    return "" if value is None else str(value)


PASTE_GUARD_JS = r"""
<script>
(function () {
  if (window.__atelierPasteGuard) { return; }
  window.__atelierPasteGuard = true;
  var PREFIX = "st-key-__PREFIX__";
  function limitOf(field) {
    var box = field.closest('[class*="' + PREFIX + '"]');
    if (!box) { return null; }
    var match = new RegExp(PREFIX + "(\\d+)-").exec(box.className);
    return match ? { box: box, limit: parseInt(match[1], 10) } : null;
  }
  function fmt(n) { return n.toLocaleString("en-GB"); }
  function say(found, field, text) {
    var note = found.box.querySelector(".atelier-limit-note");
    if (!note) {
      note = document.createElement("div");
      note.className = "atelier-limit-note";
      note.setAttribute("role", "alert");
      found.box.appendChild(note);
    }
    note.textContent = text;
    if (!field.__atelierLimitNote) {
      field.__atelierLimitNote = true;
      // Gone once the text is shortened below the limit.
      field.addEventListener("input", function () {
        var shown = found.box.querySelector(".atelier-limit-note");
        if (shown && field.value.length < found.limit) { shown.remove(); }
      });
    }
  }
  document.addEventListener("paste", function (event) {
    var field = event.target;
    if (!(field instanceof HTMLTextAreaElement || field instanceof HTMLInputElement)) { return; }
    var found = limitOf(field);
    if (!found || !event.clipboardData) { return; }
    var pasted = event.clipboardData.getData("text");
    var start = field.selectionStart || 0, end = field.selectionEnd || 0;
    var kept = field.value.length - (end - start);
    if (kept + pasted.length <= found.limit) { return; }
    // Streamlit would ignore the whole change: paste what fits, and say what did not.
    event.preventDefault();
    var room = Math.max(found.limit - kept, 0);
    if (room > 0) { document.execCommand("insertText", false, pasted.slice(0, room)); }
    say(found, field,
      "Pasted text cut: " + fmt(pasted.length) + " characters pasted, " + fmt(room) +
      " kept. This field holds at most " + fmt(found.limit) +
      " characters; check the end of the text before saving.");
  }, true);
})();
</script>
""".replace("__PREFIX__", LIMIT_PREFIX)


def install_paste_guard() -> None:
    """Draw the paste guard (a script, in a hidden container); once per run, from the entrypoint.

    The script installs itself once per browser page, however many runs draw it.
    """
    with st.container(key=GUARD_KEY):
        st.html(PASTE_GUARD_JS, unsafe_allow_javascript=True)
