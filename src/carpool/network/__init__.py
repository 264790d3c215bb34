"""Pod networking with CNI: network configs, plugin chains, port maps, names.

The runtime's seam (:mod:`carpool.runtime.network`) imports
:class:`carpool.network.backend.CniBackend`; this package never imports the
runtime (it sits below it in the package order).
"""
