"""Rule sets as data: black-spot tests and severity classes, read from
``data/rules/*.json``. Nothing here is a code branch per regulation.

The folder of the rule files is a parameter (``rules_dir``, default the
files that ship with the tool); the app passes ``settings.RULES_DIR``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from errors import RuleSetError

#: The rule files that ship with the tool.
RULES_DIR = Path(__file__).resolve().parent.parent / "data" / "rules"

COUNTERS = ("crashes", "fatal", "injury_only", "collisions")


@dataclass(frozen=True)
class Test:
    """One regulatory test: met when every counter reaches its minimum."""

    code: str
    label_vi: str
    label_en: str
    min: dict[str, int]

    def label(self, lang: str = "vi") -> str:
        """The test's label in ``lang``.

        Parameters
        ----------
        lang
            ``"vi"`` for Vietnamese, anything else for English.

        Returns
        -------
        str
            ``label_vi`` or ``label_en``.

        Examples
        --------
        >>> Test("x", "Thử", "Trial", {"crashes": 2}).label("en")
        'Trial'
        """
        return self.label_vi if lang == "vi" else self.label_en


@dataclass(frozen=True)
class RuleSet:
    """A black-spot rule set (regulation)."""

    id: str
    name: str
    effective_from: str
    exclude_not_infrastructure: bool
    window_months: int
    segment_length_m: dict[str, float]
    blackspot_tests: tuple[Test, ...]
    potential_tests: tuple[Test, ...]
    effective_to: str | None = None

    def test(self, code: str) -> Test:
        """A test of the rule set (black-spot or potential-point) by its code.

        Parameters
        ----------
        code
            The test's code.

        Returns
        -------
        Test

        Raises
        ------
        KeyError
            When no test of the rule set has that code.

        Examples
        --------
        >>> rs = get_ruleset("tt41-2024")
        >>> rs.test(rs.blackspot_tests[0].code) == rs.blackspot_tests[0]
        True
        """
        for t in self.blackspot_tests + self.potential_tests:
            if t.code == code:
                return t
        raise KeyError(code)


@dataclass(frozen=True)
class SeverityClass:
    code: str
    rank: int
    label_vi: str
    label_en: str
    any: tuple[dict[str, float], ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SeverityRules:
    classes: tuple[SeverityClass, ...]
    unknown_injury_pct_class: str
    source: str


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    except FileNotFoundError as exc:
        raise RuleSetError(f"Thiếu tệp quy tắc / Rule file missing: {path}") from exc
    except json.JSONDecodeError as exc:
        raise RuleSetError(f"Tệp quy tắc lỗi / Malformed rule file {path}: {exc}") from exc


def _test(d: dict[str, Any]) -> Test:
    bad = set(d["min"]) - set(COUNTERS)
    if bad:
        raise RuleSetError(f"Bộ đếm không biết / Unknown counter in test {d['code']}: {sorted(bad)}")
    return Test(
        code=d["code"],
        label_vi=d["label_vi"],
        label_en=d.get("label_en", d["label_vi"]),
        min={k: int(v) for k, v in d["min"].items()},
    )


@lru_cache(maxsize=8)
def load_rulesets(*, rules_dir: Path = RULES_DIR) -> dict[str, RuleSet]:
    """All black-spot rule sets by id, from ``rules_dir/blackspot_rules.json``.

    Parameters
    ----------
    rules_dir
        The folder of the rule files (default: the files that ship with the tool).

    Returns
    -------
    dict of str to RuleSet
        Rule set id → rule set, in the file's order (kept per folder).

    Raises
    ------
    errors.RuleSetError
        When the file is missing or malformed, lacks a field, or a test names an
        unknown counter.

    Examples
    --------
    >>> sorted(load_rulesets())[:2]
    ['tt26-2012', 'tt41-2024']
    """
    raw = _load_json(Path(rules_dir) / "blackspot_rules.json")
    out = {}
    try:
        for r in raw["rulesets"]:
            out[r["id"]] = RuleSet(
                id=r["id"],
                name=r["name"],
                effective_from=r["effective_from"],
                effective_to=r.get("effective_to"),
                exclude_not_infrastructure=bool(r["exclude_not_infrastructure"]),
                window_months=int(r["window_months"]),
                segment_length_m={k: float(v) for k, v in r["segment_length_m"].items()},
                blackspot_tests=tuple(_test(t) for t in r["blackspot_tests"]),
                potential_tests=tuple(_test(t) for t in r["potential_tests"]),
            )
    except KeyError as exc:
        raise RuleSetError(f"Tệp quy tắc thiếu trường / Rule file lacks field {exc}") from exc
    return out


def get_ruleset(ruleset: str | RuleSet | None = None, *, rules_dir: Path = RULES_DIR) -> RuleSet:
    """A rule set by id; ``None``: the newest (the latest ``effective_from``).
    The app passes its own default (``settings.DEFAULT_RULESET``).

    Parameters
    ----------
    ruleset
        A rule set id, a rule set (returned as it is) or None.
    rules_dir
        The folder of the rule files (default: the files that ship with the tool).

    Returns
    -------
    RuleSet

    Raises
    ------
    errors.RuleSetError
        When no rule set has that id.

    Examples
    --------
    >>> get_ruleset().id, get_ruleset("tt26-2012").id
    ('tt41-2024', 'tt26-2012')
    """
    if isinstance(ruleset, RuleSet):
        return ruleset
    sets = load_rulesets(rules_dir=rules_dir)
    if not ruleset and sets:
        return max(sets.values(), key=lambda r: r.effective_from)
    key = ruleset
    if key not in sets:
        raise RuleSetError(f"Không có bộ quy tắc / No rule set '{key}'. Có / Available: {', '.join(sets)}")
    return sets[key]


@lru_cache(maxsize=4)
def load_severity(*, rules_dir: Path = RULES_DIR) -> SeverityRules:
    """The crash severity classes, from ``rules_dir/severity.json``.

    Parameters
    ----------
    rules_dir
        The folder of the rule files (default: the files that ship with the tool).

    Returns
    -------
    SeverityRules
        The classes, highest rank first, the class of an unknown injury % and
        the source regulation.

    Examples
    --------
    >>> load_severity().classes[-1].code
    'va_cham'
    """
    raw = _load_json(Path(rules_dir) / "severity.json")
    classes = tuple(
        sorted(
            (
                SeverityClass(
                    code=c["code"],
                    rank=int(c["rank"]),
                    label_vi=c["label_vi"],
                    label_en=c["label_en"],
                    any=tuple(c["any"]),
                )
                for c in raw["classes"]
            ),
            key=lambda c: -c.rank,
        )
    )
    return SeverityRules(
        classes=classes, unknown_injury_pct_class=raw["unknown_injury_pct_class"], source=raw.get("source", "")
    )
