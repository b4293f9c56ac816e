"""Form state and view models for the supervisor pages.

A page form is flat (`name=value` pairs); the domains' Pydantic schemas are nested. This
module translates both ways:

- `*_values(obj)` turn what a service returned into the flat values a form shows;
- `*_payload(form)` turn a submitted form into the dict the schema validates, plus the
  errors that only the form can find (an opening time without a closing time);
- `FormState.absorb(exc)` puts a Pydantic `ValidationError` or a service's `DomainError`
  next to the field it is about, using the form's `loc -> field name` map.

Nothing here touches the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from tierdesk.core.errors import DomainError
from tierdesk.routing.schemas import Kind, Op, resolve_field
from tierdesk.sla.models import Metric
from tierdesk.tiers.schemas import CalendarIn, check_holiday

WEEKDAYS = ("0", "1", "2", "3", "4", "5", "6")
MIN_INTERVAL_SLOTS = 2
BLANK_CONDITION_ROWS = 2
GENERAL = "__all__"


def N_(message: str) -> str:
    """Mark a string for the catalogs; the template translates it when it renders."""
    return message


@dataclass(frozen=True)
class Msg:
    """An error or notice. `translate` is set for our own sentences (msgids in the
    catalogs); messages from the schemas and services are shown as they come."""

    text: str
    params: Mapping[str, Any] = field(default_factory=dict)
    translate: bool = False


def own(text: str, **params: Any) -> Msg:
    return Msg(text, params, translate=True)


Form = Mapping[str, Any]  # starlette FormData or a plain dict in tests
LocMap = Callable[[tuple[Any, ...]], str]


def _dotted(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or GENERAL


def field_loc(loc: tuple[Any, ...]) -> str:
    """Flat forms: the error belongs to the field the location starts with."""
    return str(loc[0]) if loc and loc[0] != "" else GENERAL


@dataclass
class FormState:
    """What a form shows: the values (as submitted, or from the record) and the errors."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[Msg]] = field(default_factory=dict)

    def value(self, name: str, default: Any = "") -> Any:
        found = self.values.get(name)
        return default if found is None else found

    def checked(self, name: str) -> bool:
        return bool(self.values.get(name))

    def has(self, name: str, option: Any) -> bool:
        """For multi-valued fields (checkbox groups)."""
        got = self.values.get(name) or []
        return str(option) in {str(v) for v in got}

    def error(self, name: str, msg: Msg | str) -> None:
        self.errors.setdefault(name, []).append(msg if isinstance(msg, Msg) else Msg(msg))

    def errors_for(self, name: str) -> list[Msg]:
        return self.errors.get(name, [])

    @property
    def general(self) -> list[Msg]:
        return self.errors.get(GENERAL, [])

    @property
    def ok(self) -> bool:
        return not self.errors

    def absorb(self, exc: ValidationError | DomainError, loc_map: LocMap = _dotted) -> None:
        """Put each error of `exc` next to its field (`loc_map` turns a schema location
        into a form field name), or at the top of the form when it names no field."""
        if isinstance(exc, ValidationError):
            for err in exc.errors():
                self.error(loc_map(tuple(err.get("loc", ()))), _pydantic_message(err))
            return
        listed = exc.extra.get("errors")
        if isinstance(listed, list) and listed:
            for item in listed:
                path = tuple(str(item.get("field", "")).split(".")) if item.get("field") else ()
                self.error(loc_map(path) if path else GENERAL, str(item.get("message", exc.detail)))
            return
        named = exc.extra.get("field")
        self.error(loc_map((named,)) if isinstance(named, str) else GENERAL, exc.detail)


def _pydantic_message(err: Mapping[str, Any]) -> Msg:
    kind = err.get("type", "")
    if kind == "missing":
        return own(N_("This field is required."))
    if kind == "string_too_short":
        return own(N_("This field cannot be empty."))
    if kind == "extra_forbidden":
        return own(N_("This field is not accepted here."))
    return Msg(str(err.get("msg", "is not valid")).removeprefix("Value error, "))


