"""Accounts: password hashing (argon2id), sign-in, session time-out. Works
offline; no outside identity provider. No UI here.

>>> h = hash_password("mật khẩu tốt 2024")
>>> h.startswith("$argon2id$"), verify_password(h, "mật khẩu tốt 2024"), verify_password(h, "sai")
(True, True, False)
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

import settings
from errors import AuthError, TransitionError
from models.enums import Role
from models.permissions import Principal

if TYPE_CHECKING:
    from models.store import Store  # models imports this module: the type only

_HASHER = PasswordHasher()
MIN_PASSWORD = 8


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def validate_new_password(password: str | None) -> None:
    if not password or len(password) < MIN_PASSWORD:
        raise TransitionError(
            f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự / A password needs at least {MIN_PASSWORD} characters"
        )


def add_user(
    store: Store,
    *,
    username: str,
    password: str,
    role: str,
    commune: str | None = None,
    full_name: str | None = None,
    user: str | None = None,
) -> int:
    """Create an account: the name's form, a commune editor's commune and the
    password checked, the password kept only as its argon2id hash."""
    role = Role(role)
    username = (username or "").strip().lower()
    if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
        raise TransitionError("Tên đăng nhập chỉ gồm chữ, số, . _ - / A user name is letters, digits, . _ -")
    if role == Role.COMMUNE_EDITOR and not (commune or "").strip():
        raise TransitionError("Biên tập cấp xã cần có tên xã / A commune editor needs a commune")
    validate_new_password(password)
    user_id: int = store.add_user(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        commune=(commune or "").strip() or None,
        full_name=full_name,
        user=user,
    )
    return user_id


def update_user(
    store: Store,
    user_id: int,
    *,
    expected_version: int,
    user: str | None = None,
    password: str | None = None,
    **values: Any,
) -> None:
    """Change an account: a new password checked and hashed, a role checked."""
    if password is not None:
        validate_new_password(password)
        values["password_hash"] = hash_password(password)
    if "role" in values:
        values["role"] = Role(values["role"]).value
    store.update_user(user_id, expected_version=expected_version, user=user, **values)


def authenticate(store: Store, username: str, password: str) -> Principal:
    """The principal of a valid, active account; :class:`AuthError` otherwise
    (the same message for an unknown user and a wrong password)."""
    rec = store.get_user_record(username)
    if rec is None or not verify_password(rec["password_hash"], password or ""):
        raise AuthError("Sai tên đăng nhập hoặc mật khẩu / Wrong user name or password")
    if not rec["active"]:
        raise AuthError("Tài khoản đã bị khóa / The account is disabled")
    return Principal(rec["username"], Role(rec["role"]), commune=rec["commune"])


def expired(last_seen: datetime | None, *, now: datetime | None = None, minutes: float | None = None) -> bool:
    """Has a session been idle longer than the time-out?

    >>> expired(datetime(2025, 1, 1, 8, 0), now=datetime(2025, 1, 1, 8, 45), minutes=30)
    True
    """
    if last_seen is None:
        return True
    now = now or datetime.now()
    return now - last_seen > timedelta(minutes=settings.SESSION_TIMEOUT_MIN if minutes is None else minutes)


# ------------------------------------------------------------ tokens
def new_token() -> str:
    """A random secret of 256 bits, URL-safe."""
    import secrets

    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What the store keeps of a token: its SHA-256 (a random 256-bit token
    needs no slow hash).

    >>> len(token_digest("abc")), token_digest("abc") == token_digest("abc")
    (64, True)
    """
    import hashlib

    return hashlib.sha256(str(token or "").encode()).hexdigest()


def _active_principal(store: Store, username: str) -> Principal | None:
    rec = store.get_user_record(username)
    if rec is None or not rec["active"]:
        return None
    return Principal(rec["username"], Role(rec["role"]), commune=rec["commune"])


# ------------------------------------------------------- web sessions
#: A session lasts at most this long even when used all the time.
SESSION_MAX_HOURS = 12
#: last_seen is written at most this often (seconds), not on every rerun.
_TOUCH_EVERY_S = 60


def start_session(store: Store, principal: Principal, *, now: datetime | None = None) -> str:
    """Open a browser session for a signed-in user; returns the token for its cookie."""
    token = new_token()
    now = now or datetime.now()
    store.add_web_session(
        token_hash=token_digest(token), username=principal.username, expires_at=now + timedelta(hours=SESSION_MAX_HOURS)
    )
    return token


def resume_session(
    store: Store, token: str | None, *, now: datetime | None = None, minutes: float | None = None
) -> Principal | None:
    """The principal of a live session (not ended, not past its end, not idle
    longer than the time-out, its account still active), else None."""
    if not token:
        return None
    now = now or datetime.now()
    rec = store.get_web_session(token_digest(token))
    if rec is None or rec["ended"] or now >= rec["expires_at"] or expired(rec["last_seen"], now=now, minutes=minutes):
        return None
    p = _active_principal(store, rec["username"])
    if p is not None and (now - rec["last_seen"]).total_seconds() >= _TOUCH_EVERY_S:
        store.touch_web_session(token_digest(token), at=now)
    return p


def touch_session(store: Store, token: str | None, *, now: datetime | None = None) -> None:
    """Note activity on a session (at most once a minute)."""
    if token:
        resume_session(store, token, now=now)


def end_session(store: Store, token: str | None) -> None:
    if token:
        store.end_web_session(token_digest(token))


# ----------------------------------------------------- service tokens
def create_service_token(store: Store, name: str, username: str) -> str:
    """A token for scripts acting as ``username`` (admins only). Shown once;
    the store keeps its hash."""
    token = new_token()
    store.add_service_token(name=name, username=username, token_hash=token_digest(token))
    return token


def authenticate_token(store: Store, token: str) -> Principal:
    rec = store.get_service_token(token_digest(token.strip()))
    if rec is None or rec["revoked"]:
        raise AuthError("Mã truy cập không hợp lệ hoặc đã bị thu hồi / Unknown or revoked token")
    p = _active_principal(store, rec["username"])
    if p is None:
        raise AuthError(f"Tài khoản {rec['username']} của mã truy cập đã bị khóa / The token's account is disabled")
    store.touch_service_token(rec["id"], at=datetime.now())
    return p
