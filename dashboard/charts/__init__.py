"""DataFrame -> plotly Figure builders. No Streamlit calls: pages and sections draw the figures.

Every figure gets its size, fonts, colours and touch behaviour from
:func:`dashboard.charts.layout.layout`:

- :mod:`~dashboard.charts.layout`: theme colours, the layout helper, the empty figure;
- :mod:`~dashboard.charts.client`: the Client page (taste profile, activity);
- :mod:`~dashboard.charts.trends`: the Trends page (map, momentum, weekly demand, gaps);
- :mod:`~dashboard.charts.health`: the Model health page (metrics, lift, the tuner's search).
"""
