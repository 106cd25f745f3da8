"""The app's CSS: touch targets of 44 px or more, readable type, cards, no sideways scroll.

Selectors use Streamlit's stable ``data-testid`` attributes and the
``st-key-<key>`` classes it adds to keyed elements. The CSS is a constant
(no user data), so injecting it with ``unsafe_allow_html`` is safe.
"""

from __future__ import annotations

import streamlit as st

TOUCH_TARGET_PX = 44

CSS = f"""
<style>
/* Readable base size on a tablet held at arm's length. */
html, body, [data-testid="stAppViewContainer"] {{ font-size: 17px; }}
.stMarkdown p, .stMarkdown li {{
  font-size: 1rem; line-height: 1.5; overflow-wrap: anywhere;
}}
[data-testid="stCaptionContainer"] {{ font-size: 0.9rem; }}

/* Never scroll sideways: long names and ids wrap instead. */
html, body {{ overflow-x: hidden; }}
[data-testid="stMain"] {{ overflow-x: hidden; }}
[data-testid="stMainBlockContainer"] {{
  max-width: 100%; padding-left: 1.25rem; padding-right: 1.25rem; padding-top: 3.5rem;
}}
h1, h2, h3, h4 {{ overflow-wrap: anywhere; word-break: break-word; }}

/* Touch targets: buttons, links styled as buttons, inputs, selects, tabs. */
.stButton button, .stFormSubmitButton button, .stDownloadButton button,
[data-testid="stPageLink"] a, [data-testid="stPopover"] button,
[data-testid="stBaseButton-secondary"], [data-testid="stBaseButton-primary"],
[data-testid="stBaseButton-tertiary"], [data-testid="stBaseButton-secondaryFormSubmit"],
[data-testid="stBaseButton-primaryFormSubmit"] {{
  min-height: {TOUCH_TARGET_PX}px; min-width: {TOUCH_TARGET_PX}px;
}}
.stButton button p, [data-testid="stTopNavLink"] p, [data-testid="stTab"] p,
[data-testid="stExpander"] summary p, [data-testid="stPageLink"] p,
label[data-baseweb="checkbox"] p, [data-testid="stRadio"] label p {{ font-size: 1rem; }}
[data-testid="stWidgetLabel"] p {{ font-size: 0.95rem; }}
[data-testid="stTextInputRootElement"], [data-testid="stNumberInputContainer"],
.stTextInput input, .stNumberInput input, .stDateInput input {{ min-height: {TOUCH_TARGET_PX}px; }}
[data-testid="stTextInputRootElement"] button {{
  min-height: {TOUCH_TARGET_PX}px; min-width: {TOUCH_TARGET_PX}px;
}}
.stSelectbox [role="group"], .stSelectbox input, .stSelectbox button,
.stMultiSelect [role="group"], .stMultiSelect input, .stMultiSelect button {{
  min-height: {TOUCH_TARGET_PX}px;
}}
[data-baseweb="select"] > div {{ min-height: {TOUCH_TARGET_PX}px; }}
[data-testid="stCheckbox"] label, [data-testid="stToggle"] label,
[data-testid="stRadio"] label {{ min-height: {TOUCH_TARGET_PX}px; align-items: center; }}
[data-testid="stTab"], .stTabs [role="tab"] {{
  min-height: {TOUCH_TARGET_PX}px; padding: 0 1rem; font-size: 1rem;
  display: flex; align-items: center;
}}
[data-testid="stNumberInputContainer"] {{ min-height: {TOUCH_TARGET_PX}px; }}
[data-testid="stNumberInputField"] {{ min-height: {TOUCH_TARGET_PX - 2}px; }}
[data-testid="stNumberInputContainer"] input, [data-testid="stNumberInputContainer"] > div {{
  align-self: stretch;
}}
[data-testid="stNumberInputStepDown"], [data-testid="stNumberInputStepUp"] {{
  min-height: {TOUCH_TARGET_PX}px; min-width: {TOUCH_TARGET_PX}px;
}}
[data-testid="stSlider"] [role="group"] {{ min-height: {TOUCH_TARGET_PX}px; }}
/* The hover-only element toolbar (table search, fullscreen, "Download as CSV") is hidden:
   nothing may be hover-only on a tablet, and exports of client data go through audited
   actions only. */
[data-testid="stElementToolbar"] {{ display: none !important; }}
/* Help icons: a finger-sized target (tapping shows the text; nothing is hover-only).
   Negative margins keep the icon's place in the layout (metric labels stay aligned). */
[data-testid="stTooltipIcon"] button {{
  min-height: {TOUCH_TARGET_PX}px; min-width: {TOUCH_TARGET_PX}px;
  margin: -14px -14px -14px -14px;
  display: inline-flex; align-items: center; justify-content: center;
}}
[data-testid="stExpander"] summary {{ min-height: {TOUCH_TARGET_PX}px; }}
[data-testid="stSidebarNavLink"], [data-testid="stTopNavLink"] {{ min-height: {TOUCH_TARGET_PX}px; }}

/* Scripts of the frame (the sign-in cookie, the paste guard): drawn, never seen, and
   taking no room (their layout wrapper would add a gap to the page's flex column). */
.st-key-atelier-scripts, .st-key-atelier-paste-guard,
[data-testid="stLayoutWrapper"]:has(> .st-key-atelier-scripts),
[data-testid="stLayoutWrapper"]:has(> .st-key-atelier-paste-guard) {{ display: none; }}
/* What the paste guard says under a field when a paste went over its limit. */
.atelier-limit-note {{
  color: #8A1C1C; background: #FBEAEA; border: 1px solid #E8B4B4; border-radius: 8px;
  padding: 0.4rem 0.75rem; margin-top: 0.25rem; font-size: 0.95rem;
}}

/* The big search box of the lookup page. */
.st-key-lookup_query input {{ font-size: 1.25rem; min-height: 56px; }}

/* Result cards: the whole card is one button, left-aligned, two lines. */
.st-key-lookup_results .stButton button {{
  min-height: 72px; justify-content: flex-start; text-align: left;
  padding: 0.6rem 1rem; border-radius: 10px; white-space: normal;
}}
.st-key-lookup_results .stButton button > div,
.st-key-lookup_results .stButton button p {{ text-align: left; justify-content: flex-start; }}
.st-key-lookup_results .stButton button p {{ margin: 0; overflow-wrap: anywhere; }}

/* Cards and chips built as (escaped) HTML. */
.atelier-card {{
  border: 1px solid #DDD5C8; border-radius: 10px; padding: 0.75rem 1rem;
  background: #FFFFFF; margin-bottom: 0.5rem; overflow-wrap: anywhere;
}}
.atelier-card .title {{ font-weight: 600; font-size: 1.05rem; }}
.atelier-card .meta {{ color: #5F574D; font-size: 0.92rem; }}
.atelier-chip {{
  display: inline-block; padding: 0.2rem 0.65rem; margin: 0.15rem 0.3rem 0.15rem 0;
  border-radius: 999px; background: #F1ECE4; color: #1F1B16; font-size: 0.9rem;
  border: 1px solid #DDD5C8; max-width: 100%; overflow-wrap: anywhere;
}}
.atelier-chip.good {{ background: #E7F1E8; border-color: #B9D4BC; }}
.atelier-chip.warn {{ background: #FBEFD9; border-color: #E7C98F; }}
.atelier-chip.muted {{ background: #EEEEEE; color: #555555; }}
.atelier-chip.internal {{ background: #EDE7F6; border-color: #CBBDE6; }}
.atelier-contact {{ font-size: 1rem; margin: 0.25rem 0 0.5rem; overflow-wrap: anywhere; }}
.atelier-swatch {{
  display: inline-block; width: 1rem; height: 1rem; border-radius: 50%;
  border: 1px solid #BDB3A5; vertical-align: middle; margin-right: 0.35rem;
}}
</style>
"""


def inject_styles() -> None:
    """Add the app's CSS to the page (once per run, from the entrypoint)."""
    st.markdown(CSS, unsafe_allow_html=True)
