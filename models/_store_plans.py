"""Plans, sections, agencies and the links of items to them."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select

from errors import NotFoundError, TransitionError
from models.enums import ItemType
from models.orm import Agency, Blackspot, EncroachmentCase, Plan, PlanLink, PlanSection, RemediationWork
from models.permissions import Action


class PlansMixin:
    """Plans, sections, agencies and the links of items to them."""

    # ------------------------------------------------- plans and agencies
    def save_plan(self, draft, *, user: str | None = None, seed_agencies: bool = True) -> int:
        """Save a reviewed :class:`~services.plan_parser.PlanDraft` (or a plan
        entered by hand) with its sections; optionally seed the agency list
        with the agencies it names (its issuer, recipients and standing body)."""
        self._check(Action.MANAGE_PLANS)
        if not (draft.title or "").strip():
            raise TransitionError("Kế hoạch cần có tên / A plan needs a title")
        if not draft.sections:
            raise TransitionError("Kế hoạch cần ít nhất một mục nội dung / A plan needs at least one section")
        with self.session(user) as s:
            plan = Plan(
                number=draft.number,
                issued_on=draft.issued_on,
                issuer=draft.issuer,
                place=draft.place,
                title=draft.title.strip(),
                period_from=draft.period_from,
                period_to=draft.period_to,
                signer=draft.signer,
                recipients=list(draft.recipients),
                targets=list(draft.targets),
                updated_by=user,
            )
            for i, sec in enumerate(draft.sections):
                plan.sections.append(
                    PlanSection(position=i, code=sec.code, title=sec.title, text=sec.text, updated_by=user)
                )
            s.add(plan)
            s.flush()
            plan_id = plan.id
        if seed_agencies:
            self.seed_agencies(draft, user=user)
        return plan_id

    def seed_agencies(self, draft, *, user: str | None = None) -> list[int]:
        """Agencies a plan names that are not yet in the list (names compared
        without case): ``draft.agencies()`` gives each as (name, level,
        standing body), read from the plan by ``services.plan_parser``."""
        self._check(Action.MANAGE_PLANS)
        existing = {n.lower() for n in self.agencies_frame()["name"]}
        ids = []
        with self.session(user) as s:
            for name, level, is_standing in draft.agencies():
                if name.lower() in existing:
                    continue
                existing.add(name.lower())
                a = Agency(name=name, level=level, is_standing_body=is_standing, updated_by=user)
                s.add(a)
                s.flush()
                ids.append(a.id)
        return ids

    def plans_frame(self) -> pd.DataFrame:
        return self._frame(Plan)

    def sections_frame(self, plan_id: int | None = None) -> pd.DataFrame:
        q = select(PlanSection).where(PlanSection.deleted.is_(False))
        if plan_id is not None:
            q = q.where(PlanSection.plan_id == plan_id)
        return self._frame(PlanSection, q.order_by(PlanSection.plan_id, PlanSection.position))

    def add_agency(self, *, name: str, user: str | None = None, **fields) -> int:
        self._check(Action.MANAGE_PLANS)
        if not name or not name.strip():
            raise TransitionError("Cần tên cơ quan / An agency needs a name")
        with self.session(user) as s:
            a = Agency(name=name.strip(), updated_by=user, **fields)
            s.add(a)
            s.flush()
            return a.id

    def agencies_frame(self) -> pd.DataFrame:
        """The agencies (read once per data version)."""
        return self.read_cached("agencies", lambda: self._frame(Agency), tables=("agency",))

    def link_item(
        self,
        item_type: ItemType | str,
        item_id: int,
        *,
        section_id: int | None,
        lead_agency_id: int | None,
        cooperating_agency_ids: list[int] | None = None,
        user: str | None = None,
    ) -> int:
        """Link a black spot, case or work to a plan section, a lead agency and
        cooperating agencies (one link per item; a new link replaces the old)."""
        item_type = ItemType(item_type)
        model = {ItemType.BLACKSPOT: Blackspot, ItemType.CASE: EncroachmentCase, ItemType.WORK: RemediationWork}[
            item_type
        ]
        coop = sorted({int(a) for a in (cooperating_agency_ids or []) if a is not None and a != lead_agency_id})
        with self.session(user) as s:
            item = s.get(model, item_id)
            if item is None or item.deleted:
                raise NotFoundError(f"Không tìm thấy mục số {item_id} / Item {item_id} not found")
            self._check(Action.EDIT_ITEM, commune=item.commune)
            if section_id is not None and s.get(PlanSection, section_id) is None:
                raise NotFoundError(f"Không có mục kế hoạch số {section_id} / No plan section {section_id}")
            for a in [lead_agency_id, *coop]:
                if a is not None and s.get(Agency, a) is None:
                    raise NotFoundError(f"Không có cơ quan số {a} / No agency {a}")
            link = s.execute(
                select(PlanLink).where(PlanLink.item_type == item_type, PlanLink.item_id == item_id)
            ).scalar_one_or_none()
            if link is None:
                link = PlanLink(item_type=item_type, item_id=item_id)
                s.add(link)
            link.section_id, link.lead_agency_id, link.cooperating_agency_ids = section_id, lead_agency_id, coop
            link.updated_by = user
            if item_type == ItemType.WORK and lead_agency_id is not None:
                item.agency_id = lead_agency_id  # a work's lead agency is one field, in its list and its link
            s.flush()
            return link.id

    def links_frame(self) -> pd.DataFrame:
        return self._frame(PlanLink)
