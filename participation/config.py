"""Configuration: defaults per environment, overridden from the process environment.

Every variable is listed in `.env.example`. Values are read when the app is created, not at
import, so that tests and the CLI see the environment they run in.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


class ConfigError(RuntimeError):
    """The configuration would make the app unsafe or unusable."""


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
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
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

    # Login throttling: failed checks per account within a sliding window.
    LOGIN_MAX_FAILURES = 10
    LOGIN_FAILURE_WINDOW = timedelta(minutes=15)

    # argon2id parameters (RFC 9106, second recommended option); tests lower them.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536
    ARGON2_PARALLELISM = 4

    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    CITY_NAME = "Kota Harapan Jaya"
    INSTITUTION_NAME = "Badan Perencanaan Pembangunan Daerah"
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    SEND_FILE_MAX_AGE_DEFAULT = 3600
    SEED_DEMO_ALLOWED = True
    # How many reverse proxies (load balancer, nginx) stand in front of the app; their
    # X-Forwarded-* headers are believed for that many hops. 0 believes none of them.
    TRUSTED_PROXIES = 0

    ENVIRON = {
        "FLASK_SECRET_KEY": "SECRET_KEY",
        "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
        "CITY_NAME": "CITY_NAME",
        "INSTITUTION_NAME": "INSTITUTION_NAME",
        "APP_TIMEZONE": "BABEL_DEFAULT_TIMEZONE",
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
        return values

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse settings that cannot work."""
        if not config.get("SECRET_KEY"):
            raise ConfigError("FLASK_SECRET_KEY is not set")
        if not config.get("SQLALCHEMY_DATABASE_URI"):
            raise ConfigError("no database configured")
        proxies = config.get("TRUSTED_PROXIES", 0)
        if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
            raise ConfigError("TRUSTED_PROXIES must be a whole number of proxies in front of the app "
                              f"(0 for none), not {proxies!r}")


class DevelopmentConfig(Config):
    """`make run` on a laptop or an office intranet server."""

    ENV_NAME = "development"

    @classmethod
    def from_environ(cls) -> dict:
        """Development falls back to a generated key kept in instance/."""
        values = super().from_environ()
        values.setdefault("SECRET_KEY", _development_secret_key())
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

    @classmethod
    def from_environ(cls) -> dict:
        """Tests choose their settings explicitly; the environment is ignored."""
        return {}


class ProductionConfig(Config):
    """A public deployment: every unsafe default is refused at start-up."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SEED_DEMO_ALLOWED = False

    @classmethod
    def validate(cls, config: dict) -> None:
        """Refuse to start without a real secret key or with debug on."""
        super().validate(config)
        if len(config["SECRET_KEY"]) < 32:
            raise ConfigError("FLASK_SECRET_KEY must be at least 32 random characters")
        if config.get("DEBUG") or env_flag("FLASK_DEBUG"):
            raise ConfigError("debug must be off in production")
        if config.get("TESTING"):
            raise ConfigError("TESTING must be off in production")
        if config.get("SEED_DEMO_ALLOWED"):
            raise ConfigError("seed-demo must stay disabled in production")


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "test": TestConfig,
}


def config_class(name: str | None = None) -> type[Config]:
    """The configuration class named by `name` or APP_ENV (development by default)."""
    name = (name or os.environ.get("APP_ENV") or "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}") from None
