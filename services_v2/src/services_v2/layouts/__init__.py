"""The layouts the pipeline is deployed in: one module per layout, and what they share.

The pipeline is the two trading services in a row: market data in, the market-data service
(``MarketDataProcessor``) finds signals, the signal generator (``SignalValidator``) turns them
into execution plans. A layout is where and how they run:

- :mod:`.sequential`: the domain objects called in a plain loop, no actors (``run_reference``,
  the oracle every other layout must agree with, and the floor of the hot-path figures; and
  ``faulted_reference``, the oracle of a run with injected faults).
- :mod:`.bundle`: the services as actors, placed as a bundle config says (``run_bundle``):
  ``bundles/monolith.toml`` (one process), ``bundles/relay.toml`` (the signal generator in a
  child process, over a Unix socket), or any config naming the same factories.

What they share sits below them: :mod:`.config` (``PipelineConfig``, the services' parameters,
and ``MAILBOX_CAPACITY``), :mod:`.feed` (``feed``, the one loop that streams events into a
market actor) and :mod:`.result` (``PipelineResult``, what every layout returns, and
``PipelineFailed``). Dependencies run one way: ``domain`` and ``latency`` <- ``actors`` <-
``layouts`` <- ``bundle`` (the ``mycelium-bundle`` command); the bench's naive baseline uses
``feed`` and ``MAILBOX_CAPACITY`` too.
"""