# --- small parsing helpers --------------------------------------------------------------------
def text(form: Form, name: str) -> str:
    raw = form.get(name)
    return raw.strip() if isinstance(raw, str) else ""


def optional(form: Form, name: str) -> str | None:
    """Blank means "not set" (None): the schema then applies its default or "any"."""
    return text(form, name) or None


def flag(form: Form, name: str) -> bool:
    return text(form, name) in ("on", "true", "1", "yes")


def many(form: Form, name: str) -> list[str]:
    getlist = getattr(form, "getlist", None)
    if getlist is not None:
        return [v for v in getlist(name) if isinstance(v, str) and v.strip()]
    raw = form.get(name)
    if isinstance(raw, list):
        return [str(v) for v in raw if str(v).strip()]
    return [raw] if isinstance(raw, str) and raw.strip() else []


def split_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]


def int_ids(values: Iterable[str], form: FormState, name: str) -> list[int]:
    out = []
    for v in values:
        if v.strip().isdigit():
            out.append(int(v))
        else:
            form.error(name, own(N_("'%(value)s' is not a valid choice."), value=v[:40]))
    return out


# --- tiers ---------------------------------------------------------------------------------------
TIER_FIELDS = ("key", "name", "level", "description", "time_box_minutes", "calendar_id")
TIER_FLAGS = ("self_service", "vendor", "enabled", "is_default")


def tier_values(tier: Any | None) -> dict[str, Any]:
    if tier is None:
        return {"enabled": True, "level": ""}
    values: dict[str, Any] = {
        name: "" if getattr(tier, name) is None else str(getattr(tier, name)) for name in TIER_FIELDS
    }
    values |= {name: bool(getattr(tier, name)) for name in TIER_FLAGS}
    return values


def tier_payload(form: Form) -> tuple[dict[str, Any], dict[str, Any]]:
    """(shown values, schema input). Blank time box = no limit; blank calendar = none."""
    values: dict[str, Any] = {name: text(form, name) for name in TIER_FIELDS}
    values |= {name: flag(form, name) for name in TIER_FLAGS}
    data: dict[str, Any] = {
        "key": values["key"],
        "name": values["name"],
        "level": values["level"] or None,
        "description": values["description"],
        "time_box_minutes": values["time_box_minutes"] or None,
        "calendar_id": values["calendar_id"] or None,
    } | {name: values[name] for name in TIER_FLAGS}
    if data["level"] is None:
        data.pop("level")  # "required" rather than "not a number"
    return values, data


