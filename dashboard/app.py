"""Atelier's entrypoint: page config, styles, start-up, sign-in gate, navigation by role.

Run with ``streamlit run dashboard/app.py``. Pages live in ``app_pages/``;
which ones a user sees is decided by :data:`dashboard.state.PAGES` (and every
page checks the role again itself).
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy.exc import DBAPIError

from core.app.bootstrap import format_credentials
from core.exceptions import AtelierError, DataValidationError
from core.store import StoreFullError
from dashboard import auth, resources, state
from dashboard.widgets.banners import show_database_down, show_database_full, show_faults
from dashboard.widgets.limited_text import install_paste_guard
from dashboard.widgets.styles import inject_styles

# The URL path of the (hidden) page at "/". A comment, not a docstring: a bare string
# in the entrypoint would be drawn on the page by Streamlit's "magic".
START_PATH = "start"


def show_start_error(err: AtelierError, data_dir: object) -> None:
    """Say why Atelier cannot start, then stop the run."""
    if isinstance(err, DataValidationError):
        st.error(f"The data in {data_dir} could not be loaded; nothing was changed.")
        st.code(err.report(), language=None)
    else:
        st.error(str(err))
    st.stop()


def start_up() -> resources.Bundle:
    """Data, model, database and demo users; a progress box the first time only."""
    settings = resources.get_settings()
    if resources.is_ready(settings):
        try:
            return resources.get_bundle()  # all cached: no progress box, no start-up writes
        except AtelierError as err:  # e.g. a data file replaced by an invalid one
            show_start_error(err, settings.data_dir)
    box = st.empty()
    with box.container(), st.status("Preparing Atelier…", expanded=True) as status:
        bar = st.progress(0.0, text="Starting")

        def progress(message: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

        try:
            bundle, creds = resources.start(settings, progress)
        except AtelierError as err:
            status.update(label="Atelier could not start", state="error")
            show_start_error(err, settings.data_dir)
        except DBAPIError:
            status.update(label="Atelier could not start", state="error", expanded=False)
            raise
        status.update(label="Atelier is ready", state="complete", expanded=False)
    box.empty()
    if creds:
        # The terminal of whoever started the app, never the browser.
        print(format_credentials(creds), flush=True)
    return bundle


def signed_out_navigation() -> st.Page:
    """Every page URL shows the sign-in form (never "Page not found").

    A page's identity is its URL path, so after signing in the same URL opens
    the page itself; the URL asked for is remembered to check the role then.
    """
    signin = st.Page(state.SIGNIN_PATH, title="Sign in", icon=":material/login:", default=True)
    stand_ins = [
        st.Page(state.SIGNIN_PATH, title="Sign in", url_path=spec.key, visibility="hidden")
        for spec in state.PAGES
    ]
    page = st.navigation([signin, *stand_ins], position="hidden")
    st.session_state[state.REQUESTED_PAGE] = page.url_path or None
    return page


def start_page(target: state.PageSpec) -> st.Page:
    """The page at "/": it only moves on to ``target``, which then has its own URL.

    Streamlit gives the default page no URL of its own ("/lookup" of a default
    Lookup page is "Page not found"), so no real page is the default: each
    answers at its URL, and a reload or a bookmark finds it.
    """

    def go() -> None:
        st.switch_page(target.path)

    return st.Page(go, title=target.title, url_path=START_PATH, default=True, visibility="hidden")


def signed_in_navigation(user: object) -> st.Page:
    """The role's pages in the menu; a generated password leads to the Account page only.

    The pages of other roles are registered hidden, so opening one by URL
    reaches its own require_role and a clear "not available for your role"
    message instead of a silent redirect.
    """
    forced = auth.must_change_password(user)
    allowed = state.pages_for(str(getattr(user, "role", "")))
    shown = {auth.PASSWORD_PAGE} if forced else {spec.key for spec in allowed}
    home = state.page_spec(auth.PASSWORD_PAGE) if forced or not allowed else allowed[0]
    pages = [start_page(home)] + [
        st.Page(
            spec.path,
            title=spec.title,
            icon=spec.icon,
            url_path=spec.key,
            visibility="visible" if spec.key in shown else "hidden",
        )
        for spec in state.PAGES
    ]
    page = st.navigation(pages, position="top")
    if forced and page.url_path not in ("", auth.PASSWORD_PAGE):
        st.switch_page(home.path)
    if st.session_state.get(state.GO_HOME):
        # Signed in at the URL of a page this role may not open: the start page instead.
        st.session_state[state.GO_HOME] = False
        if page.url_path and page.url_path not in {spec.key for spec in allowed}:
            st.switch_page(home.path)
    return page


def main() -> None:
    """Start up, say what Atelier works around, sign in, and run the page asked for."""
    start_up()
    show_faults(resources.get_settings())
    try:
        authenticator = auth.get_authenticator()
    except AtelierError as err:  # e.g. an invalid [sso] section in the secrets
        show_start_error(err, resources.get_settings().data_dir)
    user = authenticator.current_user()
    authenticator.sync_cookie()
    if user is None:
        page = signed_out_navigation()
    else:
        page = signed_in_navigation(user)
        if page.url_path != "client":
            # Leaving the Client page ends that "open": coming back is a new, audited view.
            st.session_state[state.VIEWED_CLIENT] = None
    page.run()


st.set_page_config(
    page_title="Atelier",
    page_icon="🧵",
    layout="wide",
    initial_sidebar_state="collapsed",
    menu_items={"About": "Atelier: open-source clienteling for luxury retail."},
)
inject_styles()
install_paste_guard()
state.init_state()
try:
    main()
except DBAPIError as err:  # the database is down or unreachable: a clear page, not a trace
    show_database_down(resources.get_settings().resolved_database_url, err)
except StoreFullError as err:  # a write the page needed found no room: said, nothing lost
    show_database_full(err)
