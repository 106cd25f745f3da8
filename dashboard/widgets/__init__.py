"""Pure rendering: safe text, chips, swatches, cards, styles. No callbacks, no services.

Every piece of user-provided text goes through :mod:`dashboard.widgets.text`
(``safe`` for Markdown, ``safe_html`` for HTML cards) before it is drawn.
"""
