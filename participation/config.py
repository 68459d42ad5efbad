"""Configuration: defaults per environment, overridden from the process environment.

Every variable is listed in `.env.example`. Values are read when the app is created, not at
import, so that tests and the CLI see the environment they run in.
"""
from __future__ import annotations

import os
import re
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


# Abuse-limit counts and hashing settings that the environment may set (whole numbers;
# participation/limits.py lists what each limit counts).
COUNT_SETTINGS = ("LOGIN_MAX_FAILURES", "LOGIN_IP_MAX_FAILURES", "LOGIN_IP_BURST_FAILURES",
                  "LOGIN_SUBNET_MAX_FAILURES",
                  "LOGIN_SLOW_CHECKS", "REGISTRATION_LIMIT", "SUBMISSION_LIMIT", "SUBMISSION_IP_LIMIT",
                  "RESET_REQUEST_LIMIT", "RESET_REQUEST_IP_LIMIT", "VERIFICATION_RESEND_LIMIT", "ARGON2_MAX_CONCURRENT", "ARGON2_NICE",
                  "TWO_FACTOR_MAX_FAILURES", "TWO_FACTOR_IP_MAX_FAILURES", "AUDIT_IP_RETENTION_DAYS",
                  "API_RATE_LIMIT", "API_IP_RATE_LIMIT")


class ConfigError(RuntimeError):
    """The configuration would make the app unsafe or unusable."""


# Session cookies and CSRF tokens are signed with SECRET_KEY; a short key can be guessed offline
# from one signed cookie. Every environment needs this much, tests and development included.
MIN_SECRET_KEY_BYTES = 32
GENERATE_KEY_HINT = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'


def secret_key_problem(key, source: str = "FLASK_SECRET_KEY") -> str | None:
    """Why `key` cannot sign sessions (None when it can): missing, or shorter than 32 bytes."""
    if not key:
        return f"{source} is not set; generate one with {GENERATE_KEY_HINT}"
    size = len(key.encode() if isinstance(key, str) else key)
    if size < MIN_SECRET_KEY_BYTES:
        return (f"{source} must be at least {MIN_SECRET_KEY_BYTES} bytes of random data, not {size}; "
                f"generate one with {GENERATE_KEY_HINT}")
    return None


def instance_dir() -> Path:
    """Where the SQLite database, uploads and the development secret live."""
    return Path(os.environ.get("INSTANCE_PATH") or BASE_DIR / "instance").resolve()


