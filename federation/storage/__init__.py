"""Storage layer (DESIGN §6): Redis is the only store.

Owns: every key namespace (``keys``), the Redis client factory (``client``) and the
launcher for a real, throwaway ``redis-server`` (``runtime``) used by the demo,
``idbridge serve --embedded-redis`` and the test fixtures.

May import: ``federation.settings`` and the standard library / ``redis``.
"""
