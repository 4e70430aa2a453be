"""The browser view: ``streetsim viz`` (a Solara page over the Mesa street model, served with no
internet access).

``app.py`` holds the page (cards, map and charts, controls); ``model.py`` the view's model wrapper,
scenario list and controls; ``space.py`` the map on a Mesa discrete space; ``charts.py`` the
Altair drawings; ``vega.py`` the chart widget that swaps in each day's data; ``server.py`` the
offline, read-only Solara server. Mesa's SolaraViz is not used: its fixed sidebar (developer
controls, English-only buttons) and draggable grid (overlaps at 1280x800) could not be made to fit
a meeting room. Nothing here changes how the street model behaves.
"""
