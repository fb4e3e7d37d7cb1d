"""The ``mycelium-bundle`` command: CLI, bundle configs, input files, progress, summary.

:mod:`.cli` runs a trading bundle with :func:`services_v2.layouts.bundle.run_bundle` (the
layouts are in :mod:`services_v2.layouts`); :mod:`.configs` finds the shipped configs and
:mod:`.factories` builds the actors they name (``factory = "services_v2.bundle.factories:..."``);
:mod:`.faults` is ``--faults``; :mod:`.event_file` reads and writes captures; :mod:`.progress`
and :mod:`.summary` report a run, in every layout alike.
"""
