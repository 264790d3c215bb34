"""Pod networking with CNI: network configs, plugin chains, port maps, names.

The runtime's seam (:mod:`carpool.runtime.network`) uses
:class:`carpool.network.backend.CniBackend`; this package never imports the
runtime (it sits below it in the package order).

Modules: :mod:`config` (built-in ``default`` and ``<config dir>/net.d``),
:mod:`specs` (``--net NAME[:K=V;…]`` and ``--port NAME:[HOSTIP:]HOSTPORT``),
:mod:`plugin` (one CNI invocation), :mod:`commands` (plugins and iptables started
with ``posix_spawn``, not :mod:`subprocess`), :mod:`attachments` (ADD/DEL/CHECK of a chain,
recorded in ``<pod>/net/attachments.json``), :mod:`result` (results of every CNI
version), :mod:`iptables` (what the plugins leave behind), :mod:`masquerade`
(the built-in network's one NAT rule per subnet), :mod:`dns` (``/etc/hosts``,
``/etc/resolv.conf``), :mod:`backend` (all of it for one pod).

Deliberate differences from rkt, each for a reason:

* interfaces follow ``--net`` order (``--net=mynet,default``: mynet is eth0),
  not the file-name order of the configs;
* the default network adds the ``portmap`` plugin (``snat: true``), which sets
  ``route_localnet`` on the pod's host-side veth and masquerades 127.0.0.1
  sources, so forwarded ports answer on the host's 127.0.0.1 (rkt#1256, #1932,
  #2283); ports go to the first network whose chain accepts ``portMappings``;
  the built-in default chains portmap only for pods that map ports;
* the built-in default is masqueraded by carpool, one rule for the subnet while
  any pod uses it, not by ptp's ``ipMasq`` (a chain per pod: ~16 iptables calls
  per pod); at teardown its veth goes with the pod's netns (DEL runs without
  ``CNI_NETNS`` just before the runtime releases it), as deleting it in place
  costs ~30 ms of kernel time.  Together these bring what the default network
  adds to ``carpool run`` from ~100-130 ms to ~30-45 ms
  (``benchmarks/network.py``).  Chains from ``net.d`` run as written;
* host-local keeps its leases in ``<data dir>/networks`` (not /var/lib/cni), and
  DEL and CHECK use the configuration recorded at ADD, so editing ``net.d``
  cannot strand a lease (rkt#2265, #2319);
* clean-up goes further than the plugins' DEL: a pod's masquerade chain is
  removed even when its netns is gone, and portmap's and firewall's shared
  chains are removed with the last pod using them;
* ``CNI_ARGS`` always starts with ``IgnoreUnknown=1`` so that ``IP=`` reaches
  host-local without failing plugins that parse arguments strictly;
* ``--dns``, ``--dns-search`` and ``--dns-opt`` each replace only their part of
  ``resolv.conf``; the other parts come from the CNI result, else the host.
"""
