"""PostgreSQL connection strings: parse, build, mask and re-target ``postgresql://`` URIs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from linkgress.errors import LinkgressError

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 5432
DEFAULT_USER = "postgres"
DEFAULT_DATABASE = "postgres"
_SCHEMES = ("postgresql", "postgres")


@dataclass(frozen=True)
class DsnTarget:
    """Where to connect. ``host`` may be a hostname, an IP, a socket directory or a host list."""

    host: str | None = None
    port: int | None = None
    database: str | None = None
    user: str | None = None
    password: str | None = None
    options: tuple[tuple[str, str], ...] = ()  # other DSN query parameters (sslmode, ...)

    def with_defaults(self) -> DsnTarget:
        multi_host = self.host is not None and "," in self.host
        return replace(
            self,
            host=self.host or DEFAULT_HOST,
            port=self.port if self.port is not None or multi_host else DEFAULT_PORT,
            database=self.database or DEFAULT_DATABASE,
            user=self.user or DEFAULT_USER,
        )

    def to_dsn(self, *, mask_password: bool = False) -> str:
        userinfo = quote(self.user or "", safe="")
        if self.password:
            userinfo += ":" + ("***" if mask_password else quote(self.password, safe=""))
        query = list(self.options)
        host = self.host or ""
        if host.startswith("/"):  # a Unix socket directory only fits in the query
            query[:0] = [("host", host)] + ([("port", str(self.port))] if self.port else [])
            hostport = ""
        else:
            if ":" in host and "," not in host and not host.startswith("["):
                host = f"[{host}]"  # IPv6 literal
            hostport = host if self.port is None else f"{host}:{self.port}"
        netloc = f"{userinfo}@{hostport}" if userinfo else hostport
        dsn = f"postgresql://{netloc}/{quote(self.database or '', safe='')}"
        if query:
            dsn += "?" + urlencode(query, quote_via=quote, safe="/")
        return dsn


def parse_port(raw: str, source: str) -> int:
    try:
        port = int(raw)
    except ValueError:
        raise LinkgressError(f"{source} must be an integer port, got {raw!r}") from None
    if not 0 < port < 65536:
        raise LinkgressError(f"{source} must be a port between 1 and 65535, got {port!r}")
    return port


def parse_dsn(dsn: str) -> DsnTarget:
    """Split a ``postgresql://`` URI into its parts, the way asyncpg reads it."""
    parts = urlsplit(dsn)
    if parts.scheme not in _SCHEMES:
        raise LinkgressError(f"expected a postgresql:// DSN, got {mask_dsn(dsn)!r}")
    userinfo, _, hostspec = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    host, port = _host_port(hostspec)
    target = DsnTarget(
        host=host or None,
        port=port,
        database=unquote(parts.path.lstrip("/")) or None,
        user=unquote(user) or None,
        password=unquote(password) or None,
    )
    return _with_query(target, parts.query)


def _host_port(hostspec: str) -> tuple[str | None, int | None]:
    """The host and port of a URI's ``host[:port]`` part (``[v6]:port``, or several hosts)."""
    if "," in hostspec:
        return hostspec, None  # several hosts: kept verbatim, each may carry its own port
    if hostspec.startswith("["):
        inside, _, rest = hostspec[1:].partition("]")
        if rest.startswith(":") and rest[1:]:
            return inside, parse_port(rest[1:], "the DSN's port")
        return inside, None
    if not hostspec:
        return None, None
    name, colon, raw_port = hostspec.rpartition(":")
    if colon:
        return unquote(name), parse_port(raw_port, "the DSN's port")
    return unquote(hostspec), None


