"""Accounts: password hashing (argon2id), sign-in, session time-out. Works
offline; no outside identity provider. No UI here.

>>> h = hash_password("mật khẩu tốt 2024")
>>> h.startswith("$argon2id$"), verify_password(h, "mật khẩu tốt 2024"), verify_password(h, "sai")
(True, True, False)
"""
from __future__ import annotations

from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

import settings
from errors import AuthError, TransitionError
from models.enums import Role
from models.permissions import Principal

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
        raise TransitionError(f"Mật khẩu cần ít nhất {MIN_PASSWORD} ký tự / A password needs at least "
                              f"{MIN_PASSWORD} characters")


def authenticate(store, username: str, password: str) -> Principal:
    """The principal of a valid, active account; :class:`AuthError` otherwise
    (the same message for an unknown user and a wrong password)."""
    rec = store.get_user_record(username)
    if rec is None or not verify_password(rec["password_hash"], password or ""):
        raise AuthError("Sai tên đăng nhập hoặc mật khẩu / Wrong user name or password")
    if not rec["active"]:
        raise AuthError("Tài khoản đã bị khóa / The account is disabled")
    return Principal(rec["username"], Role(rec["role"]), commune=rec["commune"])


def principal_of(store, username: str) -> Principal:
    """The principal of an existing active account, for the command line."""
    rec = store.get_user_record(username)
    if rec is None or not rec["active"]:
        raise AuthError(f"Không có tài khoản đang hoạt động '{username}' / No active account '{username}'")
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
