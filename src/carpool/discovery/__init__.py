"""SmartStack service discovery: nerve registers healthy instances, synapse routes to them.

* :mod:`carpool.discovery.payload`: the registration payloads of Airbnb nerve and
  go-nerve (read both, write either) and their node names.
* :mod:`carpool.discovery.registry`: where registrations live (ZooKeeper for fleets, an
  embedded file-based registry for one host).
* :mod:`carpool.discovery.nerve`: health checks, reporters, the ``carpool nerve`` daemon.
* :mod:`carpool.discovery.synapse`: watchers and routers (HAProxy), ``carpool synapse``.
"""