def _with_query(target: DsnTarget, query: str) -> DsnTarget:
    """``target`` completed by the URI's query parameters; the unknown ones become options."""
    options: list[tuple[str, str]] = []
    for key, value in parse_qsl(query, keep_blank_values=True):
        # As in asyncpg: a query parameter only fills what the URI itself left out.
        if key == "host":
            target = replace(target, host=target.host or value or None)
        elif key == "port":
            if target.port is None and value:
                target = replace(target, port=parse_port(value, "the DSN's port"))
        elif key in ("dbname", "database"):
            target = replace(target, database=target.database or value or None)
        elif key == "user":
            target = replace(target, user=target.user or value or None)
        elif key == "password":
            target = replace(target, password=target.password or value or None)
        else:
            options.append((key, value))
    return replace(target, options=tuple(options))


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def parse_flag(raw: str, source: str) -> bool:
    """``"1"``/``"true"``/``"yes"``/``"on"`` -> True, ``"0"``/``"false"``/``"no"``/``"off"``/``""``
    -> False (any case); anything else is a :class:`LinkgressError` naming ``source``."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise LinkgressError(f"{source} must be true or false (1/0, yes/no, on/off), got {raw!r}")


def pop_option(target: DsnTarget, name: str) -> tuple[DsnTarget, str | None]:
    """``target`` without the DSN query parameter ``name``, and its last value (None if absent).

    Used for linkgress's own parameters (``?pgbouncer=true``), which asyncpg must not see.
    """
    values = [value for key, value in target.options if key == name]
    rest = tuple((key, value) for key, value in target.options if key != name)
    return replace(target, options=rest), (values[-1] if values else None)


def mask_dsn(dsn: str) -> str:
    """Return ``dsn`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(dsn)
    userinfo, _, hostspec = parts.netloc.rpartition("@")
    user, colon, _password = userinfo.partition(":")
    netloc = f"{user}:***@{hostspec}" if colon and _password else parts.netloc
    query = "&".join(
        "password=***" if pair.startswith("password=") else pair for pair in parts.query.split("&")
    )
    return parts._replace(netloc=netloc, query=query).geturl()


def build_dsn(
    *,
    host: str,
    port: int | None = None,
    database: str,
    user: str,
    password: str | None = None,
) -> str:
    """Return a ``postgresql://`` URI; ``host`` may be a Unix socket directory (``/run/pg``)."""
    return DsnTarget(host=host, port=port, database=database, user=user, password=password).to_dsn()


def dsn_with_database(dsn: str, database: str) -> str:
    """Return ``dsn`` pointing at ``database`` instead (any ``dbname`` parameter is replaced)."""
    return replace(parse_dsn(dsn), database=database).to_dsn()


# --- where the database comes from: one rule for PgClient.from_env() and the CLI ------------

DB_ENV_VARS = ("DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD")
PRODUCTION_ENV_VARS = ("LINKGRESS_ENV", "APP_ENV")


def checked_url(value: str, source: str) -> str:
    """``value`` stripped, when it is a usable ``postgresql://`` URL; otherwise a
    :class:`LinkgressError` naming ``source`` (an empty CI secret must never fall back to
    another database)."""
    if not value.strip():
        raise LinkgressError(f"{source} is set but empty; set it to a postgresql:// URL "
                             "(or unset it)")
    try:
        parse_dsn(value.strip())
    except LinkgressError as exc:
        raise LinkgressError(f"{source} is malformed: {exc}") from None
    except ValueError as exc:  # urlsplit: e.g. an invalid IPv6 address
        raise LinkgressError(f"{source} is malformed ({exc}): {mask_dsn(value)!r}") from None
    return value.strip()


def embedded_refusal(environ: Mapping[str, str]) -> str | None:
    """Why the embedded fallback may not be used here (``LINKGRESS_ENV``/``APP_ENV`` is
    ``production``, or ``CI`` is set), or None."""
    for var in PRODUCTION_ENV_VARS:
        if environ.get(var, "").strip().lower() == "production":
            return f"{var}=production"
    ci = environ.get("CI", "").strip().lower()
    if ci and ci not in ("0", "false", "no"):
        return f"CI={environ['CI']}"
    return None


def database_from_env(environ: Mapping[str, str]) -> str | None:
    """The DSN the environment configures, or None for the embedded PostgreSQL.

    The one rule shared by :meth:`linkgress.PgClient.from_env` and the ``linkgress`` command:

    1. ``DATABASE_URL`` set: that URL (empty or malformed is an error naming it);
    2. else any of ``DB_HOST``/``DB_PORT``/``DB_NAME``/``DB_USER``/``DB_PASSWORD`` set: those
       (missing ones default to localhost, 5432, postgres, postgres, no password; a present
       but empty one, ``DB_PASSWORD`` excepted, is an error naming it);
    3. else nothing is configured: a :class:`LinkgressError` naming ``DATABASE_URL`` when
       ``LINKGRESS_ENV``/``APP_ENV`` is ``production`` or ``CI`` is set; otherwise None.
    """
    if "DATABASE_URL" in environ:
        return checked_url(environ["DATABASE_URL"], "DATABASE_URL")
    present = [var for var in DB_ENV_VARS if var in environ]
    if not present:
        refusal = embedded_refusal(environ)
        if refusal is not None:
            raise LinkgressError(
                "no database configured: set DATABASE_URL (or DB_HOST, DB_PORT, DB_NAME, "
                f"DB_USER, DB_PASSWORD); the embedded PostgreSQL is not used when {refusal}")
        return None
    for var in present:
        if var != "DB_PASSWORD" and not environ[var].strip():
            raise LinkgressError(f"{var} is set but empty; give it a value (or unset it)")
    raw_port = environ.get("DB_PORT", "").strip()
    return DsnTarget(
        host=environ.get("DB_HOST", "").strip() or None,
        port=parse_port(raw_port, "DB_PORT") if raw_port else None,
        database=environ.get("DB_NAME", "").strip() or None,
        user=environ.get("DB_USER", "").strip() or None,
        password=environ.get("DB_PASSWORD") or None,
    ).with_defaults().to_dsn()
