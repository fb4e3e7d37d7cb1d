"""The ``mycelium-bundle`` command: CLI, bundle configs, runs, input files, progress, summary.

:mod:`.run` runs a trading bundle from any layout a config describes (:mod:`.configs` finds the
shipped ones, :mod:`.factories` builds their actors); :mod:`.summary` and :mod:`.event_file` are
shared by every layout.
"""
