"""Every Redis key the bridge writes, in one place.

All keys start with ``idb:``. Lifetimes are set where the keys are written; the comment
beside each namespace says what it holds and whether it must be durable (DESIGN §6:
consent and audit writes survive a crash once acknowledged).

Where they live: the journey's keys (``journey``, ``upstream_state``, ``upstream_ticket``),
``rate_limit`` counters and ``upstream_cache`` entries go to the ephemeral Redis
(``IDBRIDGE_EPHEMERAL_REDIS_URL``, default the durable one); everything else to the
durable Redis, whose writes are acknowledged after ``WAIT`` when replicas are configured
(``federation.storage.client``). Redis Cluster hash tags: none yet — the keys that one Lua
script or MULTI touches together, and the tag each would need, are listed in
docs/operations.md ("Redis Cluster: what remains").
"""

from __future__ import annotations

PREFIX = "idb:"


class Keys:
    """Key builders. Use these; never spell a key by hand elsewhere."""

    # --- short-lived journey state (TTL) -----------------------------------------------
    @staticmethod
    def journey(journey_id: str) -> str:
        """Hash: one login journey (authorize → upstream → mapping → consent). TTL ≈ 15 min."""
        return f"{PREFIX}journey:{journey_id}"

    @staticmethod
    def journey_finished(journey_id: str) -> str:
        """String (JSON): a finished journey's client and consent id, so that Back or a
        reload shows "you have already finished". TTL = the journey's."""
        return f"{PREFIX}journey-finished:{journey_id}"

    @staticmethod
    def upstream_state(state: str) -> str:
        """String: upstream ``state`` → journey id. TTL = upstream callback window."""
        return f"{PREFIX}upstream-state:{state}"

    @staticmethod
    def upstream_ticket(ticket_id: str) -> str:
        """String: upstream attribute-request ticket (iAM Smart ``ticketID``) → journey id.
        TTL = the journey's."""
        return f"{PREFIX}upstream-ticket:{ticket_id}"

    @staticmethod
    def par(request_uri_id: str) -> str:
        """String: a pushed authorization request (RFC 9126). TTL 60 s."""
        return f"{PREFIX}par:{request_uri_id}"

    @staticmethod
    def auth_code(code_hash: str) -> str:
        """Hash: an authorization code, keyed by its SM3 digest. TTL ≤ 60 s."""
        return f"{PREFIX}code:{code_hash}"

    @staticmethod
    def access_token(token_hash: str) -> str:
        """Hash: an access token by digest. TTL = token lifetime."""
        return f"{PREFIX}at:{token_hash}"

    @staticmethod
    def refresh_token(token_hash: str) -> str:
        """Hash: a refresh token by digest, with its family id. TTL = refresh lifetime."""
        return f"{PREFIX}rt:{token_hash}"

    @staticmethod
    def token_family(family_id: str) -> str:
        """Set: digests of every token issued from one code (revoked together)."""
        return f"{PREFIX}family:{family_id}"

    @staticmethod
    def grants_for(subject: str, client_id: str) -> str:
        """Set: token family ids a subject holds at a client (revocation by consent)."""
        return f"{PREFIX}grants:{subject}:{client_id}"

    @staticmethod
    def session(session_id: str) -> str:
        """Hash: the person's bridge session (sid), for prompt/max_age and logout."""
        return f"{PREFIX}session:{session_id}"

    @staticmethod
    def initial_access_token(token_hash: str) -> str:
        """Hash: an initial access token for dynamic registration (label, quota, used,
        expires_at), keyed by the SM3 digest of its value; expires with the token
        (``federation.oidc.onboarding``)."""
        return f"{PREFIX}iat:{token_hash}"

    ONBOARDINGS = f"{PREFIX}onboardings"
    """Hash: initial access token id → its SM3 digest (the onboardings an operator issued)."""

    DYNAMIC_CLIENTS = f"{PREFIX}dynamic-clients"
    """Hash: client_id → JSON ``{registered_at, onboarding}`` of every dynamically
    registered client (``idbridge clients list``)."""

    @staticmethod
    def journeys_by_address(bucket: str) -> str:
        """Sorted set: journeys an address (IPv6: its /64) has open before the upstream
        login, scored by their expiry (``federation.journey.admission``). TTL = the
        pre-login journey's."""
        return f"{PREFIX}journeys-by-address:{bucket}"

    @staticmethod
    def journey_client(digest: str) -> str:
        """String: a client's metadata as journeys embed it, stored once per distinct
        content (SHA-256 hex) and shared by every journey of that client. TTL = the
        journey's, renewed by each journey write."""
        return f"{PREFIX}journey-client:{digest}"

    @staticmethod
    def session_tokens(session_id: str) -> str:
        """Set: token family ids bound to a bridge session (no ``offline_access``),
        revoked when the session ends (``federation.oidc.session_tokens``)."""
        return f"{PREFIX}session-tokens:{session_id}"

    @staticmethod
    def nonce_seen(client_id: str, nonce_hash: str) -> str:
        """String: replay guard for nonces / client assertion ``jti``. TTL = validity."""
        return f"{PREFIX}seen:{client_id}:{nonce_hash}"

    @staticmethod
    def selfservice_login(login_id: str) -> str:
        """Hash: a self-service sign-in under way (state, nonce, PKCE verifier). TTL ≈ the
        journey's; deleted when its callback arrives."""
        return f"{PREFIX}selfservice-login:{login_id}"

    @staticmethod
    def selfservice_session(token_hash: str) -> str:
        """Hash: a signed-in self-service session (bridge subject, ID token), keyed by the
        SM3 digest of its cookie. TTL ≈ 15 min."""
        return f"{PREFIX}selfservice:{token_hash}"

    # --- registry ----------------------------------------------------------------------
    @staticmethod
    def client_jwks(client_id: str) -> str:
        """String (JSON): a client's key set fetched from its ``jwks_uri``. TTL = its
        ``Cache-Control`` max-age within the configured bounds (a cache, not durable)."""
        return f"{PREFIX}client-jwks:{client_id}"

    @staticmethod
    def client_jwks_refetch(client_id: str) -> str:
        """String: set while a re-fetch of a client's ``jwks_uri`` on an unknown ``kid`` is
        rate-limited. TTL = the minimum interval between re-fetches."""
        return f"{PREFIX}client-jwks-refetch:{client_id}"

    @staticmethod
    def client(client_id: str) -> str:
        """String (JSON): a dynamically registered client (static ones come from YAML)."""
        return f"{PREFIX}client:{client_id}"

    CLIENT_NAMES = f"{PREFIX}client-names"
    """Hash: SM3 of each comparison key of a dynamic client's name → its client id (names
    people can tell apart, ``federation.oidc.client_names``). Durable."""

    # --- consent (durable) ---------------------------------------------------------------
    @staticmethod
    def consent(consent_id: str) -> str:
        """Hash: one consent record (DESIGN §5). Durable."""
        return f"{PREFIX}consent:{consent_id}"

    @staticmethod
    def consents_by_subject(subject: str) -> str:
        """Sorted set: consent ids of a subject by time given. Durable."""
        return f"{PREFIX}consents:subject:{subject}"

    @staticmethod
    def consents_by_client(client_id: str) -> str:
        """Sorted set: consent ids at a client by time given. Durable."""
        return f"{PREFIX}consents:client:{client_id}"

    @staticmethod
    def remembered_consent(subject: str, client_id: str) -> str:
        """String: id of the active consent a subject gave a client. Durable."""
        return f"{PREFIX}consent-current:{subject}:{client_id}"

    @staticmethod
    def pii(record_id: str) -> str:
        """String: SM4-GCM sealed person-supplied attributes (AAD = record id). Durable."""
        return f"{PREFIX}pii:{record_id}"

    @staticmethod
    def consent_events(consent_id: str) -> str:
        """List: audit stream ids of the events about one consent record, oldest first.
        Durable."""
        return f"{PREFIX}consent-events:{consent_id}"

    CONSENTS_ALL = f"{PREFIX}consents:all"
    """Sorted set: every consent id by time given (ms), for operator search. Durable."""

    CONSENTS_EXPIRY = f"{PREFIX}consents:expiry"
    """Sorted set: ids of active consents that expire, by expiry (epoch s). Durable."""

    AUDIT_STREAM = f"{PREFIX}audit"
    """Stream: the audit chain (SM3-linked entries, SM2-signed checkpoints). Durable."""

    AUDIT_HEAD = f"{PREFIX}audit:head"
    """Hash: sequence number and hash of the last audit entry. Durable."""

    AUDIT_VERIFIED = f"{PREFIX}audit:verified"
    """Hash: the last ``idbridge audit verify`` result (``ok`` 1/0, ``ts``, ``seq``), read
    by ``/metrics``. Durable."""

    # --- consent transparency log (issue 15; durable) ----------------------------------
    # Every key of shard ``s`` carries the hash tag ``{audit:<s>}``, so on Redis Cluster a
    # shard's stream, head and leaf hashes share one slot and a consent record tagged the
    # same way is written atomically with its leaf (one Lua script, one slot). The signed
    # tree head's keys share ``{audit:sth}``.
    @staticmethod
    def audit_tag(shard: int) -> str:
        """The hash tag of one log shard: ``{audit:<shard>}``."""
        return f"{{audit:{shard}}}"

    @staticmethod
    def audit_log(shard: int) -> str:
        """Stream: the entries (Merkle leaves) of one log shard, in leaf order. Durable."""
        return f"{PREFIX}{{audit:{shard}}}:log"

    @staticmethod
    def audit_log_head(shard: int) -> str:
        """Hash: one shard's tree — ``size``, ``root``, ``frontier``, last ``id``. Durable."""
        return f"{PREFIX}{{audit:{shard}}}:head"

    @staticmethod
    def audit_log_leaves(shard: int) -> str:
        """List: one shard's leaf hashes (hex) in order, for proofs. Durable."""
        return f"{PREFIX}{{audit:{shard}}}:leaves"

    AUDIT_STH = f"{PREFIX}{{audit:sth}}:last"
    """Hash: the last signed tree head (``n``, ``jws``, ``hash``, ``ts``, ``total``). Durable."""

    AUDIT_STH_COUNT = f"{PREFIX}{{audit:sth}}:count"
    """String counter: entries appended to the log, for the tree-head cadence. Durable."""

    AUDIT_STH_LOCK = f"{PREFIX}{{audit:sth}}:lock"
    """String: the worker signing the next tree head. TTL 10 s."""

    @staticmethod
    def audit_cosignature(witness: str) -> str:
        """Hash: a witness's last co-signature (``n``, ``jws``, ``ts``). Durable."""
        return f"{PREFIX}{{audit:sth}}:cosig:{witness}"

    # --- operators (durable) -------------------------------------------------------------
    @staticmethod
    def operator(username: str) -> str:
        """Hash: an operator account (argon2id hash, TOTP secret sealed, role)."""
        return f"{PREFIX}operator:{username}"

    OPERATORS = f"{PREFIX}operators"
    """Set: every operator username (for listing). Durable."""

    @staticmethod
    def operator_session(token_hash: str) -> str:
        """Hash: an operator bearer token by its SM3 digest (username, role). TTL ≈ 15 min."""
        return f"{PREFIX}operator-session:{token_hash}"

    @staticmethod
    def operator_offboarding(request_id: str) -> str:
        """Hash: a four-eyes request to withdraw every consent of one relying party
        (requested by one operator, approved by another). Durable."""
        return f"{PREFIX}operators:offboarding:{request_id}"

    OPERATOR_OFFBOARDINGS = f"{PREFIX}operators:offboardings"
    """Sorted set: offboarding request ids by time requested (epoch s). Durable."""

    # --- counters and caches ---------------------------------------------------------
    @staticmethod
    def stats_day(kind: str, day: str) -> str:
        """Hash: the console's activity counters of one Hong Kong day (``kind`` is
        ``consents`` or ``logins``; fields ``<event>|<client_id>``). TTL ≈ 100 days."""
        return f"{PREFIX}stats:{kind}:{day}"

    @staticmethod
    def stats_expiry(client_id: str) -> str:
        """Sorted set: one relying party's active consents by expiry (epoch s), kept by the
        console's counters as consents are given and end (its "expiring" figure)."""
        return f"{PREFIX}stats:expiry:{client_id}"

    STATS_CLIENTS = f"{PREFIX}stats:clients"
    """Set: client ids the counters have seen (the console's relying-party choices)."""

    STATS_AUDIT_VERIFIED = f"{PREFIX}stats:audit-verified"
    """Hash: the last "verify the chain now" result (ok, seq, at, problem)."""

    @staticmethod
    def rate_limit(bucket: str, key: str, window: int) -> str:
        """String counter: requests in one fixed window. TTL = window length."""
        return f"{PREFIX}rl:{bucket}:{key}:{window}"

    @staticmethod
    def upstream_cache(connector_id: str, name: str) -> str:
        """String: connector cache entry (e.g. the iAM Smart CEK). TTL = its expiry."""
        return f"{PREFIX}cache:{connector_id}:{name}"


DURABLE_PREFIXES: tuple[str, ...] = (
    f"{PREFIX}consent",
    f"{PREFIX}pii:",
    f"{PREFIX}audit",
    f"{PREFIX}{{audit",
    f"{PREFIX}operator:",
    f"{PREFIX}operators",
    f"{PREFIX}client:",
    f"{PREFIX}client-names",
)
"""Namespaces whose acknowledged writes must survive a crash (AOF fsync always / WAIT)."""