def normalize_database_url(url: str) -> str:
    """Point plain PostgreSQL URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def env_flag(name: str) -> bool:
    """True when an environment variable is set to a truthy word."""
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _count_or_text(value: str) -> int | str:
    """`value` as an integer when it is one; otherwise unchanged, for `validate` to refuse by name."""
    try:
        return int(value.strip())
    except ValueError:
        return value


def _development_secret_key() -> str:
    """A random key kept in instance/ so that development sessions survive restarts."""
    path = instance_dir() / "secret_key"
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key
    problem = secret_key_problem(key, source=str(path))
    if problem:
        raise ConfigError(f"{problem} (or delete the file to have a new key generated)")
    return key


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    DEBUG = False
    TESTING = False
    SECRET_KEY: str | None = None
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    SQLITE_BUSY_TIMEOUT_MS = 15000

    # Sessions: an idle timeout and an absolute lifetime, both enforced server-side.
    SESSION_IDLE_TIMEOUT = timedelta(minutes=30)
    SESSION_ABSOLUTE_LIFETIME = timedelta(hours=12)
    PERMANENT_SESSION_LIFETIME = SESSION_ABSOLUTE_LIFETIME
    SESSION_COOKIE_NAME = "mt_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True

    # CSRF tokens live at least as long as the session they belong to.
    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = int(SESSION_ABSOLUTE_LIFETIME.total_seconds())

    # Login throttling (participation/auth/throttle.py): failed password checks within a sliding
    # window, per account, per client IP and per network (IPv4 /24, IPv6 /64). Over the account's
    # limit an address that has not failed on it may still try, LOGIN_SLOW_CHECKS per interval.
    LOGIN_MAX_FAILURES = 10
    LOGIN_IP_MAX_FAILURES = 10
    LOGIN_SUBNET_MAX_FAILURES = 30
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)
    # ... and, per client IP, at most this many within a minute (a burst is spaced out).
    LOGIN_IP_BURST_FAILURES = 3
    LOGIN_IP_BURST_WINDOW = timedelta(minutes=1)
    LOGIN_SLOW_CHECKS = 1
    LOGIN_SLOW_INTERVAL = timedelta(seconds=30)

    # Abuse limits (participation/limits.py), counted in the database per client IP or account.
    REGISTRATION_LIMIT = 10
    REGISTRATION_WINDOW = timedelta(hours=1)
    # A registration form sent sooner than this after it was opened is taken for a robot.
    REGISTRATION_MIN_FILL_TIME = timedelta(seconds=3)
    SUBMISSION_LIMIT = 20
    SUBMISSION_IP_LIMIT = 200
    SUBMISSION_WINDOW = timedelta(hours=1)
    RESET_REQUEST_LIMIT = 3
    RESET_REQUEST_IP_LIMIT = 10
    RESET_REQUEST_WINDOW = timedelta(hours=1)
    # Account recovery (participation/auth/recovery.py): a reset link lives this long (and dies
    # sooner when the password changes or the sessions end); a verification link this long.
    PASSWORD_RESET_LIFETIME = timedelta(minutes=30)
    EMAIL_VERIFICATION_LIFETIME = timedelta(days=7)
    # A reset request is answered no sooner than this after it arrived, whether or not an account
    # has the address (the known address's one extra row is then invisible; BENCHMARKS.md).
    PASSWORD_RESET_MIN_ANSWER_TIME = timedelta(milliseconds=150)
    # "Send the confirmation again" per account.
    VERIFICATION_RESEND_LIMIT = 3
    VERIFICATION_RESEND_WINDOW = timedelta(hours=1)
    # Staff two-factor codes (participation/auth/two_factor.py): failed code checks (TOTP or
    # recovery code) per account and per client IP within the window; a pending second step
    # (password accepted, code not yet) lasts TWO_FACTOR_PENDING_LIFETIME.
    TWO_FACTOR_MAX_FAILURES = 5
    TWO_FACTOR_IP_MAX_FAILURES = 20
    TWO_FACTOR_FAILURE_WINDOW = timedelta(minutes=15)
    TWO_FACTOR_PENDING_LIFETIME = timedelta(minutes=5)
    # The API (participation/api): requests per personal token and per client IP (with or without
    # a token) within the window, counted in the database like the limits above.
    API_RATE_LIMIT = 120
    API_IP_RATE_LIMIT = 300
    API_RATE_WINDOW = timedelta(minutes=1)
    # Personal access tokens (participation/auth/api_tokens.py): the expiry offered on the account
    # page, and the furthest one allowed.
    API_TOKEN_DEFAULT_LIFETIME = timedelta(days=90)
    API_TOKEN_MAX_LIFETIME = timedelta(days=365)

    # argon2id parameters (RFC 9106, second recommended option); tests lower them.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4
    # How many password hashes may run at once on one host (across its workers), and how long a
    # request waits for a turn before it is answered 503 with Retry-After instead of queueing
    # (0: at once; a waiting request holds a worker that pages need).
    ARGON2_MAX_CONCURRENT = max(1, (os.cpu_count() or 2) // 2)
    ARGON2_SLOT_WAIT = timedelta(0)
    # Hashes run in threads at this nice value (0 to 19; 0: in the request's own thread), so that
    # pages get the CPU first while sign-ins are being checked (BENCHMARKS.md, login flood).
    ARGON2_NICE = 19

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    CITY_NAME = "Kota Harapan Jaya"
    # The city's Kemendagri code ("33.72": Kota Surakarta): kelurahan and kecamatan are then chosen
    # from its official list (participation/places.py, idn-area-data). Unset: free-text places.
    CITY_CODE: str | None = None
    INSTITUTION_NAME = "Badan Perencanaan Pembangunan Daerah"
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    # Drafts one business may keep in one session (submitted proposals have their own limit).
    MAX_DRAFTS_PER_BUSINESS = 10
    # Imports: rows in one web upload (the command line takes up to imports.MAX_ROWS), and what an
    # XLSX may unpack to before it is parsed: in all, per web upload or command-line file, and the
    # compression ratio of any member larger than 1 MiB.
    IMPORT_MAX_ROWS_WEB = 20_000  # a file over IMPORT_INLINE_ROWS rows is imported by the worker
    XLSX_MAX_UNPACKED_BYTES_WEB = 48 * 1024 * 1024
    XLSX_MAX_UNPACKED_BYTES = 512 * 1024 * 1024
    XLSX_MAX_COMPRESSION_RATIO = 200
    # Background jobs (participation/jobs): a web upload with more rows than this, or a PDF with
    # more letters, is handed to the worker (`flask run-jobs`) and followed on its own page; a job
    # whose worker stops answering is taken up again after its lease.
    IMPORT_INLINE_ROWS = 1_000
    DOCUMENTS_INLINE_LETTERS = 150
    JOB_LEASE = timedelta(minutes=15)
    # Personal data (participation/privacy): IP addresses in the audit log and in finished jobs are
    # dropped after this many days, by the worker's daily housekeeping or `flask prune-audit-ips`.
    AUDIT_IP_RETENTION_DAYS = 365
    SEND_FILE_MAX_AGE_DEFAULT = 3600
    SEED_DEMO_ALLOWED = True
    # How many reverse proxies (load balancer, nginx) stand in front of the app; their
    # X-Forwarded-* headers are believed for that many hops. 0 believes none of them.
    TRUSTED_PROXIES = 0
    # Browser origins allowed to call /api/v1 across sites (CORS), separated by commas, such as
    # "https://data.example.go.id". Empty: no CORS headers, browsers keep other sites out.
    API_CORS_ORIGINS = ""
    # Strict-Transport-Security max-age in seconds (0: the header is not sent; production: a year).
    HSTS_MAX_AGE = 0
    # /.well-known/security.txt (RFC 9116): where to report a vulnerability, as mailto:, https: or
    # tel: URIs separated by spaces or commas (a bare e-mail address becomes mailto:). Unset, the
    # address of MAIL_DEFAULT_SENDER is used; with neither, the file is not published (404).
    SECURITY_CONTACT: str | None = None
    # How far ahead its Expires lies (RFC 9116 recommends under a year); it is computed per request.
    SECURITY_TXT_LIFETIME = timedelta(days=180)
    # The public address of the site (https://musrenbang.example.go.id), for absolute links that
    # must not come from the request's Host header; security.txt names its Canonical URL from it.
    PUBLIC_BASE_URL: str | None = None
    # Links in messages when PUBLIC_BASE_URL is unset (development and tests: the address `make
    # run` serves); production requires PUBLIC_BASE_URL. Never the request's Host header.
    DEFAULT_PUBLIC_BASE_URL = "http://127.0.0.1:5000"
    # Mail (Flask-Mail's names, DESIGN §8): SMTP when MAIL_SERVER is set, otherwise the messages
    # are written as .eml files under instance/mail/. Flask-Mail suppresses sending in testing
    # unless told otherwise; the tests run a real SMTP server.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_SUPPRESS_SEND = False
    # Seconds an SMTP connection may take to answer before the attempt counts as failed.
    MAIL_TIMEOUT = 30
    # The notification worker (participation/notifications/delivery.py): how many due messages
    # one worker takes at a time, and how long it holds them; a lapsed lease makes them due again.
    NOTIFICATION_BATCH = 10
    NOTIFICATION_LEASE = timedelta(minutes=10)
    # The local hour (BABEL_DEFAULT_TIMEZONE) from which the daily digest and the staff's daily
    # summary are written (participation/notifications/schedule.py).
    NOTIFICATION_DIGEST_HOUR = 7
    # Where stored files' bytes live (participation/object_store.py): unset, in the database; set
    # to s3://BUCKET/PREFIX?endpoint=https://host:port&region=REGION (credentials from the AWS_*
    # variables, or s3://KEY:SECRET@BUCKET/...), in that S3-compatible bucket.
    STORAGE_URL: str | None = None

    ENVIRON = {
        "FLASK_SECRET_KEY": "SECRET_KEY",
        "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
        "CITY_NAME": "CITY_NAME",
        "CITY_CODE": "CITY_CODE",
        "INSTITUTION_NAME": "INSTITUTION_NAME",
        "APP_TIMEZONE": "BABEL_DEFAULT_TIMEZONE",
        "SECURITY_CONTACT": "SECURITY_CONTACT",
        "PUBLIC_BASE_URL": "PUBLIC_BASE_URL",
        "STORAGE_URL": "STORAGE_URL",
        "MAIL_SERVER": "MAIL_SERVER",
        "MAIL_USERNAME": "MAIL_USERNAME",
        "MAIL_PASSWORD": "MAIL_PASSWORD",
        "MAIL_DEFAULT_SENDER": "MAIL_DEFAULT_SENDER",
        "API_CORS_ORIGINS": "API_CORS_ORIGINS",
    }

    @classmethod
    def from_environ(cls) -> dict:
        """Settings taken from the process environment when the app is created."""
        values = {key: os.environ[var] for var, key in cls.ENVIRON.items() if os.environ.get(var)}
        if "SQLALCHEMY_DATABASE_URI" in values:
            values["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(
                values["SQLALCHEMY_DATABASE_URI"]
            )
        else:
            values["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_dir() / 'participation.db'}"
        if os.environ.get("SESSION_IDLE_MINUTES"):
            values["SESSION_IDLE_TIMEOUT"] = timedelta(minutes=int(os.environ["SESSION_IDLE_MINUTES"]))
        if os.environ.get("TRUSTED_PROXIES", "").strip():
            values["TRUSTED_PROXIES"] = _count_or_text(os.environ["TRUSTED_PROXIES"])
        for name in COUNT_SETTINGS:
            if os.environ.get(name, "").strip():
                values[name] = _count_or_text(os.environ[name])
        if os.environ.get("MAIL_PORT", "").strip():
            values["MAIL_PORT"] = _count_or_text(os.environ["MAIL_PORT"])
        for name in ("MAIL_USE_TLS", "MAIL_USE_SSL"):
            if os.environ.get(name, "").strip():
                values[name] = env_flag(name)
        return values

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse settings that cannot work."""
        problem = secret_key_problem(config.get("SECRET_KEY"))
        if problem:
            raise ConfigError(problem)
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigError("no database configured")
        proxies = config.get("TRUSTED_PROXIES", 0)
        if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
            raise ConfigError("TRUSTED_PROXIES must be a whole number of proxies in front of the app "
                              f"(0 for none), not {proxies!r}")
        for name in COUNT_SETTINGS:
            value = config.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a whole number (0 or more), not {value!r}")
        if config.get("ARGON2_MAX_CONCURRENT", 1) < 1:
            raise ConfigError("ARGON2_MAX_CONCURRENT must be at least 1")
        if not 0 <= config.get("ARGON2_NICE", 0) <= 19:
            raise ConfigError("ARGON2_NICE must be a nice value from 0 to 19")
        security_contacts(config)  # refuses a malformed SECURITY_CONTACT at start-up
        if config.get("STORAGE_URL"):
            from participation.object_store import parse_storage_url

            try:
                parse_storage_url(config["STORAGE_URL"])
            except ValueError as error:
                raise ConfigError(str(error)) from None
        if config.get("CITY_CODE"):
            from participation.places import UnknownCity, load_city

            try:
                city = load_city(str(config["CITY_CODE"]).strip())
            except UnknownCity as error:
                raise ConfigError(str(error)) from None
            config["CITY_CODE"] = city.code
            if config.get("CITY_NAME") in (None, "", Config.CITY_NAME):
                config["CITY_NAME"] = city.name  # the list's name unless one is set
        base_url = config.get("PUBLIC_BASE_URL")
        if base_url and not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", base_url):
            raise ConfigError("PUBLIC_BASE_URL must be the site's address, such as "
                              f"https://musrenbang.example.go.id, not {base_url!r}")
        port = config.get("MAIL_PORT", 25)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ConfigError(f"MAIL_PORT must be a port number, not {port!r}")
        cookie = config.get("SESSION_COOKIE_NAME") or ""
        # Browsers drop a __Host- cookie that is not Secure, has a Domain or a Path other than /
        # (RFC 6265bis 4.1.3): the app would start and nobody could stay signed in.
        if cookie.startswith("__Host-") and not (config.get("SESSION_COOKIE_SECURE")
                                                 and config.get("SESSION_COOKIE_PATH") == "/"
                                                 and not config.get("SESSION_COOKIE_DOMAIN")):
            raise ConfigError(f"the session cookie {cookie} needs SESSION_COOKIE_SECURE, "
                              "SESSION_COOKIE_PATH '/' and no SESSION_COOKIE_DOMAIN")


