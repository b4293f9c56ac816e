"""Skip-tier routing: rules that send a ticket past the normal ladder.

Two halves:

- `matches(conditions, facts)` is pure (no database): do all conditions of a rule hold for
  these facts?
- `decide(db, facts, stage)` loads the enabled rules of a stage in order and merges the
  actions of those that match into one `Decision`. The tickets domain calls it with
  stage "create" when a ticket is filed, the escalation domain with stage "escalate".
  An empty decision (no tier, no team) means "follow the normal ladder".

Merge rule (see docs/routing.md): rules run by (position, id). Every matching rule is
recorded in `rule_ids`/`reasons`. A matching rule's tier, team and priority replace those
of earlier matches (the last matching rule that sets one wins; a rule can only follow
another match if that one had `stop` off); `add_tags` accumulate in order, without
duplicates. A rule with `stop` on ends the evaluation once it matched. An action that
cannot be applied (the organization has no dedicated team, the tier or team no longer
exists, the tier is disabled) is skipped with a reason; the rest of the rule still applies.

Reads are open to staff; changes need a supervisor or an administrator with a write-scoped
credential. Services flush, never commit.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from sqlalchemy.orm import Session

from tierdesk.core import crud
from tierdesk.core.errors import Forbidden, InvalidInput
from tierdesk.core.memo import shared
from tierdesk.core.security import Actor, Scope, require_staff, require_supervisor
from tierdesk.routing import repository as repo
from tierdesk.routing.models import RoutingRule, Stage
from tierdesk.routing.schemas import (
    DEDICATED,
    PRIORITIES,
    Actions,
    Condition,
    DecisionOut,
    FactsIn,
    Kind,
    Op,
    RuleIn,
    RulePatch,
    resolve_field,
)
from tierdesk.tiers import service as tiers

POSITION_STEP = 10


@dataclass(frozen=True)
class RoutingFacts:
    """What the rules see of a ticket, its customer and its organization: plain values.

    Organization facts are False/None/empty when the ticket has no organization.
    """

    category: str | None = None
    priority: str | None = None
    channel: str | None = None
    language: str | None = None
    tags: Sequence[str] = ()
    subject: str = ""
    tier_key: str | None = None
    has_incident: bool = False
    customer_vip: bool = False
    customer_language: str | None = None
    customer_flags: Mapping[str, Any] = field(default_factory=dict)
    org_strategic: bool = False
    org_plan: str | None = None
    org_segment: str | None = None
    org_flags: Mapping[str, Any] = field(default_factory=dict)
    org_dedicated_team_id: int | None = None

    @property
    def org_has_dedicated_team(self) -> bool:
        return self.org_dedicated_team_id is not None


@dataclass(frozen=True)
class Decision:
    tier_id: int | None
    team_id: int | None
    priority: str | None
    add_tags: tuple[str, ...]
    rule_ids: tuple[int, ...]
    reasons: tuple[str, ...]

    @property
    def routes(self) -> bool:
        """True when the ticket leaves the normal ladder (a tier or team was chosen)."""
        return self.tier_id is not None or self.team_id is not None


# --- pure evaluation -------------------------------------------------------------------------
@lru_cache(maxsize=2048)
def _fold(text: str) -> str:
    # Cached: deciding folds the same subject for every rule that tests it (bench/rules.py).
    # NFKC folds full-width forms (ＶＩＰ -> VIP) and compatibility characters; casefold
    # ignores case. CJK text is unchanged by both, so "退款" finds itself.
    return unicodedata.normalize("NFKC", text).casefold()


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        # JSON true is not the number 1 (Python says True == 1).
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, str) and isinstance(expected, str):
        return _fold(actual) == _fold(expected)
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return actual == expected
    return False


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _equals(actual: Any, expected: Any) -> bool:
    """eq: a list (tags, a list-valued flag) equals a value when it holds it."""
    if _is_list(actual):
        return any(_same(a, expected) for a in actual)
    return _same(actual, expected)


def _present(actual: Any) -> bool:
    return actual is not None and actual != "" and not (_is_list(actual) and len(actual) == 0)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True, slots=True)
class _Test:
    """A stored condition with its field and operator already resolved (`_prepare`)."""

    kind: Kind
    attr: str
    flag: str | None
    op: Op
    expected: Any
    # eq/ne/in/not_in against text only: the expected words folded once. A value then equals
    # one of them exactly when it is text (or a list holding text) that folds to one.
    folded: frozenset[str] | None = None


_TEXT_SET_OPS = (Op.eq, Op.ne, Op.in_, Op.not_in)


def _folded_words(op: Op, expected: Any) -> frozenset[str] | None:
    if op not in _TEXT_SET_OPS:
        return None
    if op in (Op.eq, Op.ne):
        return frozenset((_fold(expected),)) if isinstance(expected, str) else None
    if isinstance(expected, list | tuple) and expected and all(isinstance(v, str) for v in expected):
        return frozenset(_fold(v) for v in expected)
    return None


def _equals_any_word(actual: Any, words: frozenset[str]) -> bool:
    """`_equals(actual, w)` for any w whose folded form is in `words` (all text)."""
    if isinstance(actual, str):
        return _fold(actual) in words
    if _is_list(actual):
        return any(isinstance(a, str) and _fold(a) in words for a in actual)
    return False


def _prepare(condition: Mapping[str, Any]) -> _Test | None:
    """The condition resolved once; None when this version cannot read it (an unknown field
    or operator in a hand-edited row), which never holds."""
    resolved = resolve_field(str(condition.get("field", "")))
    if resolved is None:
        return None
    try:
        op = Op(str(condition.get("op")))
    except ValueError:
        return None
    kind, attr, flag = resolved
    expected = condition.get("value")
    return _Test(kind, attr, flag, op, expected, _folded_words(op, expected))


def _passes(test: _Test, facts: RoutingFacts) -> bool:
    actual = getattr(facts, test.attr)
    if test.flag is not None:
        actual = actual.get(test.flag) if isinstance(actual, Mapping) else None
    expected = test.expected
    if test.folded is not None:
        hit = _equals_any_word(actual, test.folded)
        return not hit if test.op in (Op.ne, Op.not_in) else hit
    match test.op:
        case Op.exists:
            return _present(actual) is (expected is not False)
        case Op.eq:
            return _equals(actual, expected)
        case Op.ne:
            return not _equals(actual, expected)
        case Op.in_:
            return isinstance(expected, list | tuple) and any(_equals(actual, v) for v in expected)
        case Op.not_in:
            return isinstance(expected, list | tuple) and not any(_equals(actual, v) for v in expected)
        case Op.contains:
            if not isinstance(expected, str):
                return False
            if isinstance(actual, str) and test.kind is not Kind.tags:
                return _fold(expected) in _fold(actual)
            return _is_list(actual) and any(_same(a, expected) for a in actual)
        case Op.gt:
            return _number(actual) and _number(expected) and actual > expected
        case Op.lt:
            return _number(actual) and _number(expected) and actual < expected
    return False  # pragma: no cover - every Op is handled above


def _all_pass(tests: tuple[_Test | None, ...], facts: RoutingFacts) -> bool:
    # A loop, not all(<generator>): one generator per rule and decision cost more than the
    # tests themselves with hundreds of rules (bench/rules.py).
    for test in tests:  # noqa: SIM110
        if test is None or not _passes(test, facts):
            return False
    return True


def matches(conditions: Sequence[Mapping[str, Any]], facts: RoutingFacts) -> bool:
    """True when every condition holds for `facts`; an empty list always holds. Pure.

    Text compares ignoring case and full-width forms; `ne` and `not_in` are the exact
    negations of `eq` and `in` (so "category ne fraud" holds for a ticket with no
    category). A condition this version cannot read (unknown field or operator in a
    hand-edited row) never holds.
    """
    return _all_pass(tuple(_prepare(c) for c in conditions), facts)


# --- decide ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _CompiledRule:
    """An enabled rule with its tier and team keys already resolved; one copy per process
    and configuration generation (core/memo.py `shared`), so deciding reads nothing."""

    id: int
    name: str
    tests: tuple[_Test | None, ...]  # the conditions, resolved; None never holds
    actions: Mapping[str, Any]
    stop: bool
    tier_id: int | None
    tier_note: str | None  # why the rule's tier cannot be applied
    team_id: int | None
    team_note: str | None


def _compile(db: Session, rule: RoutingRule) -> _CompiledRule:
    actions = rule.actions if isinstance(rule.actions, dict) else {}
    tier_id = team_id = None
    tier_note = team_note = None
    tier_key = actions.get("tier")
    if isinstance(tier_key, str):
        tier = tiers.tier_by_key(db, tier_key)
        if tier is None:
            tier_note = f"rule '{rule.name}': tier '{tier_key}' no longer exists; tier left as it was"
        elif not tier.enabled:
            tier_note = f"rule '{rule.name}': tier '{tier_key}' is disabled; tier left as it was"
        else:
            tier_id = tier.id
    team_key = actions.get("team")
    if isinstance(team_key, str) and team_key != DEDICATED:
        team = tiers.team_by_key(db, team_key)
        if team is None:
            team_note = f"rule '{rule.name}': team '{team_key}' no longer exists; team left as it was"
        else:
            team_id = team.id
    return _CompiledRule(
        id=rule.id,
        name=rule.name,
        tests=tuple(_prepare(c) for c in rule.conditions or ()),
        actions=MappingProxyType(dict(actions)),
        stop=bool(rule.stop),
        tier_id=tier_id,
        tier_note=tier_note,
        team_id=team_id,
        team_note=team_note,
    )


def _compiled_rules(db: Session, stage: Stage) -> tuple[_CompiledRule, ...]:
    return shared(
        db, ("routing_rules", stage), lambda: tuple(_compile(db, r) for r in repo.enabled_rules(db, stage))
    )


def decide(db: Session, facts: RoutingFacts, stage: str) -> Decision:
    """Where the enabled rules of `stage` send a ticket with these facts (merge rule in the
    module docstring). Reads only; never raises for a rule it cannot apply."""
    try:
        which = Stage(stage)
    except ValueError as exc:
        raise InvalidInput(f"Routing stage '{stage}' is not 'create' or 'escalate'.") from exc
    tier_id: int | None = None
    team_id: int | None = None
    priority: str | None = None
    tags: list[str] = []
    rule_ids: list[int] = []
    reasons: list[str] = []
    for rule in _compiled_rules(db, which):
        if not _all_pass(rule.tests, facts):
            continue
        rule_ids.append(rule.id)
        reasons.append(f"rule '{rule.name}' matched")
        actions = rule.actions
        if rule.tier_note is not None:
            reasons.append(rule.tier_note)
        elif rule.tier_id is not None:
            tier_id = rule.tier_id

        if actions.get("team") == DEDICATED:
            if facts.org_dedicated_team_id is None:
                reasons.append(
                    f"rule '{rule.name}': the organization has no dedicated team; team left as it was"
                )
            else:
                team_id = facts.org_dedicated_team_id
        elif rule.team_note is not None:
            reasons.append(rule.team_note)
        elif rule.team_id is not None:
            team_id = rule.team_id

        if actions.get("priority") in PRIORITIES:
            priority = actions["priority"]
        for tag in actions.get("add_tags") or []:
            if isinstance(tag, str) and tag not in tags:
                tags.append(tag)
        if rule.stop:
            break
    return Decision(tier_id, team_id, priority, tuple(tags), tuple(rule_ids), tuple(reasons))


def facts_from(data: FactsIn) -> RoutingFacts:
    return RoutingFacts(
        category=data.category,
        priority=data.priority,
        channel=data.channel,
        language=data.language,
        tags=tuple(t.strip().lower() for t in data.tags),
        subject=data.subject,
        tier_key=data.tier_key,
        has_incident=data.has_incident,
        customer_vip=data.customer_vip,
        customer_language=data.customer_language,
        customer_flags=dict(data.customer_flags),
        org_strategic=data.org_strategic,
        org_plan=data.org_plan,
        org_segment=data.org_segment,
        org_flags=dict(data.org_flags),
        org_dedicated_team_id=data.org_dedicated_team_id,
    )


def dry_run(db: Session, actor: Actor, data: FactsIn) -> DecisionOut:
    """What `decide` would answer for these facts, with tier and team keys; changes nothing."""
    require_staff(actor)
    decision = decide(db, facts_from(data), data.stage)
    tier = tiers.tier_by_id(db, decision.tier_id) if decision.tier_id is not None else None
    team = tiers.team_by_id(db, decision.team_id) if decision.team_id is not None else None
    return DecisionOut(
        tier_id=decision.tier_id,
        tier_key=tier.key if tier else None,
        team_id=decision.team_id,
        team_key=team.key if team else None,
        priority=decision.priority,
        add_tags=list(decision.add_tags),
        rule_ids=list(decision.rule_ids),
        reasons=list(decision.reasons),
    )


# --- rules CRUD ----------------------------------------------------------------------------------
def _require_editor(actor: Actor) -> None:
    require_supervisor(actor)
    if not actor.can(Scope.write):
        raise Forbidden("This API token is read-only; create one with the write scope.")


def _invalid(field_path: str, message: str) -> InvalidInput:
    return InvalidInput(message, errors=[{"field": field_path, "message": message}])


def _check_actions(db: Session, actions: Actions) -> None:
    """Tier and team keys must name an existing (enabled) tier and an existing team."""
    if actions.tier is not None:
        tier = tiers.tier_by_key(db, actions.tier)
        if tier is None:
            raise _invalid(
                "actions.tier",
                f"Tier '{actions.tier}' does not exist; use a tier key from /api/v1/tiers (e.g. L3).",
            )
        if not tier.enabled:
            raise _invalid(
                "actions.tier",
                f"Tier '{actions.tier}' is disabled; enable it first or route the rule elsewhere.",
            )
    if actions.team is not None and actions.team != DEDICATED and tiers.team_by_key(db, actions.team) is None:
        raise _invalid(
            "actions.team",
            f"Team '{actions.team}' does not exist; use a team key from /api/v1/teams, "
            'or "@dedicated" for the organization\'s dedicated team.',
        )


def _check_conditions(db: Session, conditions: Sequence[Condition]) -> None:
    """A condition on ticket.tier must name tiers that exist (a typo would never match)."""
    for i, cond in enumerate(conditions):
        if cond.field != "ticket.tier" or cond.op not in (Op.eq, Op.ne, Op.in_, Op.not_in):
            continue
        keys = cond.value if isinstance(cond.value, list) else [cond.value]
        unknown = [k for k in keys if tiers.tier_by_key(db, k) is None]
        if unknown:
            raise _invalid(
                f"conditions.{i}.value",
                f"Condition {i + 1} names tier(s) that do not exist: {', '.join(unknown)}.",
            )


def list_rules(db: Session, actor: Actor, stage: Stage | None = None) -> list[RoutingRule]:
    """Rules in evaluation order: by stage, then position, then id."""
    require_staff(actor)
    return repo.rules(db, stage)


def get_rule(db: Session, actor: Actor, rule_id: int) -> RoutingRule:
    require_staff(actor)
    return crud.get_or_404(db, RoutingRule, rule_id, "Routing rule")


def create_rule(db: Session, actor: Actor, data: RuleIn, now: datetime) -> RoutingRule:
    _require_editor(actor)
    _check_conditions(db, data.conditions)
    _check_actions(db, data.actions)
    position = data.position
    if position is None:
        last = repo.last_position(db, data.stage)
        position = POSITION_STEP if last is None else last + POSITION_STEP
    rule = RoutingRule(
        name=data.name,
        position=position,
        enabled=data.enabled,
        stage=data.stage.value,
        conditions=[c.stored() for c in data.conditions],
        actions=data.actions.stored(),
        stop=data.stop,
        created_at=now,
        updated_at=now,
    )
    db.add(rule)
    crud.flush_or_conflict(db, f"Routing rule '{data.name}'")
    return rule


def update_rule(db: Session, actor: Actor, rule_id: int, patch: RulePatch, now: datetime) -> RoutingRule:
    _require_editor(actor)
    rule = crud.get_or_404(db, RoutingRule, rule_id, "Routing rule")
    sent = patch.model_fields_set
    if patch.conditions is not None:
        _check_conditions(db, patch.conditions)
    if patch.actions is not None:
        _check_actions(db, patch.actions)
    for name in ("name", "position", "enabled", "stop"):
        value = getattr(patch, name)
        if name in sent and value is not None:
            setattr(rule, name, value)
    if patch.stage is not None:
        rule.stage = patch.stage.value
    if patch.conditions is not None:
        rule.conditions = [c.stored() for c in patch.conditions]
    if patch.actions is not None:
        rule.actions = patch.actions.stored()
    rule.updated_at = now
    crud.flush_or_conflict(db, f"Routing rule '{rule.name}'")
    return rule


def delete_rule(db: Session, actor: Actor, rule_id: int) -> None:
    _require_editor(actor)
    rule = crud.get_or_404(db, RoutingRule, rule_id, "Routing rule")
    crud.delete_or_conflict(db, rule, f"Routing rule '{rule.name}'")
