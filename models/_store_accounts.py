"""User accounts (password hashes only)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm.exc import StaleDataError

from errors import ConflictError, NotFoundError
from models._store_base import _conflict_message
from models.orm import AppSetting, ServiceToken, User, WebSession
from models.permissions import Action


class AccountsMixin:
    """User accounts (password hashes only)."""

    # ------------------------------------------------------------- accounts
    def users_frame(self) -> pd.DataFrame:
        df = self._frame(User)
        return df.drop(columns=["password_hash"])

    def add_user(
        self,
        *,
        username: str,
        password_hash: str,
        role: str,
        commune: str | None = None,
        full_name: str | None = None,
        user: str | None = None,
    ) -> int:
        """Persist an account (admins only; the first admin from the CLI). The
        account rules and the password's hash are the service's
        (:func:`services.auth.add_user`)."""
        if self.user_count() > 0:
            self._check(Action.MANAGE_USERS)
        with self.session(user) as s:
            if s.execute(select(User.id).where(User.username == username)).first():
                raise ConflictError(f"Đã có tài khoản {username} / User {username} exists")
            u = User(
                username=username,
                password_hash=password_hash,
                role=role,
                commune=commune,
                full_name=full_name,
                active=True,
                created_at=datetime.now(),
                updated_by=self._who(user),
            )
            s.add(u)
            s.flush()
            return u.id

    def update_user(self, user_id: int, *, expected_version: int, user: str | None = None, **values) -> None:
        """Change an account's fields (``password_hash`` already hashed by the service)."""
        self._check(Action.MANAGE_USERS)
        try:
            with self.session(user) as s:
                obj = s.get(User, user_id)
                if obj is None:
                    raise NotFoundError(f"Không có tài khoản số {user_id} / No user {user_id}")
                if obj.version != expected_version:
                    raise ConflictError(_conflict_message(obj))
                for k, v in values.items():
                    setattr(obj, k, v)
                obj.updated_by = self._who(user)
        except StaleDataError as exc:
            raise ConflictError("Tài khoản vừa được người khác sửa / Changed by someone else; reload") from exc

    def user_count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(User).where(User.deleted.is_(False))).scalar_one()

    def get_user_record(self, username: str) -> dict | None:
        """The account row (with its hash) for authentication; None when unknown."""
        with self.engine.connect() as conn:
            row = (
                conn.execute(
                    select(User).where(User.username == (username or "").strip().lower(), User.deleted.is_(False))
                )
                .mappings()
                .first()
            )
            return dict(row) if row else None

    # ------------------------------------------------------- web sessions
    def add_web_session(self, *, token_hash: str, username: str, expires_at: datetime) -> None:
        """Record a signed-in browser (the token's hash only)."""
        now = datetime.now()
        with self.session() as s:
            s.add(
                WebSession(
                    token_hash=token_hash,
                    username=username,
                    created_at=now,
                    last_seen=now,
                    expires_at=expires_at,
                    ended=False,
                )
            )

    def get_web_session(self, token_hash: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(WebSession).where(WebSession.token_hash == token_hash)).mappings().first()
            return dict(row) if row else None

    def touch_web_session(self, token_hash: str, *, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(WebSession).where(WebSession.token_hash == token_hash).values(last_seen=at))

    def end_web_session(self, token_hash: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(WebSession).where(WebSession.token_hash == token_hash).values(ended=True))

    # ----------------------------------------------------- service tokens
    def add_service_token(self, *, name: str, username: str, token_hash: str, user: str | None = None) -> int:
        """Store a script's token (its hash) acting as ``username`` (admins only)."""
        self._check(Action.MANAGE_USERS)
        if self.get_user_record(username) is None:
            raise NotFoundError(f"Không có tài khoản {username} / No user {username}")
        with self.session(user) as s:
            t = ServiceToken(
                name=name.strip()[:100],
                username=username.strip().lower(),
                token_hash=token_hash,
                created_at=datetime.now(),
                created_by=self._who(user),
                revoked=False,
            )
            s.add(t)
            s.flush()
            return t.id

    def get_service_token(self, token_hash: str) -> dict | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(ServiceToken).where(ServiceToken.token_hash == token_hash)).mappings().first()
            return dict(row) if row else None

    def touch_service_token(self, token_id: int, *, at: datetime) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(ServiceToken).where(ServiceToken.id == token_id).values(last_used_at=at))

    def service_tokens_frame(self) -> pd.DataFrame:
        self._check(Action.MANAGE_USERS)
        with self.engine.connect() as conn:
            return pd.read_sql(
                select(
                    ServiceToken.id,
                    ServiceToken.name,
                    ServiceToken.username,
                    ServiceToken.created_at,
                    ServiceToken.created_by,
                    ServiceToken.last_used_at,
                    ServiceToken.revoked,
                ).order_by(ServiceToken.id),
                conn,
            )

    def revoke_service_token(self, token_id: int, *, user: str | None = None) -> None:
        self._check(Action.MANAGE_USERS)
        with self.session(user) as s:
            t = s.get(ServiceToken, token_id)
            if t is None:
                raise NotFoundError(f"Không có mã truy cập số {token_id} / No token {token_id}")
            t.revoked = True

    # ------------------------------------------------------------ settings
    def get_setting(self, key: str) -> dict | None:
        with self.engine.connect() as conn:
            return conn.execute(select(AppSetting.value).where(AppSetting.key == key)).scalar_one_or_none()

    def set_setting(
        self, key: str, value: dict, *, user: str | None = None, action: Action = Action.MANAGE_USERS
    ) -> None:
        """Create or replace a setting (admins, or who may take ``action``); audited old → new."""
        self._check(action)
        with self.session(user) as s:
            row = s.execute(select(AppSetting).where(AppSetting.key == key)).scalar_one_or_none()
            if row is None:
                s.add(AppSetting(key=key, value=value, updated_by=self._who(user)))
            else:
                row.value = value
                row.updated_by = self._who(user)
