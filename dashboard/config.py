"""Settings, read from the environment with safe defaults.

Every setting has one name here and one environment variable; README.md lists them all and a
test checks that the two lists agree. ``create_app(overrides)`` and the CLI take overrides on top.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

#: The grey PDOK BRT-achtergrondkaart, used when DASHBOARD_TILE_URL is not set at all.
PDOK_GREY_TILES = (
    "https://service.pdok.nl/brt/achtergrondkaart/wmts/v2_0/grijs/EPSG:3857/{z}/{x}/{y}.png"
)


@dataclass(frozen=True)
class Settings:
    #: DuckDB analytics file (read-only for the web server; imports swap in a new version).
    db: Path = Path("instance/veiligheidsbeeld.duckdb")
    #: Flask secret key. Required outside demo mode; in demo mode one is generated and kept
    #: beside the database so that all gunicorn workers share it.
    secret_key: str = ""
    #: Base-map tile URL template; empty means no tiles (air-gapped installs, tests).
    tile_url: str = PDOK_GREY_TILES
    host: str = "127.0.0.1"
    port: int = 8050
    #: SQLite file for mutable application state: users, agreement profiles, protocol log.
    #: Default: ``appstate.sqlite`` beside the DuckDB database.
    state_db: Path | None = None
    #: PostgreSQL URL for the state instead (``postgresql://user@host:5432/name``): several app
    #: hosts then share users, sessions, protocol log, meldingen... Empty: the SQLite file.
    state_url: str = ""
    #: Minutes without a request after which a session ends.
    idle_minutes: float = 30.0
    #: Send the session cookie only over https (set when served behind TLS).
    secure_cookies: bool = False
    #: Compress responses (off when a reverse proxy in front compresses them already).
    compress: bool = True
    #: Meldingen: incidents registered at most this many days before an import or scan become
    #: meldingen (older history, e.g. a bulk or demo import, does not).
    melding_days: int = 7
    #: Seconds between two checks of the header's meldingen badge in the browser.
    melding_poll_seconds: float = 30.0
    #: Optional e-mail of new meldingen: SMTP server (empty host: no mail), sender, login.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = ""
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    #: DuckDB threads and memory per serving process.
    db_threads: int = 2
    db_memory_limit: str = "2GB"
    #: Requests per API token (Flask-Limiter notation) on the data-delivery API ``/api/v1/``.
    api_rate_limit: str = "120 per minute"
    #: Folder of the generated products' files (Rapportages). Default: ``products`` beside the
    #: DuckDB database.
    products_dir: Path | None = None
    #: Heavy actions (product generation, XLSX export) running at once on the whole server, at
    #: most one per user (``data/heavy.py``). Keep it below the number of gunicorn workers.
    heavy_slots: int = 1
    #: Redis for a cluster of app hosts (``redis://host:6379/N``): rate-limit counters, the
    #: session-generation cache and the shared caches. Empty: the embedded default (counters
    #: in the state database, per-process caches, no Redis).
    redis_url: str = ""
    #: This app instance's name on a cluster, sent as the ``X-Served-By`` response header (so
    #: an operator or a test sees which instance answered). Empty: no header.
    instance: str = ""
    #: Reverse proxies in front that append to ``X-Forwarded-For`` (a load balancer: 1). The
    #: client address of the login limits, API limits and the protocol log is then the one the
    #: nearest of them saw; 0 (no proxy) ignores the header, which a client could forge.
    proxies: int = 0
    #: Other origins (``https://host[:port]``, comma-separated) whose pages may post to this
    #: app, for a reverse proxy that changes the ``Host`` header on its way in. Empty: only
    #: pages served under the request's own host (dashboard/security.py: ``from_own_site``).
    origins: str = ""
    #: Background jobs (product generation, XLSX export, imports, ``reports run --due``, mail;
    #: ``data/jobs``): ``local`` runs them in a process pool beside each web process (no Redis),
    #: ``celery`` sends them through Redis (``DASHBOARD_REDIS_URL``) to a Celery worker
    #: (``celery -A dashboard.worker worker``).
    jobs: str = "local"
    #: Celery: seconds after which Redis hands a task that was not acknowledged (its worker was
    #: killed mid-job) to another worker. Longer than the longest job.
    jobs_visibility_timeout: int = 3600
    #: Test hook: seconds each job waits before its work (with progress), so a test can kill a
    #: worker mid-job. Honoured only on a demo database; 0 elsewhere.
    job_test_delay: float = 0.0
    #: Finished XLSX exports of background jobs: default ``exports`` beside the DuckDB database
    #: (shared by all workers and hosts, like the products folder); removed after a day.
    exports_dir: Path | None = None
    extra: dict = field(default_factory=dict)

    # -- the one resolution of paths ---------------------------------------------------------
    # Everything the application keeps lives beside the database *link* (``db``), never beside
    # the version file it points to: the version folder holds only DuckDB versions, which a
    # swap deletes. Nothing here follows the link (``Path.resolve``); every entry point (run,
    # the Procfile's gunicorn, each CLI command, the tests) takes these methods.

    def database_path(self) -> Path:
        """The database link as an absolute path, the link itself not followed."""
        return Path(os.path.abspath(self.db))

    def state_path(self) -> Path:
        return Path(os.path.abspath(self.state_db or self.database_path().parent / "appstate.sqlite"))

    def state_target(self) -> str | Path:
        """What ``StateDB`` opens: the PostgreSQL URL when set, else the SQLite file."""
        return self.state_url or self.state_path()

    def products_path(self) -> Path:
        return Path(os.path.abspath(self.products_dir or self.database_path().parent / "products"))

    def exports_path(self) -> Path:
        return Path(os.path.abspath(self.exports_dir or self.database_path().parent / "exports"))

    def secret_key_path(self) -> Path:
        """Demo mode's generated secret key, shared by every worker and every restart."""
        return self.database_path().parent / ".demo_secret_key"

    def resolved(self) -> "Settings":
        """The same settings with every path absolute (for handing to another process)."""
        return replace(self, db=self.database_path(), state_db=self.state_path(),
                       products_dir=self.products_path(), exports_dir=self.exports_path())

    def environment(self) -> dict[str, str]:
        """The path settings as environment variables, for a server process started from here."""
        paths = self.resolved()
        return {"DASHBOARD_DB": str(paths.db), "DASHBOARD_STATE_DB": str(paths.state_db),
                "DASHBOARD_PRODUCTS_DIR": str(paths.products_dir),
                "DASHBOARD_EXPORTS_DIR": str(paths.exports_dir),
                **({"DASHBOARD_STATE_URL": self.state_url} if self.state_url else {})}

    def with_overrides(self, overrides: dict | None) -> "Settings":
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        clean = {k: v for k, v in overrides.items() if k in known}
        for name in ("db", "state_db", "products_dir", "exports_dir"):
            if clean.get(name) is not None:
                clean[name] = Path(clean[name])
        extra = {k: v for k, v in overrides.items() if k not in known}
        return replace(self, **clean, extra={**self.extra, **extra})


