"""A Vega-Lite chart widget that redraws a new day by changing its data, not its spec.

See ``vega_chart.vue``: the spec (a cached template, see ``charts``) is embedded once; each step
sends only the named ``datasets``, which the running Vega view swaps in. A day is drawn in a
fraction of the time a full re-embed takes.
"""

from __future__ import annotations

import ipyvuetify as v
import traitlets


class VegaChart(v.VuetifyTemplate):
    template_file = (__file__, "vega_chart.vue")
    spec = traitlets.Dict().tag(sync=True)  # the Vega-Lite spec, without the changing data
    datasets = traitlets.Dict().tag(sync=True)  # name -> rows, for the spec's named data
