"""How clients behave: the funnel per tier, channels per event type, and the rates of gifts, returns and noise."""

from __future__ import annotations

import numpy as np

from core.data.schema import CHANNELS, EVENT_TYPES

# Funnel per tier over EVENT_TYPES (returns are derived from purchases).
FUNNEL = np.array(
    [  # view  zoom  wish  e_open e_click try_on purchase return
        [0.56, 0.12, 0.06, 0.19, 0.05, 0.01, 0.01, 0.0],  # prospect
        [0.50, 0.12, 0.08, 0.19, 0.06, 0.025, 0.025, 0.0],  # client
        [0.47, 0.12, 0.09, 0.18, 0.06, 0.04, 0.04, 0.0],  # loyal
        [0.49, 0.12, 0.09, 0.14, 0.05, 0.05, 0.06, 0.0],  # vic
    ]
)
TIER_P = np.array([0.20, 0.45, 0.28, 0.07])
TIER_ACTIVITY = np.array([0.35, 0.75, 1.4, 3.8])
# Channel per event type, over CHANNELS (store, online, email, app, phone).
CHANNEL_P = np.array(
    [
        [0.10, 0.58, 0.0, 0.32, 0.0],  # view
        [0.0, 0.62, 0.0, 0.38, 0.0],  # zoom
        [0.12, 0.50, 0.0, 0.38, 0.0],  # wishlist
        [0.0, 0.0, 1.0, 0.0, 0.0],  # email_open
        [0.0, 0.0, 1.0, 0.0, 0.0],  # email_click
        [1.0, 0.0, 0.0, 0.0, 0.0],  # try_on
        [0.58, 0.24, 0.0, 0.12, 0.06],  # purchase
        [0.6, 0.4, 0.0, 0.0, 0.0],  # return
    ]
)
EVENT = {name: i for i, name in enumerate(EVENT_TYPES)}
CHANNEL = {name: i for i, name in enumerate(CHANNELS)}
NOISE = 0.12  # share of a client's demand that ignores their taste
EMAIL_NOISE = 0.5  # newsletters push the house's picks, not the client's
GIFT_RATE = 0.08
RETURN_RATE = 0.075  # a few returns fall after as_of and are dropped
VIEW_BEFORE_PURCHASE = 0.85
TRY_BEFORE_STORE_PURCHASE = 0.5
# The planted progression: a purchase of an entry piece (its segment's cheapest
# quarter) leads, this often, to its signature piece (the same rank in the
# segment's dearest quarter) 10 to 90 days later (``Catalogue.next_step``).
NEXT_STEP_RATE = 0.4
NEXT_STEP_DAYS = (10, 90)
RISING_PEAK = 0.55  # chance, on as_of's eve, that demand goes to the rising segment
# Derived events (views, try-ons, returns) and short histories, measured at
# the default sizes: base events = events_per_client / this factor.
CALIBRATION = 0.923
