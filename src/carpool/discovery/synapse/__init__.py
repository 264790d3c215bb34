"""synapse: watch the registry, keep local routers (HAProxy, files, console) up to date.

* :mod:`.config`: go-synapse's and Airbnb synapse's configurations, one model;
* :mod:`.watcher`: registry events to routable sets (availability, filters, fallbacks);
* :mod:`.router`: the debounced router base; :mod:`.haproxy` the HAProxy router,
  :mod:`.routers` the template and console routers;
* :mod:`.state`: the last-known-servers file; :mod:`.api`: the HTTP API;
* :mod:`.daemon`: :class:`~.daemon.Synapse`, what ``carpool synapse`` runs.
"""
