"""The hub's private files under ``var/``: the session secret and the audit signing key.

``var/`` is created 0700 and every file the hub keeps there 0600 (the SQLite store, the
embedded broker with its WAL and shared-memory files, the secret, the key, the audit head
file): they hold identity numbers and keys, for the hub's own user only.

With no ``hub.secret_key`` configured the hub generates a random one on first start and
keeps it in ``var/session-secret``; every process with the same ``var/`` uses it. In
production a configured secret must be at least 32 bytes and none the project ships.
The audit chain signs with an Ed25519 key of its own (``audit.key_file``, generated on
first start when missing), never derived from the session secret.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import os
import secrets
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.contract.errors import ConfigError

log = logging.getLogger(__name__)

DEV_SECRET = "dev-insecure-secret-change-me"
# Secrets that were ever shipped with the project or its docs: known to everyone.
SHIPPED_SECRETS = frozenset({DEV_SECRET})
MIN_PRODUCTION_SECRET = 32  # bytes
SECRET_FILE = "session-secret"
KEY_FILE = "audit-signing.key"
HEADS_FILE = "audit-heads.jsonl"
_REPORTED: set[str] = set()  # var/ folders already reported open to others


def check_secret(mode: str, secret: str) -> None:
    """Refuse, in production, a configured secret that is short or publicly known."""
    if mode != "production" or not secret:
        return
    if secret in SHIPPED_SECRETS:
        raise ConfigError("hub.secret_key: production mode refuses a secret shipped with the project; "
                          "set WAGEHUB_SECRET_KEY to a random value (or leave it unset to generate one)")
    if len(secret.encode()) < MIN_PRODUCTION_SECRET:
        raise ConfigError(f"hub.secret_key: production mode needs at least {MIN_PRODUCTION_SECRET} bytes "
                          f"(got {len(secret.encode())})")


def var_dir(settings: Mapping[str, Any]) -> Path:
    """The hub's ``var/``, created 0700 when missing; an existing one open to others is
    reported, not changed (it may be shared on purpose)."""
    path = Path(settings["hub"]["var_dir"])
    private_dir(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 and path.stat().st_uid == os.getuid() and str(path) not in _REPORTED:
        _REPORTED.add(str(path))
        log.warning("%s is open to other users (mode %o); the hub's files in it are 0600", path, mode)
    return path


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) 0700 when missing."""
    if not path.is_dir():
        path.mkdir(mode=0o700, parents=True, exist_ok=True)


def private_file(path: str | os.PathLike) -> None:
    """Create ``path`` empty with mode 0600 if missing, else tighten it to 0600 (a file
    the hub owns: the SQLite store, whose WAL and shared-memory files take its mode).

    An existing file is never opened here: closing any descriptor of an SQLite file drops
    every POSIX lock this process holds on it, under the feet of its open connections.
    """
    path = Path(path)
    private_dir(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for name in (str(path), f"{path}-wal", f"{path}-shm", f"{path}-journal"):
        with contextlib.suppress(FileNotFoundError):
            if stat.S_IMODE(os.stat(name).st_mode) != 0o600:
                os.chmod(name, 0o600)


def _create_once(path: Path, data: bytes) -> bytes:
    """Write ``data`` to ``path`` 0600 unless another process made it first; the file's
    content either way (a temporary file linked into place: never seen half-written)."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_bytes()
    finally:
        tmp.unlink(missing_ok=True)
    log.debug("generated %s (mode 0600)", path)
    return data


def _read_private(path: Path) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        os.chmod(path, 0o600)
        log.warning("%s was readable by others (mode %o): now 0600", path, mode)
    return path.read_bytes()


def session_secret(settings: Mapping[str, Any]) -> str:
    """``hub.secret_key`` when set, else the one kept in ``var/session-secret`` (made on
    first start)."""
    configured = settings["hub"]["secret_key"]
    if configured:
        return configured
    path = var_dir(settings) / SECRET_FILE
    if path.exists():
        secret = _read_private(path).decode().strip()
    else:
        secret = _create_once(path, secrets.token_urlsafe(48).encode()).decode().strip()
    if len(secret.encode()) < MIN_PRODUCTION_SECRET:
        raise ConfigError(f"{path}: the kept session secret is shorter than {MIN_PRODUCTION_SECRET} bytes; "
                          "delete the file to have a new one made")
    return secret


def key_path(settings: Mapping[str, Any]) -> Path:
    configured = settings["audit"]["key_file"]
    return Path(configured) if configured else var_dir(settings) / KEY_FILE


def heads_path(settings: Mapping[str, Any]) -> Path:
    configured = settings["audit"]["heads_file"]
    return Path(configured) if configured else var_dir(settings) / HEADS_FILE


def audit_signing_key(settings: Mapping[str, Any]) -> Ed25519PrivateKey:
    """The audit chain's Ed25519 key from ``audit.key_file`` (PKCS#8 PEM), made on first start."""
    path = key_path(settings)
    if path.exists():
        data = _read_private(path)
    else:
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        data = _create_once(path, pem)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"audit.key_file: {path} is not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"audit.key_file: {path} holds a {type(key).__name__}, not an Ed25519 key")
    return key


def public_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()
