"""The ingestion service's semantics and our own limits, as named data.

Each number cites its source: PROTOCOL.md (the service and the official SDKs)
or DESIGN.md (our contract). Pure constants: cheap to import from az.
"""

from __future__ import annotations

# --- Endpoint (PROTOCOL.md, "Endpoint and connection string") ---
DEFAULT_INGESTION_ENDPOINT = "https://dc.services.visualstudio.com"
TRACK_PATH = "/v2.1/track"  # the current Python exporter always uses v2.1
LEGACY_TRACK_PATH = "/v2/track"  # same body, no Entra ID tokens
CONNECTION_STRING_MAX_CHARS = 4096
CONNECTION_STRING_ENV_VARS = ("APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_CONNECTION_STRING")

# --- Envelope (PROTOCOL.md, "Envelope of a custom event"; DESIGN.md, "Contract — the event") ---
ENVELOPE_NAME = "Microsoft.ApplicationInsights.Event"
BASE_TYPE = "EventData"
EVENT_NAME = "cli_command_executed"
BASE_DATA_VERSION = 2
CLOUD_ROLE = "az-prototype"
SDK_NAME = "azprototype"  # ai.internal.sdkVersion is NAME:SEMVER, at most 64 chars
SDK_VERSION_MAX_CHARS = 64
TIME_WINDOW_PAST_SECONDS = 48 * 3600  # older envelope times get an item-level 400
TIME_WINDOW_FUTURE_SECONDS = 2 * 3600

# --- Limits (PROTOCOL.md, "Limits") ---
MAX_ITEM_BYTES = 64 * 1024  # "Telemetry item length must not exceed 65536"
MAX_PROPERTY_KEY_CHARS = 150
MAX_PROPERTY_VALUE_CHARS = 8192

# --- Batching (DESIGN.md, "Rules that shape the flow") ---
BATCH_MAX_ITEMS = 512  # the service takes up to 64,000 items per request; the SDKs send 100-512
BATCH_MAX_BYTES = 1_000_000  # "about 1 MB", measured before gzip

# --- Responses (PROTOCOL.md, "Response") ---
STATUS_PARTIAL = 206
REDIRECT_STATUSES = frozenset({307, 308})
MAX_REDIRECTS = 10
REDIRECT_CACHE_DEFAULT_SECONDS = 12 * 3600  # .NET caches for max-age or 12 h
REDIRECT_CACHE_MAX_SECONDS = 24 * 3600  # our bound on max-age: a stale regional host is never pinned for long
# Where a redirect (from the service or remembered in state.json) may lead: the service's documented
# ingestion endpoint suffixes (public cloud, Azure China, Azure US Government) and the legacy global
# host, which redirects to regional ones. Anything else is refused (a state.json may be planted).
INGESTION_HOST_SUFFIXES = (".applicationinsights.azure.com", ".applicationinsights.azure.cn", ".applicationinsights.us")
LEGACY_INGESTION_HOSTS = frozenset({"dc.services.visualstudio.com"})
MAX_HOST_CHARS = 253  # a DNS name's length limit: longer "hosts" in a Location are refused
# The Python SDKs retry these whole requests.
RETRIABLE_STATUSES = frozenset({401, 403, 408, 429, 500, 502, 503, 504})
# Item-level statuses inside a 206 that are worth re-sending (.NET channel), less 439
# (daily cap: PROTOCOL.md's table says drop).
RETRIABLE_ITEM_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# Invalid data, wrong regional endpoint, quota, daily cap: never retry.
PERMANENT_STATUSES = frozenset({400, 402, 404, 439})
SAMPLED_OUT_MESSAGE = "Telemetry sampled out."  # an item error that counts as accepted

# --- Backoff (PROTOCOL.md; DESIGN.md, "Contract — details") ---
RETRY_AFTER_CAP_SECONDS = 3600  # Retry-After honoured, capped at 1 h
BACKOFF_SLOT_SECONDS = 10  # .NET: 10 s slot, exponential, randomized
BACKOFF_CAP_SECONDS = 3600
OFFLINE_BACKOFF_CAP_SECONDS = 60  # plain connection failures: never wait longer than a minute
CONNECT_TIMEOUT_SECONDS = 5
READ_TIMEOUT_SECONDS = 10

# --- Spool (DESIGN.md, "Contract — details") ---
RETENTION_SECONDS = 7 * 24 * 3600
SPOOL_CAP_BYTES = 10 * 1024 * 1024
REJECTED_CAP_BYTES = 1024 * 1024
QUARANTINE_CAP_BYTES = 1024 * 1024
LOG_CAP_BYTES = 2 * 1024 * 1024
SENDER_LIFETIME_SECONDS = 60
LEASE_SECONDS = 120  # longer than a sender's lifetime: a live sender never loses its lease
LEASE_MAX_AHEAD_SECONDS = 24 * 3600  # a deadline further ahead was written by a wrong clock: released

# --- Sender housekeeping (added by the sender; DESIGN.md, "Contract — details") ---
STALE_TEMP_SECONDS = 3600  # a temp file this old belongs to a writer that died
MAX_RESPONSE_BYTES = 1024 * 1024  # read no more of a response body than this
USER_AGENT_PRODUCT = "az-prototype-telemetry-sender"
