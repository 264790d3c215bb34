"""The ZooKeeper registry (kazoo): ephemeral sequential nodes, children + data watches.

One :class:`ZooKeeperRegistry` is one ZooKeeper session.  Nothing here blocks the
caller on the network: kazoo connects in its own thread, a *reconciler* thread keeps
every registration in place, and one thread per watch reads the tree and calls back.

Behaviour, and where it deliberately differs from the originals (reference §1.3, §6.1):

* Connection states: on ``SUSPENDED`` nothing is deleted or re-created (the session, and
  so the node, survives until it expires: Airbnb nerve PR #99); on ``LOST`` every node is
  re-created as soon as a new session is up, and a periodic ``exists`` check (the
  *refresh*, 30 s by default rather than go-nerve's 5 min) repairs anything else.
* Protected create that works: after a connection loss during ``create`` the outcome is
  unknown, so before retrying the reconciler lists the children starting with the node's
  prefix and adopts the one whose ``ephemeralOwner`` is this session.  go-nerve searched
  for a ``_c_`` prefix its own names never have, and could leave orphan duplicates.
* Security (none in either original): with ``auth`` (e.g. a digest shared by the fleet's
  nerves), nodes get ``creator:all + world:read`` and the parents it creates
  ``creator:all + world:read,create``: synapses read, anonymous clients cannot overwrite
  or delete registrations.  Parents created earlier keep their ACLs.
* ``close()`` really closes the session (go-nerve's ``Close`` was a no-op), after deleting
  this process's nodes, so consumers see the removal at once.
* Watches re-read only what changed (a child's data watch fired, or new children), not
  every child on every event (the Airbnb synapse load problem), and re-sync fully after
  any reconnection (watches lost with an expired session, airbnb/synapse#287) - one
  coalesced re-sync per reconnection, not one per callback (#292).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from typing import Any

from kazoo.client import KazooClient, KazooState
from kazoo.exceptions import (
    ConnectionClosedError,
    ConnectionLoss,
    KazooException,
    NodeExistsError,
    NoNodeError,
    OperationTimeoutError,
    SessionExpiredError,
)
from kazoo.handlers.threading import KazooTimeoutError
from kazoo.protocol.states import WatchedEvent
from kazoo.retry import KazooRetry
from kazoo.security import (
    ACL,
    ANYONE_ID_UNSAFE,
    CREATOR_ALL_ACL,
    OPEN_ACL_UNSAFE,
    READ_ACL_UNSAFE,
    Permissions,
)

from carpool.discovery.registry import (
    DeliveringWatch,
    Registration,
    Registry,
    Watch,
    WatchCallback,
    WatchEvent,
    normalize_path,
)
from carpool.errors import DiscoveryError
from carpool.log import get_logger

log = get_logger(__name__)

#: Errors meaning "ZooKeeper did not answer (now)": retry later.
_TRANSIENT = (KazooException, KazooTimeoutError, ConnectionClosedError)
#: Of those, the ones that only mean "not connected": not worth a warning.
_CONNECTIVITY = (
    ConnectionLoss,
    SessionExpiredError,
    OperationTimeoutError,
    KazooTimeoutError,
    ConnectionClosedError,
)


class ZooKeeperRegistry(Registry):
    """A kazoo session shared by every registration and watch of one process."""

    def __init__(
        self,
        hosts: Sequence[str],
        *,
        session_timeout: float = 10.0,
        refresh_interval: float = 30.0,
        retry_interval: float = 0.5,
        connect_grace: float = 2.0,
        auth: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.hosts = tuple(hosts)
        self.session_timeout = session_timeout
        self.refresh_interval = refresh_interval
        self.retry_interval = retry_interval
        self.connect_grace = connect_grace
        self._client = KazooClient(
            hosts=",".join(self.hosts),
            timeout=session_timeout,
            # never give up reconnecting; come back quickly after an outage
            connection_retry=KazooRetry(max_tries=-1, delay=0.1, backoff=1.5, max_delay=1.0),
            command_retry=KazooRetry(max_tries=2, delay=0.1, max_delay=0.5),
            auth_data=list(auth) or None,
        )
        # Without auth: open ACLs, as both nerves.  With auth: everyone may read (synapses)
        # and create children, only the authenticated identity may change or delete
        # (ZooKeeper checks a delete against the *parent's* ACL).
        if auth:
            world_read_create = ACL(Permissions.READ | Permissions.CREATE, ANYONE_ID_UNSAFE)
            self.parent_acl = [*CREATOR_ALL_ACL, world_read_create]
            self.node_acl = [*CREATOR_ALL_ACL, *READ_ACL_UNSAFE]
        else:
            self.parent_acl = list(OPEN_ACL_UNSAFE)
            self.node_acl = list(OPEN_ACL_UNSAFE)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._connected_once = threading.Event()
        self._registrations: list[_ZkRegistration] = []
        self._watches: list[_ZkWatch] = []
        self._client.add_listener(self._on_state)
        self._client.start_async()
        self._reconciler = threading.Thread(
            target=self._reconcile_loop, name="zk-registry-reconciler", daemon=True
        )
        self._reconciler.start()

    # ------------------------------------------------------------------ plumbing

    @property
    def client(self) -> KazooClient:
        """The kazoo client (for tests and diagnostics)."""
        return self._client

    @property
    def connected(self) -> bool:
        return bool(self._client.connected)

    @property
    def session_id(self) -> int | None:
        """The current session id, None while not connected."""
        if not self._client.connected:
            return None
        client_id = self._client.client_id
        return int(client_id[0]) if client_id else None

    def call(self, fn_name: str, *args: Any, **kwargs: Any) -> Any:
        """Run a kazoo ``*_async`` call with a bound wait, so no thread hangs forever."""
        result = getattr(self._client, fn_name + "_async")(*args, **kwargs)
        return result.get(timeout=max(self.session_timeout, 2.0))

    def _on_state(self, state: str) -> None:
        # runs in kazoo's connection thread: must not block
        if state == KazooState.CONNECTED:
            self._connected_once.set()
            log.debug("zookeeper %s: connected", ",".join(self.hosts))
        elif state == KazooState.SUSPENDED and not self._closed.is_set():
            log.warning("zookeeper %s: connection suspended", ",".join(self.hosts))
        elif state == KazooState.LOST and not self._closed.is_set():
            log.warning("zookeeper %s: session lost", ",".join(self.hosts))
            with self._lock:
                for registration in self._registrations:
                    registration.session_lost()
        self._wake.set()
        with self._lock:
            watches = list(self._watches)
        for watch in watches:
            watch.on_state(state)

    def wake(self) -> None:
        self._wake.set()

    def _reconcile_loop(self) -> None:
        failing = False
        while not self._closed.is_set():
            self._wake.wait(self.retry_interval if failing else self.refresh_interval)
            self._wake.clear()
            if self._closed.is_set():
                break
            if not self._client.connected:
                failing = True
                continue
            with self._lock:
                registrations = list(self._registrations)
            failing = False
            for registration in registrations:
                try:
                    registration.reconcile()
                except _TRANSIENT as exc:
                    registration.note_failure(exc)
                    failing = True
                except Exception:  # a bug must not end registration for the process's life
                    log.exception("registration %s failed; will retry", registration.prefix)
                    failing = True
                if registration.finished:
                    with self._lock:
                        if registration in self._registrations:
                            self._registrations.remove(registration)

    # ------------------------------------------------------------------ Registry API

    def register(self, service_path: str, node_name_hint: str, payload: bytes) -> Registration:
        if self._closed.is_set():
            raise DiscoveryError("zookeeper registry is closed")
        if not node_name_hint or "/" in node_name_hint:
            raise DiscoveryError(f"node name {node_name_hint!r}: not a ZooKeeper child name")
        registration = _ZkRegistration(
            self, normalize_path(service_path, "service path"), node_name_hint, payload
        )
        with self._lock:
            self._registrations.append(registration)
        self._wake.set()
        return registration

    def watch(self, service_path: str, callback: WatchCallback) -> Watch:
        watch = _ZkWatch(self, normalize_path(service_path, "service path"), callback)
        with self._lock:
            self._watches.append(watch)
        watch.start()
        return watch

    def forget_watch(self, watch: _ZkWatch) -> None:
        with self._lock:
            if watch in self._watches:
                self._watches.remove(watch)

    def wait_connected(self, timeout: float) -> bool:
        """Block until connected (tests and ``--check`` use this)."""
        deadline = threading.Event()
        waited = 0.0
        while not self._client.connected and waited < timeout:
            deadline.wait(0.05)
            waited += 0.05
        return bool(self._client.connected)

    def close(self) -> None:
        if self._closed.is_set():
            return
        with self._lock:
            watches = list(self._watches)
            registrations = list(self._registrations)
        for watch in watches:
            watch.cancel()
        for registration in registrations:
            registration.remove()
        self._closed.set()
        self._wake.set()
        if threading.current_thread() is not self._reconciler:
            self._reconciler.join(timeout=5)
        try:
            self._client.stop()
            self._client.close()
        except Exception:  # closing must never fail the caller
            log.debug("closing kazoo client", exc_info=True)


class _ZkRegistration(Registration):
    """One ephemeral sequential node, kept in place by the registry's reconciler."""

    def __init__(self, registry: ZooKeeperRegistry, service_path: str, hint: str, payload: bytes):
        self._registry = registry
        self.service_path = service_path
        self.hint = hint
        self.prefix = f"{service_path.rstrip('/')}/{hint}"
        self._lock = threading.Lock()
        self._reconcile_lock = threading.Lock()
        self._payload = payload
        self._dirty = True
        self._removed = False
        self._node_path: str | None = None
        self._owner: int | None = None
        self._uncertain_create = False
        self._synced = threading.Event()
        self._last_failure = ""
        self.finished = False

    @property
    def node_name(self) -> str | None:
        path = self._node_path
        return path.rsplit("/", 1)[1] if path else None

    @property
    def path(self) -> str:
        return self._node_path or ""

    def update(self, payload: bytes) -> None:
        with self._lock:
            if payload == self._payload and not self._dirty:
                return
            self._payload = payload
            self._dirty = True
            self._synced.clear()
        self._registry.wake()

    def wait_registered(self, timeout: float) -> bool:
        return self._synced.wait(timeout)

    def note_failure(self, exc: BaseException) -> None:
        """Log why the node could not be kept: once per distinct problem."""
        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, _CONNECTIVITY) or message == self._last_failure:
            log.debug("registration %s: will retry: %s", self.prefix, message)
        else:
            log.warning("registration %s: %s (will retry)", self.prefix, message)
        self._last_failure = message

    def session_lost(self) -> None:
        """The node died with the session: wait_registered waits for its successor."""
        self._synced.clear()

    def remove(self) -> None:
        with self._lock:
            self._removed = True
            self._synced.clear()
        if self._registry.connected:
            try:  # delete now, so consumers see it at once; else the reconciler will
                self.reconcile()
            except _TRANSIENT:
                log.debug("deleting %s later", self.prefix)
        self._registry.wake()

    def reconcile(self) -> None:
        """Make ZooKeeper match the wanted state."""
        with self._reconcile_lock:
            self._reconcile()

    def _reconcile(self) -> None:
        with self._lock:
            removed, payload, dirty = self._removed, self._payload, self._dirty
            path, owner = self._node_path, self._owner
        session = self._registry.session_id
        if session is None:
            raise ConnectionClosedError("not connected")
        if removed:
            if path is not None and owner == session:
                with contextlib.suppress(NoNodeError):
                    self._registry.call("delete", path)
            self._node_path = None
            self.finished = True
            return
        if path is not None and owner == session:
            stat = self._registry.call("exists", path)
            if stat is not None and stat.ephemeralOwner == session:
                if dirty:
                    self._registry.call("set", path, payload)
                    self._mark_synced(payload)
                else:
                    self._synced.set()
                return
        # (re)create: first adopt a node a lost create may have made for this session
        created = self._find_own_node(session) if self._uncertain_create else None
        if created is None:
            self._ensure_parent()
            self._uncertain_create = True
            try:
                created = self._registry.call(
                    "create",
                    self.prefix,
                    payload,
                    acl=self._registry.node_acl,
                    ephemeral=True,
                    sequence=True,
                )
            except NodeExistsError:  # cannot happen with sequence nodes; be safe
                created = self._find_own_node(session)
                if created is None:
                    raise
            self._uncertain_create = False
        else:
            self._uncertain_create = False
            self._registry.call("set", created, payload)
        with self._lock:
            self._node_path, self._owner = str(created), session
        log.info("registered %s", created)
        self._last_failure = ""
        self._mark_synced(payload)

    def _mark_synced(self, payload: bytes) -> None:
        with self._lock:
            if payload == self._payload and not self._removed:
                self._dirty = False
                self._synced.set()

    def _ensure_parent(self) -> None:
        self._registry.call("ensure_path", self.service_path, acl=self._registry.parent_acl)

    def _find_own_node(self, session: int) -> str | None:
        try:
            children = self._registry.call("get_children", self.service_path)
        except NoNodeError:
            return None
        for child in children:
            if not child.startswith(self.hint):
                continue
            full = f"{self.service_path.rstrip('/')}/{child}"
            stat = self._registry.call("exists", full)
            if stat is not None and stat.ephemeralOwner == session:
                return full
        return None


