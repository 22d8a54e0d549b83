"""Which replicas are alive: each records a heartbeat in the shared database, and the jobs of
one that is gone are released to the others at once rather than when its leases lapse.

A replica is gone when its heartbeat is older than a lease, or (PostgreSQL) when it has been
silent for a few heartbeats and its identity lock is free: every replica holds a session lock
named after its `REPLICA_ID`, which PostgreSQL drops the moment the process dies (a SIGKILL
closes its connections). The lock also gives a default `REPLICA_ID` a stable name: the first
free `<hostname>-<n>`, so a bot killed and started again on the same host comes back under
the same id and holds its unfinished jobs at once. See README, "Running several replicas".
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable

from bot.store import JobStore, StoreWatch

log = logging.getLogger(__name__)

#: Names a default `REPLICA_ID` may take on one host: `<hostname>-0` ... `<hostname>-99`.
HOST_SLOTS = 100


async def stable_replica_id(store: JobStore, host: str | None = None) -> str | None:
    """The first `<hostname>-<n>` no live process holds, now held by this one; None if all
    are taken."""
    host = host or socket.gethostname()
    for n in range(HOST_SLOTS):
        name = f"{host}-{n}"
        if await store.lock_identity(name):
            return name
    return None


class Replicas:
    """This replica's heartbeat, and the forgetting (and releasing) of replicas that are gone."""

    def __init__(
        self,
        store: JobStore,
        *,
        replica_id: str,
        lease_seconds: float,
        watch: StoreWatch | None = None,
        on_count: Callable[[int], None] | None = None,
    ) -> None:
        """Heartbeats come every sixth of a lease (at most every 5 s); a replica silent for
        three of them whose identity lock is free, or silent for a whole lease, is gone.
        `on_count` hears the number of live replicas after each heartbeat (pacing splits
        Telegram's overall limit by it)."""
        self.replica_id = replica_id
        self.interval = min(lease_seconds / 6, 5.0)
        self.silent = 3 * self.interval
        self.stale = lease_seconds
        self._store = store
        self._watch = watch
        self._on_count = on_count
        self._started_at = time.time()
        self._up_since = time.monotonic()
        self._identity_held = True

    async def beat(self) -> int:
        """One heartbeat, and forget the replicas that are gone (releasing their jobs); how
        many replicas are alive now."""
        held = await self._store.keep_identity()
        if not held and self._identity_held:
            log.error(
                "replica %s: could not take its identity lock again (another process runs"
                " under this REPLICA_ID, or its old session lingers)",
                self.replica_id,
            )
        self._identity_held = held
        await self._store.heartbeat(self.replica_id, self._started_at)
        # Right after an outage every replica's lock session is new or not yet back: give
        # them `silent` seconds to come back before calling any of them gone.
        recovered = time.monotonic() - self._up_since >= self.silent
        gone = await self._store.forget_replicas(
            self.stale, silent=self.silent if recovered else None
        )
        for replica_id in gone:
            if replica_id != self.replica_id:
                log.warning("replica %s is gone: its jobs are taken over", replica_id)
        count = len(await self.live())
        if self._on_count is not None:
            self._on_count(count)
        return count

    async def join(self) -> None:
        """Record this replica before it takes any work. Nothing waits for the others to
        count it: the shared pacing budget keeps all of them under Telegram's overall limit
        whatever their number, which only matters again while the database is down."""
        try:
            await self.beat()
        except Exception:  # the heartbeat loop tries again; pacing starts from its own share
            log.warning("replica %s: could not record itself yet", self.replica_id)

    async def run(self) -> None:
        """Heartbeat until cancelled; a database outage pauses it."""
        while True:
            try:
                await self.beat()
            except Exception:
                if self._watch is not None and await self._watch.failed():
                    await self._watch.back()
                    self._up_since = time.monotonic()
                    continue
                log.exception("heartbeat failed; trying again")
            await asyncio.sleep(self.interval)

    async def live(self) -> list[tuple[str, float, float]]:
        """(id, started at, seconds since its heartbeat) of the replicas alive now."""
        return await self._store.live_replicas(self.stale)

    async def leave(self) -> None:
        """A clean stop: no longer counted among the live replicas."""
        try:
            await self._store.forget_replicas(self.stale, replica_id=self.replica_id)
        except Exception:
            log.warning("replica %s: could not remove its heartbeat; it expires", self.replica_id)
