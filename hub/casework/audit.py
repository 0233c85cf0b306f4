"""The tamper-evident audit log: an append-only hash chain with signed heads.

Each entry carries a sequence number (1, 2, 3, ...) and its hash is SHA-256 over the
sequence number, the previous entry's hash and the entry's content (time, actor, action,
subject, and the digest of its details), so editing, deleting, inserting or reordering
any entry breaks the chain from there on. Every accepted message, dead letter, delivery
and admin or linkage decision is appended in the transaction that makes it; appends are
serialised (one writer holds the chain's head).

A chain alone cannot show that its newest entries were cut off, or that an entry was
edited and everything after it hashed again. So, as Certificate Transparency does, the hub
signs the chain's head — ``{"seq", "hash", "at"}`` — with an Ed25519 key of its own
(:func:`hub.keys.audit_signing_key`, never derived from the session secret) at least every
``audit.checkpoint_every`` seconds while entries are appended, and on shutdown. A signed
head is kept three ways: as an ``audit.checkpoint`` entry in the chain, appended to the
head file outside the database (``audit.heads_file``: point it at append-only/WORM
storage), and served to agencies and auditors (``GET /api/v1/audit/heads``) to keep.
:func:`verify` checks the chain against every signed head it is given: a head beyond the
chain's end is a truncation, a head whose hash differs is a rewrite, each reported with
the first sequence number that no longer holds.

A new signing key is recorded in the chain (an ``audit.key`` entry naming the new and the
previous public key) before its first checkpoint; every checkpoint is checked with the key
in force where it stands. Entries written before sequence numbers existed (hash version 1)
keep their hash and are checked with the old rule (their checkpoints with the key the old
hub derived from its session secret, or from the old shipped development secret); they may
only precede the others, and the first signed head after the upgrade covers them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from hub.keys import public_b64
from hub.store import insert_rows
from hub.store.models import AuditEntry, utcnow

try:
    import fcntl
except ImportError:  # not on Windows: appends of one line are atomic enough there
    fcntl = None

log = logging.getLogger(__name__)

GENESIS = "0" * 64
HASH_VERSION = 2  # 1: before sequence numbers (no seq, details hashed whole)
CHECKPOINT = "audit.checkpoint"
KEY = "audit.key"
_LOCK_KEY = 7_215_001  # PostgreSQL advisory lock that serialises appends


def _canonical(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def details_digest(details: dict[str, Any]) -> str:
    """What an entry's hash covers of its details: a pruned entry keeps only this."""
    return hashlib.sha256(_canonical(details)).hexdigest()


def entry_hash(seq: int, prev_hash: str, at: str, actor: str, action: str, subject: str,
               details: dict[str, Any]) -> str:
    digest = details.get("pruned_sha256") if set(details) == {"pruned_sha256"} else details_digest(details)
    return hashlib.sha256(_canonical([HASH_VERSION, seq, prev_hash, at, actor, action, subject, digest])).hexdigest()


def legacy_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, details: dict[str, Any]) -> str:
    """The rule of hash version 1 (entries written before sequence numbers)."""
    return hashlib.sha256(_canonical([prev_hash, at, actor, action, subject, details])).hexdigest()


def _stamp(at: dt.datetime) -> str:
    return at.isoformat(timespec="microseconds")


# -- signatures -------------------------------------------------------------------------------

def sign(key: Ed25519PrivateKey, payload: dict[str, Any]) -> str:
    return base64.b64encode(key.sign(_canonical(payload))).decode()


def check_signature(public_key: str, payload: dict[str, Any], signature: str) -> bool:
    """Offline check of a receipt or signed head with the hub's published public key."""
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key)).verify(
            base64.b64decode(signature), _canonical(payload))
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def legacy_public_key(secret: str) -> str:
    """The key hash-version-1 checkpoints were signed with (derived from the session secret)."""
    seed = hashlib.sha256(b"wagehub-audit-signing:" + secret.encode()).digest()
    return public_b64(Ed25519PrivateKey.from_private_bytes(seed))


# -- appending --------------------------------------------------------------------------------

