"""Who may do what: roles, actions and the check the store runs before every
write. The store enforces it, so the UI and the CLI get the same refusals.

>>> p = Principal("lan", Role.COMMUNE_EDITOR, commune="Đăk Ruồng")
>>> allowed(p, Action.EDIT_ITEM, commune="Đăk Ruồng"), allowed(p, Action.EDIT_ITEM, commune="Tân Lập")
(True, False)
>>> allowed(Principal("an", Role.VIEWER), Action.EDIT_ITEM)
False
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from errors import PermissionDenied
from models.enums import Role


class Action(str, enum.Enum):
    EDIT_ITEM = "edit_item"  # status, notes, photos, links of a spot, case or work
    CREATE_ITEM = "create_item"  # record a case, create a work, flag a potential point
    DELETE_ITEM = "delete_item"  # soft delete
    RESTORE_ITEM = "restore_item"  # undo a soft delete
    IMPORT = "import"  # crash, road, boundary files; undo a batch
    SCREEN = "screen"  # re-run the black-spot screening
    MANAGE_PLANS = "manage_plans"  # plans, sections, agencies
    MANAGE_USERS = "manage_users"
    MANAGE_RULES = "manage_rules"


#: Actions each role may take. A commune editor's item actions are further
#: limited to items of its own commune.
ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset(),
    Role.COMMUNE_EDITOR: frozenset({Action.EDIT_ITEM, Action.CREATE_ITEM, Action.IMPORT}),
    Role.COMMITTEE_EDITOR: frozenset(
        {Action.EDIT_ITEM, Action.CREATE_ITEM, Action.DELETE_ITEM, Action.IMPORT, Action.SCREEN}
    ),
    Role.ADMIN: frozenset(Action),
}
COMMUNE_SCOPED = {Action.EDIT_ITEM, Action.CREATE_ITEM, Action.IMPORT}

_ACTION_VI = {
    Action.EDIT_ITEM: "sửa",
    Action.CREATE_ITEM: "tạo mới",
    Action.DELETE_ITEM: "xóa",
    Action.RESTORE_ITEM: "khôi phục",
    Action.IMPORT: "nhập dữ liệu",
    Action.SCREEN: "rà soát điểm đen",
    Action.MANAGE_PLANS: "quản lý kế hoạch, cơ quan",
    Action.MANAGE_USERS: "quản lý tài khoản",
    Action.MANAGE_RULES: "quản lý bộ quy tắc",
}


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the store sees it."""

    username: str
    role: Role
    commune: str | None = None


#: The principal of set-up work with no accounts (demo load, migrations, tests).
SYSTEM = Principal("system", Role.ADMIN)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.strip().casefold() == b.strip().casefold()


def allowed(p: Principal, action: Action, *, commune: str | None = None) -> bool:
    if action not in ROLE_ACTIONS[p.role]:
        return False
    if p.role == Role.COMMUNE_EDITOR and action in COMMUNE_SCOPED:
        return _same(p.commune, commune)
    return True


def check(p: Principal, action: Action, *, commune: str | None = None) -> None:
    """Raise :class:`PermissionDenied` with a clear message when not allowed."""
    if allowed(p, action, commune=commune):
        return
    if action in ROLE_ACTIONS[p.role] and p.role == Role.COMMUNE_EDITOR:
        raise PermissionDenied(
            f"Tài khoản {p.username} chỉ được {_ACTION_VI[action]} mục của xã {p.commune}; mục này thuộc "
            f"{commune or '(chưa rõ xã)'} / User {p.username} may only {action.value} items of {p.commune}; this item "
            f"belongs to {commune or '(no commune)'}"
        )
    raise PermissionDenied(
        f"Vai trò '{p.role.vi}' của {p.username} không được {_ACTION_VI[action]} / Role '{p.role.en}' of "
        f"{p.username} may not {action.value}"
    )
