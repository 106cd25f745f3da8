"""Parts of pages that hold widgets with callbacks and session state.

Each section takes what it needs (a context, services handed out by
:mod:`dashboard.resources`) and draws itself; page scripts in ``app_pages/``
put sections together.
"""