class DevelopmentConfig(Config):
    """`make run` on a laptop or an office intranet server."""

    ENV_NAME = "development"

    @classmethod
    def from_environ(cls) -> dict:
        """Development falls back to a generated key kept in instance/."""
        values = super().from_environ()
        values.setdefault("SECRET_KEY", _development_secret_key())
        if os.environ.get("PORT", "").strip().isdigit():  # `make run` serves on PORT
            values["DEFAULT_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{os.environ['PORT'].strip()}"
        return values


class TestConfig(Config):
    """The test suite: fast password hashing, a throwaway secret, an explicit database."""

    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 8
    ARGON2_PARALLELISM = 1
    # Every test client comes from 127.0.0.1 and many tests register or submit a lot: the abuse
    # limits are raised out of their way; the limits' own tests set the values they test.
    LOGIN_IP_MAX_FAILURES = 1000
    LOGIN_IP_BURST_FAILURES = 1000
    LOGIN_SUBNET_MAX_FAILURES = 1000
    TWO_FACTOR_IP_MAX_FAILURES = 1000
    REGISTRATION_LIMIT = 1000
    SUBMISSION_LIMIT = 1000
    SUBMISSION_IP_LIMIT = 1000
    RESET_REQUEST_IP_LIMIT = 1000
    API_RATE_LIMIT = 1000
    API_IP_RATE_LIMIT = 1000
    PASSWORD_RESET_MIN_ANSWER_TIME = timedelta(0)
    REGISTRATION_MIN_FILL_TIME = timedelta(0)
    SECURITY_CONTACT = "mailto:keamanan@contoh.id"

    @classmethod
    def from_environ(cls) -> dict:
        """Tests choose their settings explicitly; the environment is ignored."""
        return {}


class ProductionConfig(Config):
    """A public deployment: every unsafe default is refused at start-up."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    # The __Host- prefix: the browser keeps the cookie only for this exact host, over https, for
    # every path, so neither a sibling subdomain nor plain http can set or shadow it.
    SESSION_COOKIE_NAME = "__Host-mt_session"
    SESSION_COOKIE_PATH = "/"
    SESSION_COOKIE_DOMAIN = None
    HSTS_MAX_AGE = int(timedelta(days=365).total_seconds())
    SEED_DEMO_ALLOWED = False

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to start without a real secret key or with debug on."""
        super().validate(config)
        if config.get("DEBUG") or env_flag("FLASK_DEBUG"):
            raise ConfigError("debug must be off in production")
        if config.get("TESTING"):
            raise ConfigError("TESTING must be off in production")
        if config.get("SEED_DEMO_ALLOWED"):
            raise ConfigError("seed-demo must stay disabled in production")
        if not config.get("PUBLIC_BASE_URL"):
            # Links in messages (a receipt, later a password reset) name the site from this,
            # never from the request's Host header, which a client chooses.
            raise ConfigError("PUBLIC_BASE_URL is not set: the site's public address, such as "
                              "https://musrenbang.example.go.id, for the links in messages")
        if config.get("MAIL_SERVER") and not config.get("MAIL_DEFAULT_SENDER"):
            raise ConfigError("MAIL_DEFAULT_SENDER is not set: the From address of the messages sent "
                              "through MAIL_SERVER")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


CONTACT_SCHEMES = ("mailto:", "https:", "tel:")


def security_contacts(config) -> list[str]:
    """The Contact URIs of security.txt: SECURITY_CONTACT, else MAIL_DEFAULT_SENDER's address.

    A bare e-mail address becomes a mailto: URI; anything else without one of CONTACT_SCHEMES is
    refused (ConfigError), since a reporter could not use it.
    """
    from email.utils import parseaddr

    value = config.get("SECURITY_CONTACT")
    if not value:
        sender = config.get("MAIL_DEFAULT_SENDER")
        if isinstance(sender, (tuple, list)):
            sender = sender[-1] if sender else None
        address = parseaddr(sender)[1] if isinstance(sender, str) else ""
        return [f"mailto:{address}"] if "@" in address else []
    contacts = []
    for item in value.replace(",", " ").split():
        if "@" in item and ":" not in item:
            item = f"mailto:{item}"
        if not item.lower().startswith(CONTACT_SCHEMES) or len(item) <= len("tel:"):
            raise ConfigError("SECURITY_CONTACT must be mailto:, https: or tel: addresses (or bare e-mail "
                              f"addresses), not {item!r}")
        contacts.append(item)
    return contacts


def config_class(name: str | None = None) -> type[Config]:
    """The configuration class named by `name` or APP_ENV (development by default)."""
    name = (name or os.environ.get("APP_ENV") or "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