class _ZkWatch(DeliveringWatch):
    """Children watch on a path plus a data watch on each child; full sets out."""

    def __init__(self, registry: ZooKeeperRegistry, path: str, callback: WatchCallback):
        super().__init__(path, callback)
        self._registry = registry
        self._trigger = threading.Event()
        self._cancelled = threading.Event()
        self._lock = threading.Lock()
        self._relist = True
        self._full = True
        self._dirty: set[str] = set()
        self._cache: dict[str, bytes] = {}
        self._thread = threading.Thread(target=self._run, name=f"zk-watch{path}", daemon=True)

    def start(self) -> None:
        self._trigger.set()
        self._thread.start()

    def cancel(self) -> None:
        self._cancelled.set()
        self._trigger.set()
        self._registry.forget_watch(self)
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout=5)

    def on_state(self, state: str) -> None:
        with self._lock:
            if state == KazooState.LOST:
                self._cache.clear()
            self._relist = self._full = True
        self._trigger.set()

    def _on_event(self, event: WatchedEvent) -> None:
        # kazoo's event thread: just note what changed
        with self._lock:
            if not event.path or event.path == self.path:
                self._relist = True
            else:
                self._dirty.add(event.path.rsplit("/", 1)[1])
        self._trigger.set()

    def _run(self) -> None:
        if not self._registry.connected:
            self._registry.wait_connected(self._registry.connect_grace)
        retry = False
        while not self._cancelled.is_set():
            if not self._trigger.wait(self._registry.retry_interval if retry else 60.0):
                with self._lock:  # periodic safety re-list
                    self._relist = True
            self._trigger.clear()
            if self._cancelled.is_set():
                break
            if not self._registry.connected:
                self._deliver(WatchEvent(self.path, reachable=False, error="not connected"))
                retry = False
                continue
            try:
                nodes = self._sync()
            except Exception as exc:
                if isinstance(exc, _TRANSIENT):
                    log.debug("watch %s: %r", self.path, exc)
                else:
                    log.exception("watch %s failed; will retry", self.path)
                with self._lock:
                    self._relist = self._full = True
                retry = True
                continue
            retry = False
            self._deliver(WatchEvent(self.path, nodes=nodes))

    def _sync(self) -> dict[str, bytes]:
        with self._lock:
            relist, full, dirty = self._relist, self._full, set(self._dirty)
            self._relist = self._full = False
            self._dirty.clear()
        cache = dict(self._cache)
        if relist or full:
            try:
                children = set(self._registry.call("get_children", self.path, self._on_event))
            except NoNodeError:
                # wait for the path to appear
                if self._registry.call("exists", self.path, self._on_event) is not None:
                    with self._lock:
                        self._relist = True
                    self._trigger.set()
                children = set()
            for gone in set(cache) - children:
                del cache[gone]
            wanted = children if full else (children - set(cache)) | (dirty & children)
        else:
            wanted = dirty & set(cache)
        for child in sorted(wanted):
            try:
                data, _stat = self._registry.call("get", f"{self.path}/{child}", self._on_event)
            except NoNodeError:
                cache.pop(child, None)
                continue
            cache[child] = bytes(data or b"")
        self._cache = cache
        return dict(cache)
