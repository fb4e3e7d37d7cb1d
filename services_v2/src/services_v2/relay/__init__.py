"""The relay deployment: the two services in two OS processes, over a Unix socket.

The market-data service runs in the calling process and reaches the signal generator through
a ``RemoteActorRef[SignalMessage]``; the signal generator runs in a child process
(``python -m services_v2.relay.signal_service``) behind an ``ActorServer``. It is the seed's
"relay" baseline and rollback path: the same domain objects, the same summary, the same signals
as the in-process bundle, with a process boundary on the hot path.
"""
