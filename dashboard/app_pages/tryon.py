"""Try-on session: suggestions from what a walk-in (or a client without consent) tries on.

Nothing of the session is stored and no client's history is read; see
:mod:`dashboard.sections.tryon` and :mod:`core.app.tryon`.
"""

from __future__ import annotations

import streamlit as st

from core.exceptions import AtelierError
from dashboard import auth, resources
from dashboard.sections import tryon
from dashboard.widgets.text import safe

user = auth.require_role("tryon")
bundle = resources.get_bundle()
svc = resources.get_tryon(bundle)
session = tryon.current(svc, user)

tryon.render_header(svc, user, session)
tryon.render_recorder(svc, user, session, resources.get_curation(bundle).product_labels)
tryon.render_pieces(svc, user, session)
try:
    tryon.render_suggestions(svc, user, session)
except AtelierError as err:
    st.error(safe(str(err), 500))
