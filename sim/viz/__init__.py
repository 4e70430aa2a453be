"""The browser view: ``streetsim viz`` (Mesa SolaraViz, served with no internet access).

``app.py`` holds the page; ``model.py`` the view's model wrapper and controls; ``space.py`` the
map on a Mesa discrete space; ``charts.py`` the Altair drawings; ``server.py`` the offline
Solara server. Nothing here changes how the street model behaves.
"""
