"""Users, roles, passwords (scrypt), sessions kept in the database, and lockout after wrong passwords.

* Passwords: ``hashlib.scrypt`` with a 16-byte random salt per user; the stored text carries the parameters
  (``scrypt$N$r$p$salt$hash``, base64) so a later change of parameters leaves old hashes valid. Compared with
  ``hmac.compare_digest``. An unknown username costs the same scrypt run as a known one.
* Sessions: a random token in the cookie (``COOKIE_NAME``); the database keeps only its SHA-256, so a copy of
  the database hands out no live session. A session ends after ``session_idle_minutes`` without a request or
  ``session_max_hours`` after login, whichever comes first (WorkspaceSettings, defaults 30 min and 12 h).
  Sessions live in the database, so a server restart keeps everyone logged in.
* Lockout: ``lockout_attempts`` wrong passwords in a row (default 5) lock the account for ``lockout_minutes``
  (default 15); while locked even the right password is refused. A successful login resets the count.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

import sqlalchemy as sa

from ipafstudy.errors import IpafstudyError
from ipafstudy.workspace import db
from ipafstudy.workspace.db import Workspace, to_json

ROLES = ("reader1", "reader2", "adjudicator", "investigator")
COOKIE_NAME = "ipafstudy_session"
READER_ROLES = ("reader1", "reader2")

# scrypt cost: N=2^14, r=8, p=1 (16 MiB, ~50 ms on one core): the interactive-login figure of RFC 7914 s.2.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, KEY_BYTES = 16, 32
MIN_PASSWORD_LENGTH = 8
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class LoginRefused(IpafstudyError):
    """A login that did not succeed; ``reason`` is 'bad_credentials' or 'locked' (the message says until when)."""

    def __init__(self, reason: Literal["bad_credentials", "locked"], message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UserError(IpafstudyError):
    """A user that cannot be created or changed (duplicate name, unknown role, weak password)."""


@dataclass(frozen=True)
class UserInfo:
    """Who is logged in: what the pages and every service call need."""

    username: str
    role: str
    id: int | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int | None = None, r: int | None = None, p: int | None = None,
                  salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$key`` for ``password`` with a fresh random salt (cost: the module's SCRYPT_*)."""
    n, r, p = n or SCRYPT_N, r or SCRYPT_R, p or SCRYPT_P
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES,
                         maxmem=256 * n * r * p + (1 << 20))
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the stored hash (parameters read from the hash; constant-time compare)."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        candidate = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                   p=int(p), dklen=len(expected), maxmem=256 * int(n) * int(r) * int(p) + (1 << 20))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(candidate, expected)


# Verified against when the username is unknown, so both answers take one scrypt run.
_DUMMY_HASH = hash_password("not-a-password", salt=b"\0" * SALT_BYTES)


def check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def _audit(conn: sa.Connection, ws: Workspace, who: str | None, action: str, key: str,
           old: object = None, new: object = None) -> None:
    conn.execute(db.audit.insert().values(at=ws.now(), username=who, action=action, table_name="users", key=key,
                                          old=to_json(old), new=to_json(new)))


def create_user(ws: Workspace, username: str, role: str, password: str, *, by: str | None = None) -> UserInfo:
    """Add an account; the password is stored only as its scrypt hash. ``by`` is who did it (audit)."""
    if not USERNAME_PATTERN.match(username or ""):
        raise UserError(f"username {username!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a "
                        "letter or digit")
    if role not in ROLES:
        raise UserError(f"role {role!r} is not one of {', '.join(ROLES)}")
    check_new_password(password)
    hashed = hash_password(password)
    with ws.session() as conn:
        if conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).first():
            raise UserError(f"user {username!r} already exists (use 'ipafstudy users passwd' to change the password)")
        user_id = conn.execute(db.users.insert().values(
            username=username, role=role, password_hash=hashed, created_at=ws.now(), failed_logins=0,
        )).inserted_primary_key[0]
        _audit(conn, ws, by, "create_user", username, None, {"role": role})
    return UserInfo(username, role, int(user_id))


def set_password(ws: Workspace, username: str, password: str, *, by: str | None = None) -> None:
    """New password; ends the user's sessions and lifts a lockout."""
    check_new_password(password)
    hashed = hash_password(password)
    with ws.session() as conn:
        row = conn.execute(sa.select(db.users.c.id).where(db.users.c.username == username)).first()
        if row is None:
            raise UserError(f"no user {username!r}")
        conn.execute(db.users.update().where(db.users.c.id == row.id).values(
            password_hash=hashed, failed_logins=0, locked_until=None))
        conn.execute(db.sessions.delete().where(db.sessions.c.user_id == row.id))
        _audit(conn, ws, by, "set_password", username)


