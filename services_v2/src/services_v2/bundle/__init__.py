"""The bundled monolith ``mycelium-bundle``: CLI, input files, progress and the summary.

:mod:`.summary` and :mod:`.event_file` are meant for reuse by every deployment (``--mode
actors``, ``--mode relay``); :mod:`.runners` is where a deployment plugs in.
"""