def _boolean(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "ja", "on"):
        return True
    if text.strip().lower() in ("", "0", "false", "no", "nee", "off"):
        return False
    raise ValueError("expected true or false")


#: Environment variable -> (setting name, converter).
ENVIRONMENT = {
    "DASHBOARD_DB": ("db", Path),
    "DASHBOARD_SECRET_KEY": ("secret_key", str),
    "DASHBOARD_TILE_URL": ("tile_url", str),
    "DASHBOARD_HOST": ("host", str),
    "DASHBOARD_PORT": ("port", int),
    "DASHBOARD_STATE_DB": ("state_db", Path),
    "DASHBOARD_STATE_URL": ("state_url", str),
    "DASHBOARD_IDLE_MINUTES": ("idle_minutes", float),
    "DASHBOARD_SECURE_COOKIES": ("secure_cookies", _boolean),
    "DASHBOARD_COMPRESS": ("compress", _boolean),
    "DASHBOARD_MELDING_DAYS": ("melding_days", int),
    "DASHBOARD_MELDING_POLL_SECONDS": ("melding_poll_seconds", float),
    "DASHBOARD_SMTP_HOST": ("smtp_host", str),
    "DASHBOARD_SMTP_PORT": ("smtp_port", int),
    "DASHBOARD_SMTP_FROM": ("smtp_from", str),
    "DASHBOARD_SMTP_USER": ("smtp_user", str),
    "DASHBOARD_SMTP_PASSWORD": ("smtp_password", str),
    "DASHBOARD_SMTP_STARTTLS": ("smtp_starttls", _boolean),
    "DASHBOARD_DB_THREADS": ("db_threads", int),
    "DASHBOARD_DB_MEMORY": ("db_memory_limit", str),
    "DASHBOARD_API_RATE_LIMIT": ("api_rate_limit", str),
    "DASHBOARD_PRODUCTS_DIR": ("products_dir", Path),
    "DASHBOARD_HEAVY_SLOTS": ("heavy_slots", int),
    "DASHBOARD_REDIS_URL": ("redis_url", str),
    "DASHBOARD_INSTANCE": ("instance", str),
    "DASHBOARD_PROXIES": ("proxies", int),
    "DASHBOARD_ORIGINS": ("origins", str),
    "DASHBOARD_JOBS": ("jobs", str),
    "DASHBOARD_JOBS_VISIBILITY_TIMEOUT": ("jobs_visibility_timeout", int),
    "DASHBOARD_JOB_TEST_DELAY": ("job_test_delay", float),
    "DASHBOARD_EXPORTS_DIR": ("exports_dir", Path),
}


def from_environment(environ: dict | None = None) -> Settings:
    """Build settings from the environment. An empty DASHBOARD_TILE_URL means "no tiles"."""
    environ = os.environ if environ is None else environ
    values = {}
    for variable, (name, convert) in ENVIRONMENT.items():
        if variable in environ:
            try:
                values[name] = convert(environ[variable])
            except ValueError as exc:
                raise SystemExit(f"{variable}: invalid value {environ[variable]!r} ({exc})") from exc
    if values.get("jobs", "local") not in ("local", "celery"):
        raise SystemExit(f"DASHBOARD_JOBS: invalid value {values['jobs']!r} (local or celery)")
    return Settings(**values)