def path_payload(form: Form, from_tier_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The "to" select holds "tier:<id>" or "team:<id>"."""
    target = text(form, "to")
    roles = many(form, "allowed_roles")
    values = {"to": target, "allowed_roles": roles}
    kind, _, ident = target.partition(":")
    data: dict[str, Any] = {"from_tier_id": from_tier_id, "allowed_roles": roles}
    if kind == "tier":
        data["to_tier_id"] = ident
    elif kind == "team":
        data["to_team_id"] = ident
    return values, data


def path_loc(loc: tuple[Any, ...]) -> str:
    head = str(loc[0]) if loc else ""
    if head in ("to_tier_id", "to_team_id", "from_tier_id"):
        return "to"
    return head or GENERAL


# --- teams ---------------------------------------------------------------------------------------
TEAM_FIELDS = ("key", "name", "kind", "lead_id", "calendar_id", "email", "description")


def team_values(team: Any | None) -> dict[str, Any]:
    if team is None:
        return {"kind": "general", "members": []}
    values: dict[str, Any] = {
        name: "" if getattr(team, name) is None else str(getattr(team, name)) for name in TEAM_FIELDS
    }
    values["need_to_know"] = bool(team.need_to_know)
    values["members"] = [str(m) for m in getattr(team, "member_ids", [])]
    return values


def team_payload(form: Form) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {name: text(form, name) for name in TEAM_FIELDS}
    values["need_to_know"] = flag(form, "need_to_know")
    values["members"] = many(form, "members")
    data = {
        "key": values["key"],
        "name": values["name"],
        "kind": values["kind"] or "general",
        "need_to_know": values["need_to_know"],
        "lead_id": values["lead_id"] or None,
        "calendar_id": values["calendar_id"] or None,
        "email": values["email"] or None,
        "description": values["description"],
    }
    return values, data


# --- calendars -----------------------------------------------------------------------------------
def hours_field(day: str) -> str:
    return f"hours-{day}"


def calendar_values(cal: Any | None) -> dict[str, Any]:
    if cal is None:
        return {"timezone": "UTC", "holidays": "", **{f"hours-{d}": [] for d in WEEKDAYS}}
    values: dict[str, Any] = {"name": cal.name, "timezone": cal.timezone}
    hours = cal.hours or {}
    for day in WEEKDAYS:
        values[hours_field(day)] = [[str(a), str(b)] for a, b in hours.get(day, [])]
    values["holidays"] = "\n".join(str(h) for h in cal.holidays or [])
    return values


def interval_slots(values: Mapping[str, Any], day: str) -> list[list[str]]:
    """The intervals shown for a weekday: the ones set, padded with blank slots."""
    got = [list(i) for i in values.get(hours_field(day)) or []]
    while len(got) < max(MIN_INTERVAL_SLOTS, len([i for i in got if any(i)]) + 1):
        got.append(["", ""])
    return got


def calendar_payload(form: Form, state: FormState) -> dict[str, Any]:
    """Schema input for a calendar; errors the schema cannot place per weekday (a time
    without its partner, an interval ending before it starts, overlaps) go into `state`
    next to that weekday, and holidays are checked line by line."""
    state.values["name"] = text(form, "name")
    state.values["timezone"] = text(form, "timezone")
    hours: dict[str, list[tuple[str, str]]] = {}
    for day in WEEKDAYS:
        intervals: list[list[str]] = []
        slot = 0
        while f"hours-{day}-{slot}-open" in form or f"hours-{day}-{slot}-close" in form:
            start, end = text(form, f"hours-{day}-{slot}-open"), text(form, f"hours-{day}-{slot}-close")
            slot += 1
            if start or end:
                intervals.append([start, end])
            if slot > 24:
                break
        state.values[hours_field(day)] = intervals
        complete = []
        for start, end in intervals:
            if not start or not end:
                state.error(hours_field(day), own(N_("Give both an opening and a closing time (HH:MM).")))
            else:
                complete.append((start, end))
        if not complete:
            continue
        try:
            CalendarIn._hours({day: complete})
        except ValueError as exc:
            state.error(hours_field(day), Msg(str(exc)))
            continue
        hours[day] = complete
    raw_holidays = form.get("holidays")
    state.values["holidays"] = raw_holidays if isinstance(raw_holidays, str) else ""
    holidays = []
    for line in state.values["holidays"].splitlines():
        day = line.strip()
        if not day:
            continue
        try:
            holidays.append(check_holiday(day))
        except ValueError as exc:
            state.error("holidays", Msg(str(exc)))
    return {
        "name": state.values["name"],
        "timezone": state.values["timezone"],
        "hours": hours,
        "holidays": holidays,
    }


def calendar_loc(loc: tuple[Any, ...]) -> str:
    head = str(loc[0]) if loc else GENERAL
    if head == "hours" and len(loc) > 1:
        return hours_field(str(loc[1]))
    return head


# --- SLA policies --------------------------------------------------------------------------------
METRICS = tuple(m.value for m in Metric)
POLICY_FIELDS = ("name", "position", "tier_id", "priority", "plan", "segment", "calendar_id")


def target_field(metric: str, part: str) -> str:
    return f"target-{metric}-{part}"


def policy_values(policy: Any | None) -> dict[str, Any]:
    if policy is None:
        return {"enabled": True, "position": "100", "pause_statuses": ["pending", "on_hold"]}
    values: dict[str, Any] = {
        name: "" if getattr(policy, name) is None else str(getattr(policy, name)) for name in POLICY_FIELDS
    }
    values["enabled"] = bool(policy.enabled)
    values["pause_statuses"] = list(policy.pause_statuses)
    for target in policy.targets:
        values[target_field(target.metric, "minutes")] = str(target.minutes)
        values[target_field(target.metric, "warn")] = str(target.warn_percent)
    return values


@dataclass
class PolicyForm:
    values: dict[str, Any]
    data: dict[str, Any]
    metric_order: list[str]  # targets[i] is for metric_order[i]

    def loc(self, loc: tuple[Any, ...]) -> str:
        head = str(loc[0]) if loc else GENERAL
        if (
            head == "targets"
            and len(loc) >= 2
            and isinstance(loc[1], int)
            and loc[1] < len(self.metric_order)
        ):
            part = "warn" if len(loc) > 2 and loc[2] == "warn_percent" else "minutes"
            return target_field(self.metric_order[loc[1]], part)
        return head


def policy_payload(form: Form) -> PolicyForm:
    """Blank minutes = the policy has no target for that metric; blank tier, priority,
    plan or segment = any."""
    values: dict[str, Any] = {name: text(form, name) for name in POLICY_FIELDS}
    values["enabled"] = flag(form, "enabled")
    values["pause_statuses"] = many(form, "pause_statuses")
    targets = []
    order = []
    for metric in METRICS:
        minutes, warn = text(form, target_field(metric, "minutes")), text(form, target_field(metric, "warn"))
        values[target_field(metric, "minutes")] = minutes
        values[target_field(metric, "warn")] = warn
        if minutes:
            targets.append({"metric": metric, "minutes": minutes} | ({"warn_percent": warn} if warn else {}))
            order.append(metric)
    data: dict[str, Any] = {
        "name": values["name"],
        "position": values["position"] or 100,
        "enabled": values["enabled"],
        "tier_id": values["tier_id"] or None,
        "priority": values["priority"] or None,
        "plan": values["plan"] or None,
        "segment": values["segment"] or None,
        "pause_statuses": values["pause_statuses"],
        "targets": targets,
    }
    if values["calendar_id"]:
        data["calendar_id"] = values["calendar_id"]
    return PolicyForm(values, data, order)


# --- routing rules -------------------------------------------------------------------------------
def cond_field(row: int, part: str) -> str:
    return f"cond-{row}-{part}"


def show_value(value: Any) -> str:
    """A condition value as a supervisor types it: lists comma-separated, true/false."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(show_value(v) for v in value)
    return str(value)


def rule_values(rule: Any | None) -> dict[str, Any]:
    if rule is None:
        values: dict[str, Any] = {"enabled": True, "stop": True, "stage": "create", "conditions": 0}
    else:
        values = {
            "name": rule.name,
            "position": str(rule.position),
            "enabled": bool(rule.enabled),
            "stop": bool(rule.stop),
            "stage": rule.stage,
        }
        actions = rule.actions or {}
        values["actions-tier"] = actions.get("tier") or ""
        values["actions-team"] = actions.get("team") or ""
        values["actions-priority"] = actions.get("priority") or ""
        values["actions-add_tags"] = ", ".join(actions.get("add_tags") or [])
        conditions = rule.conditions or []
        for i, cond in enumerate(conditions):
            values[cond_field(i, "field")] = str(cond.get("field", ""))
            values[cond_field(i, "op")] = str(cond.get("op", ""))
            values[cond_field(i, "value")] = show_value(cond.get("value"))
        values["conditions"] = len(conditions)
    values["rows"] = int(values["conditions"]) + BLANK_CONDITION_ROWS
    return values


def _scalar(kind: Kind | None, raw: str) -> Any:
    """Typed value from text: true/false for true/false fields, numbers and true/false
    for flags, text otherwise (the schema then says what does not fit)."""
    low = raw.lower()
    if kind in (Kind.boolean, Kind.flag) and low in ("true", "false"):
        return low == "true"
    if kind is Kind.flag:
        try:
            number = json.loads(raw)
        except ValueError:
            return raw
        return number if isinstance(number, int | float) and not isinstance(number, bool) else raw
    return raw


def condition_value(field_name: str, op: str, raw: str) -> Any:
    resolved = resolve_field(field_name)
    kind = resolved[0] if resolved else None
    if op == Op.exists.value:
        return None if not raw else _scalar(Kind.boolean, raw)
    if op in (Op.in_.value, Op.not_in.value):
        return [_scalar(kind, part) for part in split_list(raw)]
    if op in (Op.gt.value, Op.lt.value):
        return _scalar(Kind.flag, raw)
    return _scalar(kind, raw) if raw else None


@dataclass
class RuleForm:
    values: dict[str, Any]
    data: dict[str, Any]
    rows: list[int]  # conditions[i] came from form row rows[i]

    def loc(self, loc: tuple[Any, ...]) -> str:
        head = str(loc[0]) if loc else GENERAL
        if head == "conditions" and len(loc) >= 2 and str(loc[1]).isdigit() and int(loc[1]) < len(self.rows):
            part = str(loc[2]) if len(loc) > 2 and loc[2] in ("field", "op") else "value"
            return cond_field(self.rows[int(loc[1])], part)
        if head == "actions":
            if len(loc) > 1 and str(loc[1]) in ("tier", "team", "priority", "add_tags"):
                return f"actions-{loc[1]}"
            return "actions"
        return head


def rule_payload(form: Form) -> RuleForm:
    values: dict[str, Any] = {
        "name": text(form, "name"),
        "position": text(form, "position"),
        "stage": text(form, "stage") or "create",
        "enabled": flag(form, "enabled"),
        "stop": flag(form, "stop"),
    }
    conditions = []
    rows = []
    row = 0
    while cond_field(row, "field") in form and row < 60:
        name, op, raw = (text(form, cond_field(row, p)) for p in ("field", "op", "value"))
        values[cond_field(row, "field")], values[cond_field(row, "op")] = name, op
        values[cond_field(row, "value")] = raw
        if name:
            conditions.append({"field": name, "op": op, "value": condition_value(name, op, raw)})
            rows.append(row)
        row += 1
    values["conditions"] = row
    values["rows"] = max(row, len(rows) + BLANK_CONDITION_ROWS)
    actions: dict[str, Any] = {}
    for part in ("tier", "team", "priority", "add_tags"):
        values[f"actions-{part}"] = text(form, f"actions-{part}")
    if values["actions-tier"]:
        actions["tier"] = values["actions-tier"]
    if values["actions-team"]:
        actions["team"] = values["actions-team"]
    if values["actions-priority"]:
        actions["priority"] = values["actions-priority"]
    if values["actions-add_tags"]:
        actions["add_tags"] = split_list(values["actions-add_tags"])
    data: dict[str, Any] = {
        "name": values["name"],
        "stage": values["stage"],
        "enabled": values["enabled"],
        "stop": values["stop"],
        "conditions": conditions,
        "actions": actions,
    }
    if values["position"]:
        data["position"] = values["position"]
    return RuleForm(values, data, rows)


# --- skills ----------------------------------------------------------------------------------------
def agent_skill_payload(form: Form, skill_keys: Iterable[str], state: FormState) -> dict[str, int]:
    """level-<key> fields: blank or 0 = the agent does not have the skill; 1..5 otherwise."""
    levels: dict[str, int] = {}
    for key in skill_keys:
        raw = text(form, f"level-{key}")
        state.values[f"level-{key}"] = raw
        if not raw or raw == "0":
            continue
        if not raw.isdigit() or not 1 <= int(raw) <= 5:
            state.error(f"level-{key}", own(N_("A level is a whole number from 1 to 5.")))
            continue
        levels[key] = int(raw)
    return levels
