"""Password hashing (argon2id) and the password policy."""
from __future__ import annotations

import fcntl
import gzip
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _

from participation.models import Role

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
MAX_LENGTH = 128
MIN_LENGTH = {False: 8, True: 12}  # keyed by "is staff"
CONTEXT_WORDS = ("musrenbang", "bappeda", "tematik", "usulan")


def hasher() -> PasswordHasher:
    """The argon2id hasher with this app's parameters."""
    config = current_app.config
    key = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    return _hasher(*key)


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
    )


class HashingBusy(Exception):
    """Every hashing slot of this host stayed taken for ARGON2_SLOT_WAIT; `retry_after` in seconds."""

    retry_after = 2


def _take_slot(path: Path) -> int | None:
    """An open, exclusively locked slot file, or None when another request holds it."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(descriptor)
        return None
    return descriptor


def _slot_paths() -> list[Path]:
    folder = Path(current_app.instance_path) / "hashing-slots"
    folder.mkdir(parents=True, exist_ok=True)
    return [folder / f"slot-{number}" for number in range(current_app.config["ARGON2_MAX_CONCURRENT"])]


def slot_free() -> bool:
    """Whether a hashing slot is free at this moment (a cheap look before any other work)."""
    for path in _slot_paths():
        descriptor = _take_slot(path)
        if descriptor is not None:
            os.close(descriptor)
            return True
    return False


@contextmanager
def hashing_slot():
    """Hold one of the host's ARGON2_MAX_CONCURRENT hashing slots while hashing.

    A 64 MiB argon2id hash keeps a core busy for a good part of a second, so a burst of sign-ins
    must not run one per worker and starve every other page. The slots are lock files in the
    instance folder (flock: shared by every worker and thread of the host, and freed by the
    kernel when a process dies); a request that gets none within ARGON2_SLOT_WAIT gives up
    (HashingBusy) rather than keep a worker waiting.
    """
    paths = _slot_paths()
    deadline = time.monotonic() + current_app.config["ARGON2_SLOT_WAIT"].total_seconds()
    while True:
        for path in paths:
            descriptor = _take_slot(path)
            if descriptor is not None:
                try:
                    yield
                finally:
                    os.close(descriptor)  # closing releases the lock
                return
        if time.monotonic() >= deadline:
            raise HashingBusy()
        time.sleep(0.005)


_executors: dict[tuple, ThreadPoolExecutor] = {}


def _lower_priority(nice: int) -> None:
    # Linux keeps the nice value per thread, and argon2's lane threads inherit it from this one.
    os.setpriority(os.PRIO_PROCESS, 0, nice)


def _at_low_priority(function, *args):
    """Run `function(*args)` in a hashing thread niced by ARGON2_NICE, so that pages preempt it.

    The request's own thread keeps its priority; only the hash yields the CPU to other requests.
    One pool per process (a forked worker makes its own) and per setting.
    """
    config = current_app.config
    nice = config["ARGON2_NICE"]
    if not nice:
        return function(*args)
    key = (os.getpid(), nice, config["ARGON2_MAX_CONCURRENT"])
    if key not in _executors:
        _executors[key] = ThreadPoolExecutor(max_workers=key[2], thread_name_prefix="argon2",
                                             initializer=_lower_priority, initargs=(nice,))
    return _executors[key].submit(function, *args).result()


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (waits for a hashing slot, or raises HashingBusy)."""
    with hashing_slot():
        return _at_low_priority(hasher().hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; a malformed hash never matches (waits for a hashing slot)."""
    with hashing_slot():
        try:
            return _at_low_priority(hasher().verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than the current ones."""
    try:
        return hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# Verified against when the account does not exist, so that timing does not reveal it.
@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash("not-a-real-password")


def burn_verification(password: str) -> None:
    """Spend the same work as a real check, for unknown accounts."""
    config = current_app.config
    key = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    verify_password(_dummy_hash(*key), password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-case."""
    with gzip.open(DATA_DIR / "common-passwords.txt.gz", "rt", encoding="utf-8") as handle:
        words = {line.strip().lower() for line in handle if line.strip()}
    with open(DATA_DIR / "common-passwords-id.txt", encoding="utf-8") as handle:
        words |= {line.strip().lower() for line in handle if line.strip() and not line.startswith("#")}
    return frozenset(words)


def _context_words(email: str, name: str | None, city: str) -> set[str]:
    """Words a password must not contain: the product, the agency, the city, the user's own."""
    words = set(CONTEXT_WORDS)
    city_words = re.findall(r"[a-z]+", city.lower())
    words |= {w for w in city_words if w not in {"kota", "kabupaten", "kab", "provinsi"} and len(w) >= 4}
    local = email.split("@", 1)[0].lower()
    words |= {w for w in re.split(r"[^a-z0-9]+", local) if len(w) >= 4}
    if len(local) >= 4:
        words.add(re.sub(r"[^a-z0-9]", "", local))
    if name:
        words |= {w for w in re.findall(r"[a-z]+", name.lower()) if len(w) >= 4}
    return {w for w in words if w}


def password_problems(password: str, *, role: Role, email: str, name: str | None = None) -> list[str]:
    """Everything wrong with `password` for this user, as messages; empty when acceptable."""
    minimum = MIN_LENGTH[role.is_staff]
    if len(password) < minimum:
        return [_("The password must be at least %(n)d characters long.", n=minimum)]
    if len(password) > MAX_LENGTH:
        return [_("The password may be at most %(n)d characters long.", n=MAX_LENGTH)]
    problems = []
    lowered = password.lower()
    squeezed = re.sub(r"[^a-z0-9]", "", lowered)
    if lowered in common_passwords() or squeezed in common_passwords():
        problems.append(_("This password is too common. Choose one that is harder to guess."))
    for word in sorted(_context_words(email, name, current_app.config["CITY_NAME"])):
        if word in lowered or word in squeezed:
            problems.append(
                _("The password must not contain “%(word)s”; it is too easy to guess.", word=word)
            )
            break
    if len(set(password)) < 4:
        problems.append(_("The password repeats too few different characters."))
    return problems