def list_users(ws: Workspace) -> list[dict[str, object]]:
    """Username, role, creation time and lock state of every account (never the hash)."""
    now = ws.now()
    with ws.read() as conn:
        rows = conn.execute(sa.select(db.users.c.username, db.users.c.role, db.users.c.created_at,
                                      db.users.c.locked_until).order_by(db.users.c.username)).all()
    return [{"username": r.username, "role": r.role, "created_at": r.created_at,
             "locked": r.locked_until is not None and r.locked_until > now} for r in rows]


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def login(ws: Workspace, username: str, password: str) -> str:
    """A new session token for a correct password; LoginRefused otherwise (wrong, unknown or locked)."""
    with ws.read() as conn:
        row = conn.execute(sa.select(db.users).where(db.users.c.username == username)).first()
    if row is None:
        verify_password(password, _DUMMY_HASH)
        raise LoginRefused("bad_credentials", "wrong username or password")
    now = ws.now()
    if row.locked_until is not None and row.locked_until > now:
        raise LoginRefused("locked", f"account {username!r} is locked after {ws.config.lockout_attempts} wrong "
                                     f"passwords until {row.locked_until:%Y-%m-%d %H:%M} UTC")
    ok = verify_password(password, row.password_hash)
    with ws.session() as conn:
        if not ok:
            # Counted in SQL so two wrong tries at the same moment both count.
            conn.execute(db.users.update().where(db.users.c.id == row.id)
                         .values(failed_logins=db.users.c.failed_logins + 1))
            failures = conn.execute(sa.select(db.users.c.failed_logins)
                                    .where(db.users.c.id == row.id)).scalar_one()
            _audit(conn, ws, username, "login_failed", username, None, {"failed_logins": failures})
            refusal = LoginRefused("bad_credentials", "wrong username or password")
            if failures >= ws.config.lockout_attempts:
                until = now + timedelta(minutes=ws.config.lockout_minutes)
                conn.execute(db.users.update().where(db.users.c.id == row.id)
                             .values(failed_logins=0, locked_until=until))
                _audit(conn, ws, username, "locked", username, None, {"locked_until": until.isoformat()})
                refusal = LoginRefused("locked", f"wrong password; account {username!r} is now locked after "
                                                 f"{failures} wrong passwords until {until:%Y-%m-%d %H:%M} UTC")
        else:
            token = secrets.token_urlsafe(32)
            conn.execute(db.users.update().where(db.users.c.id == row.id).values(failed_logins=0, locked_until=None))
            conn.execute(db.sessions.insert().values(token_hash=_token_hash(token), user_id=row.id, created_at=now,
                                                     last_seen_at=now))
            _audit(conn, ws, username, "login", username)
            return token
    raise refusal


def user_for_token(ws: Workspace, token: str | None) -> UserInfo | None:
    """The logged-in user of a session token, or None (unknown, logged out, idle too long or too old)."""
    if not token:
        return None
    key = _token_hash(token)
    now = ws.now()
    with ws.read() as conn:  # most requests only read; a write transaction only when the session changes
        row = conn.execute(
            sa.select(db.sessions.c.created_at, db.sessions.c.last_seen_at, db.users.c.id, db.users.c.username,
                      db.users.c.role)
            .join(db.users, db.users.c.id == db.sessions.c.user_id)
            .where(db.sessions.c.token_hash == key)
        ).first()
    if row is None:
        return None
    idle = now - row.last_seen_at > timedelta(minutes=ws.config.session_idle_minutes)
    old = now - row.created_at > timedelta(hours=ws.config.session_max_hours)
    if idle or old:
        with ws.session() as conn:
            conn.execute(db.sessions.delete().where(db.sessions.c.token_hash == key))
        return None
    if now - row.last_seen_at >= timedelta(seconds=ws.config.session_touch_seconds):
        with ws.session() as conn:
            conn.execute(db.sessions.update().where(db.sessions.c.token_hash == key).values(last_seen_at=now))
    return UserInfo(row.username, row.role, int(row.id))


def logout(ws: Workspace, token: str | None) -> None:
    """End a session (nothing happens for an unknown token)."""
    if not token:
        return
    with ws.session() as conn:
        conn.execute(db.sessions.delete().where(db.sessions.c.token_hash == _token_hash(token)))