def _last(session: Session) -> AuditEntry | None:
    return session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).first()


def _chain(session: Session, entries: list[tuple[str, str, str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The rows of new entries, each linked to the one before (the chain's head first)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    row = session.execute(select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)).first()
    seq, prev = (row.seq, row.hash) if row else (0, GENESIS)
    rows = []
    for actor, action, subject, details in entries:
        at, seq, details = utcnow(), seq + 1, details or {}
        hash_ = entry_hash(seq, prev, _stamp(at), actor, action, subject, details)
        rows.append({"seq": seq, "hash_version": HASH_VERSION, "at": at, "actor": actor, "action": action,
                     "subject": subject, "details": details, "prev_hash": prev, "hash": hash_})
        prev = hash_
    return rows


def append_many(session: Session, entries: Iterable[tuple[str, str, str, dict[str, Any]]]) -> None:
    """Append ``(actor, action, subject, details)`` entries in the caller's transaction
    (one statement for them all).

    Never put personal data in them: subjects are message ids, numbers and record ids.
    """
    entries = list(entries)
    if entries:
        insert_rows(session.connection(), AuditEntry.__table__, _chain(session, entries))


def append(session: Session, actor: str, action: str, subject: str, details: dict[str, Any] | None = None) -> AuditEntry:
    """Append one entry in the caller's transaction; returns it (with its id)."""
    entry = AuditEntry(**_chain(session, [(actor, action, subject, details or {})])[0])
    session.add(entry)
    session.flush()
    return entry


def _key_in_force(session: Session) -> str | None:
    details = session.scalars(select(AuditEntry.details).where(AuditEntry.action == KEY)
                              .order_by(AuditEntry.seq.desc()).limit(1)).first()
    return details["public_key"] if details else None


def record_key(session: Session, key: Ed25519PrivateKey, actor: str = "hub") -> AuditEntry | None:
    """Record ``key`` in the chain when it is not the key in force (first start, rotation).

    The entry names the previous key and is signed by the new one over its own sequence
    number: a key can only be recorded by whoever holds it, and only there.
    """
    public = public_b64(key)
    previous = _key_in_force(session)
    if previous == public:
        return None
    last = _last(session)
    claim = {"public_key": public, "previous": previous, "seq": (last.seq if last else 0) + 1}
    entry = append(session, actor, KEY, hashlib.sha256(base64.b64decode(public)).hexdigest()[:16],
                   {**claim, "algorithm": "Ed25519", "signature": sign(key, claim)})
    log.info("audit signing key %s recorded in the chain%s", entry.subject, " (rotated)" if previous else "")
    return entry


def _trusted_keys(session: Session, public_key: str | None) -> set[str] | None:
    """The hub's own key and, going back through the recorded rotations, each key it
    names as its previous one. None (every recorded key is trusted) when no key is given,
    or when the hub's key is not recorded yet (a new key, or a store restored on another
    host: its first checkpoint records it, naming the chain's last key)."""
    if public_key is None:
        return None
    recorded = [details for (details,) in session.execute(
        select(AuditEntry.details).where(AuditEntry.action == KEY).order_by(AuditEntry.seq.desc()))]
    if all(details.get("public_key") != public_key for details in recorded):
        return None
    trusted = {public_key}
    for details in recorded:
        if details.get("public_key") in trusted and details.get("previous"):
            trusted.add(details["previous"])
    return trusted


def checkpoint(session: Session, key: Ed25519PrivateKey) -> dict[str, Any] | None:
    """Sign the chain's head in the caller's transaction; returns the signed head (to
    write to the head file once committed: :func:`write_head`), or None when nothing was
    appended since the last checkpoint."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
    last = _last(session)
    if last is None or (last.action == CHECKPOINT and _key_in_force(session) == public_b64(key)):
        return None
    last = record_key(session, key) or last
    head = {"seq": last.seq, "hash": last.hash, "at": _stamp(utcnow())}
    signed = {**head, "public_key": public_b64(key), "signature": sign(key, head)}
    append(session, "hub", CHECKPOINT, str(last.seq), signed)
    return signed


def checkpoint_now(store, key: Ed25519PrivateKey, heads_file: Path) -> dict[str, Any] | None:
    """Checkpoint in a transaction of its own and append the head to the head file."""
    with store.transaction() as session:
        signed = checkpoint(session, key)
    if signed is not None:
        write_head(heads_file, signed)
    return signed


# -- the head file ----------------------------------------------------------------------------

def write_head(path: Path, head: dict[str, Any]) -> None:
    """Append one signed head (a JSON line) to the head file, 0600, synced to disk."""
    from hub.keys import private_dir

    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, _canonical(head) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def read_heads(path: Path) -> list[dict[str, Any]]:
    """Every signed head in a head file, oldest first (a missing file has none)."""
    heads = []
    with contextlib.suppress(FileNotFoundError), open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                heads.append(_parse_head(line, f"{path}:{n}"))
    return heads


def newest_heads(path: Path, limit: int, before_seq: int | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` heads from the end of the head file, newest first (read backwards:
    the file grows by a line a minute for years)."""
    out: list[dict[str, Any]] = []
    for line in _lines_backwards(path):
        head = _parse_head(line, str(path))
        if "bad" in head:
            continue  # not served; audit verify reports it
        if before_seq is None or head["seq"] < before_seq:
            out.append(head)
            if len(out) == limit:
                break
    return out


def _lines_backwards(path: Path, block: int = 65536) -> Iterator[bytes]:
    try:
        fh = open(path, "rb")
    except FileNotFoundError:
        return
    with fh:
        fh.seek(0, os.SEEK_END)
        pos, rest = fh.tell(), b""
        while pos > 0:
            step = min(block, pos)
            pos -= step
            fh.seek(pos)
            lines = (fh.read(step) + rest).split(b"\n")
            rest = lines.pop(0)
            yield from (line for line in reversed(lines) if line.strip())
        if rest.strip():
            yield rest


def _parse_head(line: bytes, where: str) -> dict[str, Any]:
    try:
        head = json.loads(line)
        if not (isinstance(head, dict) and isinstance(head.get("seq"), int) and isinstance(head.get("hash"), str)):
            raise ValueError("not a signed head")
    except ValueError:
        return {"seq": -1, "hash": "", "at": "", "public_key": "", "signature": "", "bad": where}
    return head


# -- verifying --------------------------------------------------------------------------------

def _broken(entry: AuditEntry | None, seq: int, reason: str, **more: Any) -> dict[str, Any]:
    return {"ok": False, "first_broken": entry.id if entry is not None else None, "first_bad_seq": seq,
            "reason": reason, **more}


def verify(session: Session, heads: Iterable[dict[str, Any]] = (), public_key: str | None = None,
           legacy_secrets: Iterable[str] = ()) -> dict[str, Any]:
    """Walk the chain, then hold it against the signed heads kept outside the database.

    Reports the first entry whose sequence number, link, content or checkpoint signature
    does not hold (``first_broken``: its id; ``first_bad_seq``), or, from the heads, a
    truncation (the newest head lies beyond the chain's end) or a rewrite (a head's hash
    differs from the chain's at its sequence number: the first bad entry is after the last
    head that still matches).
    """
    prev, expected, count, checkpoints = GENESIS, 1, 0, 0
    key: str | None = None
    trusted = _trusted_keys(session, public_key)
    known: set[str] = set(trusted or ()) | ({public_key} if public_key else set())
    legacy_keys = [legacy_public_key(s) for s in legacy_secrets if s]
    heads = sorted(heads, key=lambda h: h["seq"])
    wanted = {h["seq"] for h in heads}
    hash_at: dict[int, str] = {}
    last_id = None
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id).execution_options(yield_per=1000))
    try:
        for entry in entries:
            count += 1
            stamp = _stamp(entry.at)
            if entry.seq != expected:
                return _broken(entry, expected, f"sequence number {entry.seq} where {expected} was due "
                               "(entries deleted, inserted or reordered)", entries=count)
            if entry.prev_hash != prev:
                return _broken(entry, expected, "does not follow the entry before it (deleted or reordered entries)",
                               entries=count)
            if entry.hash_version == 1:
                if key is not None or count != entry.seq:
                    return _broken(entry, expected, "an entry of the old hash rule after entries of the new one",
                                   entries=count)
                good = entry.hash == legacy_hash(prev, stamp, entry.actor, entry.action, entry.subject, entry.details)
            else:
                good = entry.hash == entry_hash(entry.seq, prev, stamp, entry.actor, entry.action, entry.subject,
                                                entry.details)
            if not good:
                return _broken(entry, expected, "content does not match its hash (edited)", entries=count)
            if entry.action == KEY:
                claim = {k: entry.details.get(k) for k in ("public_key", "previous", "seq")}
                if claim["seq"] != entry.seq or claim["previous"] != key or not check_signature(
                        claim["public_key"], claim, entry.details.get("signature", "")):
                    return _broken(entry, expected, "signing key entry does not hold (not signed by its key, "
                                   "or not naming the key before it)", entries=count)
                if trusted is not None and claim["public_key"] not in trusted:
                    return _broken(entry, expected, "a signing key this hub does not trust (neither its own nor "
                                   "named as the previous key by one it trusts)", entries=count)
                key = claim["public_key"]
                known.add(key)
            elif entry.action == CHECKPOINT:
                details = dict(entry.details)
                signature = details.pop("signature", "")
                if entry.hash_version == 1:
                    signed = details.get("head") == prev and any(
                        check_signature(k, details, signature) for k in legacy_keys)
                else:
                    head = {k: details.get(k) for k in ("seq", "hash", "at")}
                    signed = (key is not None and details.get("public_key") == key and head["seq"] == entry.seq - 1
                              and head["hash"] == prev and check_signature(key, head, signature))
                if not signed:
                    return _broken(entry, expected, "checkpoint signature does not hold", entries=count)
                checkpoints += 1
            if entry.seq in wanted:
                hash_at[entry.seq] = entry.hash
            prev, expected, last_id = entry.hash, expected + 1, entry.id
    finally:
        entries.close()  # a server-side cursor on PostgreSQL, left early on a break
    last_seq = expected - 1
    result = {"ok": True, "entries": count, "checkpoints": checkpoints, "first_broken": None, "first_bad_seq": None,
              "last_id": last_id, "last_seq": last_seq or None, "head": prev, "heads_checked": 0,
              "newest_head": None}
    return _against_heads(result, heads, hash_at, known)


def _against_heads(result: dict[str, Any], heads: list[dict[str, Any]], hash_at: dict[int, str],
                   known: set[str]) -> dict[str, Any]:
    last_seq = result["last_seq"] or 0
    good_before = 0
    for head in heads:
        if head.get("bad"):
            return {**result, **_broken(None, None, f"{head['bad']}: not a signed head")}
        payload = {k: head.get(k) for k in ("seq", "hash", "at")}
        if head.get("public_key") not in known or not check_signature(head["public_key"], payload,
                                                                      head.get("signature", "")):
            return {**result, **_broken(None, head["seq"], f"the signed head of seq {head['seq']} ({head['at']}) "
                                        "does not check with any key recorded in the chain")}
        result["heads_checked"] += 1
        result["newest_head"] = payload
        if head["seq"] <= last_seq:
            if hash_at.get(head["seq"]) != head["hash"]:
                return {**result, **_broken(None, good_before + 1, f"rewritten: entry seq {head['seq']} differs "
                                            f"from the head signed at {head['at']}; the entries up to seq "
                                            f"{good_before} match their signed heads")}
            good_before = head["seq"]
    if heads and heads[-1]["seq"] + 1 > last_seq:  # a head's checkpoint entry follows it
        newest = heads[-1]
        return {**result, **_broken(None, last_seq + 1, f"truncated: the head signed at {newest['at']} covers "
                                    f"seq {newest['seq']} and its checkpoint after it; the chain ends at seq "
                                    f"{last_seq}")}
    return result
