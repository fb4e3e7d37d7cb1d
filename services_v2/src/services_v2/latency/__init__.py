"""The hot-path latency and how it is measured, in any layout (no actors, no event loop).

:mod:`.histogram` holds the samples (:class:`~.histogram.LatencyHistogram`, fixed memory,
bounded error); :mod:`.hot_path` is what the two services tell the probe
(:class:`~.hot_path.SwapsEntered`, :class:`~.hot_path.SignalsValidated`, sent in batches of at
most :data:`~.hot_path.PROBE_BATCH`) and how the probe pairs them
(:class:`~.hot_path.HotPathPairing`).
"""
