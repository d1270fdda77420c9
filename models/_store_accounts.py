"""User accounts (password hashes only)."""
from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from errors import ConflictError, NotFoundError, TransitionError
from models._store_base import _conflict_message
from models.orm import User
from models.permissions import Action


class AccountsMixin:
    """User accounts (password hashes only)."""

    # ------------------------------------------------------------- accounts
    def users_frame(self) -> pd.DataFrame:
        df = self._frame(User)
        return df.drop(columns=["password_hash"])

    def add_user(self, *, username: str, password: str, role: str, commune: str | None = None,
                 full_name: str | None = None, user: str | None = None) -> int:
        """Create an account (admins only; the first admin from the CLI)."""
        from models.enums import Role
        from services.auth import hash_password, validate_new_password

        if self.user_count() > 0:
            self._check(Action.MANAGE_USERS)
        role = Role(role)
        username = (username or "").strip().lower()
        if not username or not username.replace(".", "").replace("_", "").replace("-", "").isalnum():
            raise TransitionError("Tên đăng nhập chỉ gồm chữ, số, . _ - / A user name is letters, digits, . _ -")
        if role == Role.COMMUNE_EDITOR and not (commune or "").strip():
            raise TransitionError("Biên tập cấp xã cần có tên xã / A commune editor needs a commune")
        validate_new_password(password)
        with self.session(user) as s:
            if s.execute(select(User.id).where(User.username == username)).first():
                raise ConflictError(f"Đã có tài khoản {username} / User {username} exists")
            u = User(username=username, password_hash=hash_password(password), role=role.value,
                     commune=(commune or "").strip() or None, full_name=full_name, active=True,
                     created_at=datetime.now(), updated_by=self._who(user))
            s.add(u)
            s.flush()
            return u.id

    def update_user(self, user_id: int, *, expected_version: int, user: str | None = None, password: str | None = None,
                    **values) -> None:
        self._check(Action.MANAGE_USERS)
        if password is not None:
            from services.auth import hash_password, validate_new_password

            validate_new_password(password)
            values["password_hash"] = hash_password(password)
        if "role" in values:
            from models.enums import Role

            values["role"] = Role(values["role"]).value
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
            row = conn.execute(select(User).where(User.username == (username or "").strip().lower(),
                                                  User.deleted.is_(False))).mappings().first()
            return dict(row) if row else None
