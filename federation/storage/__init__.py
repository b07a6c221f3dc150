"""Storage layer (DESIGN §6): Redis is the only store.

Owns: every key namespace (``keys``), the Redis client factory for every topology
(``client``: one server, Sentinel, Cluster; ``WAIT`` on replicas), the launcher for a real,
throwaway ``redis-server`` (``runtime``) used by the demo, ``idbridge serve
--embedded-redis`` and the test fixtures, and replicated topologies built from it
(``topology``: primary + replicas + sentinels).

May import: ``federation.settings``, ``federation.metrics`` and the standard library /
``redis``.
"""
