"""Supervisor pages: the tier ladder and escalation paths, teams, skills, calendars, SLA
policies and skip-tier routing rules.

Every route sits behind `gate`, a router-level dependency, so no GET or POST can skip it:
anonymous visitors are sent to sign in, customers get 404 (the settings area does not
exist for them), agents and specialists 403; every POST must carry the session's CSRF
token. Changes go through the owning domain's service, with the input validated by that
domain's Pydantic schema; errors are shown next to their field with the submitted values
kept, and the request's transaction is rolled back, so a refused form never half-writes.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from tierdesk.accounts import service as accounts
from tierdesk.admin import forms
from tierdesk.admin.forms import N_, FormState, own
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.core.security import Actor, Role
from tierdesk.customers.models import Segment
from tierdesk.routing import service as routing
from tierdesk.routing.models import Stage
from tierdesk.routing.schemas import FIELDS, OPS_BY_KIND, PRIORITIES, Kind, RuleIn, RulePatch
from tierdesk.sla import service as sla
from tierdesk.sla.models import Metric
from tierdesk.sla.schemas import PAUSABLE, PolicyIn, PolicyPatch
from tierdesk.tickets import service as tickets
from tierdesk.tiers import service as tiers
from tierdesk.tiers.models import TeamKind
from tierdesk.tiers.schemas import (
    CalendarIn,
    CalendarPatch,
    EscalationPathIn,
    SkillIn,
    TeamIn,
    TeamPatch,
    TierIn,
    TierPatch,
    known_timezones,
)
from tierdesk.web.csrf import csrf_ok, csrf_token
from tierdesk.web.deps import DB, CurrentActor, Now, TxRoute
from tierdesk.web.templating import templates

FLASH_KEY = "admin_flash"
ALL_OPS = tuple(op.value for op in OPS_BY_KIND[Kind.flag])


class PageExit(Exception):
    """Stop handling the request and answer with this page (access refused, not found)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _error_page(
    request: Request, status: int, message: str, translate: bool = True, actor: Actor | None = None
) -> HTMLResponse:
    """An HTML error page; a signed-in `actor` keeps the user menu (sign out, settings)."""
    signed_in = actor if actor is not None and not actor.is_anonymous else None
    context = {
        "status": status,
        "message": forms.Msg(message, translate=translate),
        "actor": signed_in,
        "csrf": csrf_token(request) if signed_in else "",
    }
    return templates.TemplateResponse(request, "admin/error.html", context, status_code=status)


class AdminRoute(TxRoute):
    """TxRoute (one transaction per request) that turns `PageExit` and domain errors into
    HTML pages instead of problem+json: these are pages, not API endpoints."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PageExit as exit_:
                return exit_.response
            except DomainError as exc:
                actor = getattr(request.state, "actor", None)
                return _error_page(request, exc.status, exc.detail, translate=False, actor=actor)

        return page_handler


async def gate(request: Request, actor: CurrentActor) -> None:
    if actor.is_anonymous:
        raise PageExit(RedirectResponse("/login", status_code=303))
    if not actor.is_staff:
        raise PageExit(_error_page(request, 404, N_("There is no such page."), actor=actor))
    if not actor.is_supervisor:
        raise PageExit(
            _error_page(
                request, 403, N_("Only supervisors and administrators may change the settings."), actor=actor
            )
        )
    request.state.actor = actor
    if request.method != "GET":
        form = await request.form()
        sent = form.get("csrf")
        if not csrf_ok(request, sent if isinstance(sent, str) else ""):
            raise PageExit(
                _error_page(
                    request,
                    403,
                    N_("Your form expired. Go back, reload the page and try again."),
                    actor=actor,
                )
            )
        request.state.form = form


router = APIRouter(
    prefix="/settings", route_class=AdminRoute, include_in_schema=False, dependencies=[Depends(gate)]
)


async def _supervisor(request: Request) -> Actor:
    actor: Actor = request.state.actor  # set by `gate`, which runs first
    return actor


Supervisor = Annotated[Actor, Depends(_supervisor)]


def _form(request: Request) -> Mapping[str, Any]:
    form: Mapping[str, Any] = request.state.form
    return form


def flash(request: Request, message: str, **params: Any) -> None:
    request.session[FLASH_KEY] = [*request.session.get(FLASH_KEY, []), [message, params]]


def render(
    request: Request, name: str, context: dict[str, Any], status: int = 200, section: str = ""
) -> HTMLResponse:
    flashes = request.session.pop(FLASH_KEY, []) if status < 400 else []
    base = {
        "actor": request.state.actor,
        "csrf": csrf_token(request),
        "flashes": [forms.own(m, **p) for m, p in flashes],
        "section": section,
    }
    return templates.TemplateResponse(request, name, base | context, status_code=status)


def _delete_tier(db: Session, actor: Actor, tier_id: int) -> None:
    """A tier that still holds tickets is refused (switch it off instead)."""
    tickets.ensure_tier_unused(db, tier_id)
    tiers.delete_tier(db, actor, tier_id)


def _save(
    request: Request,
    db: Session,
    state: FormState,
    attempt: Callable[[], Any],
    loc_map: Callable[[tuple[Any, ...]], str],
    page: Callable[[FormState], HTMLResponse],
    check: Callable[[], Any] | None = None,
) -> HTMLResponse | None:
    """Run `attempt` if the form parsed cleanly; on any refusal roll back the request's
    transaction and re-render `page` with the errors next to their fields (None: saved).
    `check` (schema validation) runs even when the form already found errors, so every
    field's problem is shown at once."""
    if check is not None:
        try:
            check()
        except ValidationError as exc:
            state.absorb(exc, loc_map)
    if state.ok:
        try:
            attempt()
        except (ValidationError, DomainError) as exc:
            state.absorb(exc, loc_map)
    if state.ok:
        return None
    db.rollback()  # the half-applied change (and its dirty objects) must not be flushed again
    response = page(state)
    response.status_code = 422
    return response


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _int_or_none(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


# --- home ----------------------------------------------------------------------------------------
@router.get("", response_class=HTMLResponse)
def home(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    counts = {
        "tiers": len(tiers.list_tiers(db, actor)),
        "teams": len(tiers.list_teams(db, actor)),
        "skills": len(tiers.list_skills(db, actor)),
        "calendars": len(tiers.list_calendars(db, actor)),
        "sla": len(sla.list_policies(db, actor)),
        "routing": len(routing.list_rules(db, actor)),
    }
    return render(request, "admin/home.html", {"counts": counts}, section="home")


# --- tiers and escalation paths --------------------------------------------------------------------
def _names(db: Session, actor: Actor) -> dict[str, dict[int, str]]:
    return {
        "tiers": {t.id: f"{t.key} · {t.name}" for t in tiers.list_tiers(db, actor)},
        "teams": {t.id: t.name for t in tiers.list_teams(db, actor)},
        "calendars": {c.id: c.name for c in tiers.list_calendars(db, actor)},
    }


@router.get("/tiers", response_class=HTMLResponse)
def tier_list(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    paths: dict[int, list[Any]] = {}
    for path in tiers.list_paths(db, actor):
        paths.setdefault(path.from_tier_id, []).append(path)
    context = {"tiers": tiers.list_tiers(db, actor), "paths": paths, "names": _names(db, actor)}
    return render(request, "admin/tiers.html", context, section="tiers")


def _tier_page(
    request: Request,
    db: Session,
    actor: Actor,
    tier_id: int | None,
    state: FormState,
    path_state: FormState | None = None,
) -> HTMLResponse:
    names = _names(db, actor)
    context = {
        "tier": tiers.get_tier(db, actor, tier_id) if tier_id is not None else None,
        "form": state,
        "path_form": path_state
        or FormState({"allowed_roles": [r.value for r in Role if r != Role.customer]}),
        "paths": tiers.paths_from(db, tier_id) if tier_id is not None else [],
        "names": names,
        "ladder": tiers.list_tiers(db, actor),
        "teams": tiers.list_teams(db, actor),
        "path_targets": [
            *(
                (f"tier:{t.id}", f"{t.key} · {t.name}")
                for t in tiers.list_tiers(db, actor)
                if t.id != tier_id
            ),
            *((f"team:{t.id}", f"{t.name} ({t.key})") for t in tiers.list_teams(db, actor)),
        ],
        "role_options": [(r.value, r.value) for r in Role if r != Role.customer],
    }
    return render(request, "admin/tier_form.html", context, section="tiers")


@router.get("/tiers/new", response_class=HTMLResponse)
def tier_new(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return _tier_page(request, db, actor, None, FormState(forms.tier_values(None)))


@router.post("/tiers/new", response_class=HTMLResponse)
def tier_create(request: Request, db: DB, actor: Supervisor) -> Response:
    values, data = forms.tier_payload(_form(request))
    state = FormState(values)
    made: list[Any] = []
    refused = _save(
        request,
        db,
        state,
        lambda: made.append(tiers.create_tier(db, actor, TierIn.model_validate(data))),
        forms.field_loc,
        lambda s: _tier_page(request, db, actor, None, s),
    )
    if refused:
        return refused
    flash(request, N_("Tier %(key)s created."), key=made[0].key)
    return _redirect(f"/settings/tiers/{made[0].id}")


@router.get("/tiers/{tier_id}", response_class=HTMLResponse)
def tier_edit(request: Request, tier_id: int, db: DB, actor: Supervisor) -> HTMLResponse:
    tier = tiers.get_tier(db, actor, tier_id)
    return _tier_page(request, db, actor, tier_id, FormState(forms.tier_values(tier)))


@router.post("/tiers/{tier_id}", response_class=HTMLResponse)
def tier_update(request: Request, tier_id: int, db: DB, actor: Supervisor) -> Response:
    tiers.get_tier(db, actor, tier_id)
    values, data = forms.tier_payload(_form(request))
    state = FormState(values)
    refused = _save(
        request,
        db,
        state,
        lambda: tiers.update_tier(db, actor, tier_id, TierPatch.model_validate(data)),
        forms.field_loc,
        lambda s: _tier_page(request, db, actor, tier_id, s),
    )
    if refused:
        return refused
    flash(request, N_("Tier %(key)s saved."), key=values["key"])
    return _redirect("/settings/tiers")


@router.post("/tiers/{tier_id}/delete", response_class=HTMLResponse)
def tier_delete(request: Request, tier_id: int, db: DB, actor: Supervisor) -> Response:
    tier = tiers.get_tier(db, actor, tier_id)
    key = tier.key
    state = FormState(forms.tier_values(tier))
    refused = _save(
        request,
        db,
        state,
        lambda: _delete_tier(db, actor, tier_id),
        lambda loc: forms.GENERAL,
        lambda s: _tier_page(request, db, actor, tier_id, s),
    )
    if refused:
        return refused
    flash(request, N_("Tier %(key)s deleted."), key=key)
    return _redirect("/settings/tiers")


@router.post("/tiers/{tier_id}/paths", response_class=HTMLResponse)
def path_create(request: Request, tier_id: int, db: DB, actor: Supervisor) -> Response:
    tier = tiers.get_tier(db, actor, tier_id)
    values, data = forms.path_payload(_form(request), tier_id)
    path_state = FormState(values)
    if not values["to"]:
        path_state.error("to", own(N_("Choose where the path leads.")))
    refused = _save(
        request,
        db,
        path_state,
        lambda: tiers.create_path(db, actor, EscalationPathIn.model_validate(data)),
        forms.path_loc,
        lambda s: _tier_page(request, db, actor, tier_id, FormState(forms.tier_values(tier)), s),
        check=lambda: EscalationPathIn.model_validate(data),
    )
    if refused:
        return refused
    flash(request, N_("Escalation path added."))
    return _redirect(f"/settings/tiers/{tier_id}#paths")


@router.post("/paths/{path_id}/delete", response_class=HTMLResponse)
def path_delete(request: Request, path_id: int, db: DB, actor: Supervisor) -> Response:
    back = _int_or_none(forms.text(_form(request), "tier_id"))
    tiers.delete_path(db, actor, path_id)
    flash(request, N_("Escalation path removed."))
    return _redirect(f"/settings/tiers/{back}#paths" if back else "/settings/tiers")


# --- teams -----------------------------------------------------------------------------------------
def _staff(db: Session, actor: Actor) -> list[tuple[int, str]]:
    return accounts.staff_names(db, actor, limit=2000)


@router.get("/teams", response_class=HTMLResponse)
def team_list(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    staff = dict(_staff(db, actor))
    context = {"teams": tiers.list_teams(db, actor), "staff": staff, "names": _names(db, actor)}
    return render(request, "admin/teams.html", context, section="teams")


def _team_page(
    request: Request, db: Session, actor: Actor, team_id: int | None, state: FormState
) -> HTMLResponse:
    context = {
        "team": tiers.get_team(db, actor, team_id) if team_id is not None else None,
        "form": state,
        "kind_options": [(k.value, k.value) for k in TeamKind],
        "staff": _staff(db, actor),
        "calendar_options": [(c.id, c.name) for c in tiers.list_calendars(db, actor)],
    }
    return render(request, "admin/team_form.html", context, section="teams")


def _save_team(request: Request, db: Session, actor: Actor, team_id: int | None) -> Response:
    values, data = forms.team_payload(_form(request))
    state = FormState(values)
    staff_ids = {uid for uid, _ in _staff(db, actor)}
    members = forms.int_ids(values["members"], state, "members")
    if any(m not in staff_ids for m in members):
        state.error("members", own(N_("Members must be staff users.")))
    lead = _int_or_none(values["lead_id"])
    if values["lead_id"] and lead not in staff_ids:
        state.error("lead_id", own(N_("The lead must be a staff user.")))
    saved: list[Any] = []

    def attempt() -> None:
        if team_id is None:
            team = tiers.create_team(db, actor, TeamIn.model_validate(data))
        else:
            team = tiers.update_team(db, actor, team_id, TeamPatch.model_validate(data))
        saved.append(tiers.set_team_members(db, actor, team.id, members))

    schema = TeamIn if team_id is None else TeamPatch
    refused = _save(
        request,
        db,
        state,
        attempt,
        forms.field_loc,
        lambda s: _team_page(request, db, actor, team_id, s),
        check=lambda: schema.model_validate(data),
    )
    if refused:
        return refused
    flash(request, N_("Team %(name)s saved."), name=saved[0].name)
    return _redirect("/settings/teams")


@router.get("/teams/new", response_class=HTMLResponse)
def team_new(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return _team_page(request, db, actor, None, FormState(forms.team_values(None)))


@router.post("/teams/new", response_class=HTMLResponse)
def team_create(request: Request, db: DB, actor: Supervisor) -> Response:
    return _save_team(request, db, actor, None)


@router.get("/teams/{team_id}", response_class=HTMLResponse)
def team_edit(request: Request, team_id: int, db: DB, actor: Supervisor) -> HTMLResponse:
    return _team_page(
        request, db, actor, team_id, FormState(forms.team_values(tiers.get_team(db, actor, team_id)))
    )


@router.post("/teams/{team_id}", response_class=HTMLResponse)
def team_update(request: Request, team_id: int, db: DB, actor: Supervisor) -> Response:
    tiers.get_team(db, actor, team_id)
    return _save_team(request, db, actor, team_id)


@router.post("/teams/{team_id}/delete", response_class=HTMLResponse)
def team_delete(request: Request, team_id: int, db: DB, actor: Supervisor) -> Response:
    team = tiers.get_team(db, actor, team_id)
    refused = _save(
        request,
        db,
        FormState(forms.team_values(team)),
        lambda: tiers.delete_team(db, actor, team_id),
        lambda loc: forms.GENERAL,
        lambda s: _team_page(request, db, actor, team_id, s),
    )
    if refused:
        return refused
    flash(request, N_("Team %(name)s deleted."), name=team.name)
    return _redirect("/settings/teams")


# --- skills ----------------------------------------------------------------------------------------
def _skills_page(request: Request, db: Session, actor: Actor, state: FormState) -> HTMLResponse:
    staff = _staff(db, actor)
    context = {
        "skills": tiers.list_skills(db, actor),
        "form": state,
        "staff": staff,
        "agent_skills": tiers.skills_of_agents(db, actor, [uid for uid, _ in staff]),
    }
    return render(request, "admin/skills.html", context, section="skills")


@router.get("/skills", response_class=HTMLResponse)
def skill_list(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return _skills_page(request, db, actor, FormState())


@router.post("/skills", response_class=HTMLResponse)
def skill_create(request: Request, db: DB, actor: Supervisor) -> Response:
    form = _form(request)
    state = FormState({"key": forms.text(form, "key"), "name": forms.text(form, "name")})
    refused = _save(
        request,
        db,
        state,
        lambda: tiers.create_skill(db, actor, SkillIn.model_validate(state.values)),
        forms.field_loc,
        lambda s: _skills_page(request, db, actor, s),
    )
    if refused:
        return refused
    flash(request, N_("Skill %(key)s added."), key=state.values["key"])
    return _redirect("/settings/skills")


@router.post("/skills/{skill_id}/delete", response_class=HTMLResponse)
def skill_delete(request: Request, skill_id: int, db: DB, actor: Supervisor) -> Response:
    tiers.delete_skill(db, actor, skill_id)
    flash(request, N_("Skill removed."))
    return _redirect("/settings/skills")


def _agent_skills_page(
    request: Request, db: Session, actor: Actor, user_id: int, state: FormState
) -> HTMLResponse:
    staff = dict(_staff(db, actor))
    if user_id not in staff:
        raise NotFound(f"Staff user {user_id} does not exist.")
    context = {
        "user_id": user_id,
        "user_name": staff[user_id],
        "skills": tiers.list_skills(db, actor),
        "form": state,
    }
    return render(request, "admin/agent_skills.html", context, section="skills")


@router.get("/agents/{user_id}/skills", response_class=HTMLResponse)
def agent_skills(request: Request, user_id: int, db: DB, actor: Supervisor) -> HTMLResponse:
    levels = tiers.skills_of_agents(db, actor, [user_id])[user_id]
    return _agent_skills_page(
        request, db, actor, user_id, FormState({f"level-{k}": str(v) for k, v in levels.items()})
    )


@router.post("/agents/{user_id}/skills", response_class=HTMLResponse)
def agent_skills_save(request: Request, user_id: int, db: DB, actor: Supervisor) -> Response:
    _agent_skills_page(request, db, actor, user_id, FormState())  # 404 for a non-staff id
    state = FormState()
    levels = forms.agent_skill_payload(_form(request), [s.key for s in tiers.list_skills(db, actor)], state)
    refused = _save(
        request,
        db,
        state,
        lambda: tiers.set_agent_skills(db, actor, user_id, levels),
        forms.field_loc,
        lambda s: _agent_skills_page(request, db, actor, user_id, s),
    )
    if refused:
        return refused
    flash(request, N_("Skills saved."))
    return _redirect("/settings/skills")


# --- calendars -------------------------------------------------------------------------------------
@router.get("/calendars", response_class=HTMLResponse)
def calendar_list(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return render(
        request, "admin/calendars.html", {"calendars": tiers.list_calendars(db, actor)}, section="calendars"
    )


def _calendar_page(
    request: Request, db: Session, actor: Actor, calendar_id: int | None, state: FormState
) -> HTMLResponse:
    context = {
        "calendar": tiers.get_calendar(db, actor, calendar_id) if calendar_id is not None else None,
        "form": state,
        "weekdays": forms.WEEKDAYS,
        "slots": {d: forms.interval_slots(state.values, d) for d in forms.WEEKDAYS},
        "zones": known_timezones(),
    }
    return render(request, "admin/calendar_form.html", context, section="calendars")


def _save_calendar(request: Request, db: Session, actor: Actor, calendar_id: int | None) -> Response:
    state = FormState()
    data = forms.calendar_payload(_form(request), state)
    saved: list[Any] = []

    def attempt() -> None:
        if calendar_id is None:
            saved.append(tiers.create_calendar(db, actor, CalendarIn.model_validate(data)))
        else:
            saved.append(tiers.update_calendar(db, actor, calendar_id, CalendarPatch.model_validate(data)))

    refused = _save(
        request,
        db,
        state,
        attempt,
        forms.calendar_loc,
        lambda s: _calendar_page(request, db, actor, calendar_id, s),
        check=lambda: CalendarIn.model_validate(data),
    )
    if refused:
        return refused
    flash(request, N_("Calendar %(name)s saved."), name=saved[0].name)
    return _redirect("/settings/calendars")


@router.get("/calendars/new", response_class=HTMLResponse)
def calendar_new(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return _calendar_page(request, db, actor, None, FormState(forms.calendar_values(None)))


@router.post("/calendars/new", response_class=HTMLResponse)
def calendar_create(request: Request, db: DB, actor: Supervisor) -> Response:
    return _save_calendar(request, db, actor, None)


@router.get("/calendars/{calendar_id}", response_class=HTMLResponse)
def calendar_edit(request: Request, calendar_id: int, db: DB, actor: Supervisor) -> HTMLResponse:
    cal = tiers.get_calendar(db, actor, calendar_id)
    return _calendar_page(request, db, actor, calendar_id, FormState(forms.calendar_values(cal)))


@router.post("/calendars/{calendar_id}", response_class=HTMLResponse)
def calendar_update(request: Request, calendar_id: int, db: DB, actor: Supervisor) -> Response:
    tiers.get_calendar(db, actor, calendar_id)
    return _save_calendar(request, db, actor, calendar_id)


@router.post("/calendars/{calendar_id}/delete", response_class=HTMLResponse)
def calendar_delete(request: Request, calendar_id: int, db: DB, actor: Supervisor) -> Response:
    cal = tiers.get_calendar(db, actor, calendar_id)
    name = cal.name
    refused = _save(
        request,
        db,
        FormState(forms.calendar_values(cal)),
        lambda: tiers.delete_calendar(db, actor, calendar_id),
        lambda loc: forms.GENERAL,
        lambda s: _calendar_page(request, db, actor, calendar_id, s),
    )
    if refused:
        return refused
    flash(request, N_("Calendar %(name)s deleted."), name=name)
    return _redirect("/settings/calendars")


# --- SLA policies ----------------------------------------------------------------------------------
@router.get("/sla", response_class=HTMLResponse)
def policy_list(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    context = {"policies": sla.list_policies(db, actor), "names": _names(db, actor), "metrics": forms.METRICS}
    return render(request, "admin/policies.html", context, section="sla")


def _policy_page(
    request: Request, db: Session, actor: Actor, policy_id: int | None, state: FormState
) -> HTMLResponse:
    context = {
        "policy": sla.get_policy(db, actor, policy_id) if policy_id is not None else None,
        "form": state,
        "tier_options": [(t.id, f"{t.key} · {t.name}") for t in tiers.list_tiers(db, actor)],
        "calendar_options": [(c.id, c.name) for c in tiers.list_calendars(db, actor)],
        "priority_options": [(p, p) for p in PRIORITIES],
        "segment_options": [(s.value, s.value) for s in Segment],
        "pause_options": [(s.value, s.value) for s in PAUSABLE],
        "metrics": [m.value for m in Metric],
    }
    return render(request, "admin/policy_form.html", context, section="sla")


def _save_policy(request: Request, db: Session, actor: Actor, now: Any, policy_id: int | None) -> Response:
    parsed = forms.policy_payload(_form(request))
    state = FormState(parsed.values)
    if not parsed.data["targets"]:
        state.error("targets", own(N_("Set at least one target (minutes).")))
    if "calendar_id" not in parsed.data:
        state.error("calendar_id", own(N_("Choose the calendar the targets count in.")))
    saved: list[Any] = []

    def attempt() -> None:
        if policy_id is None:
            saved.append(sla.create_policy(db, actor, PolicyIn.model_validate(parsed.data)))
        else:
            saved.append(
                sla.update_policy(db, actor, policy_id, PolicyPatch.model_validate(parsed.data), now)
            )

    refused = _save(
        request,
        db,
        state,
        attempt,
        parsed.loc,
        lambda s: _policy_page(request, db, actor, policy_id, s),
        check=lambda: PolicyPatch.model_validate(parsed.data),
    )
    if refused:
        return refused
    flash(
        request,
        N_("SLA policy %(name)s saved; running deadlines under it were recomputed."),
        name=saved[0].name,
    )
    return _redirect("/settings/sla")


@router.get("/sla/new", response_class=HTMLResponse)
def policy_new(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return _policy_page(request, db, actor, None, FormState(forms.policy_values(None)))


@router.post("/sla/new", response_class=HTMLResponse)
def policy_create(request: Request, db: DB, actor: Supervisor, now: Now) -> Response:
    return _save_policy(request, db, actor, now, None)


@router.get("/sla/{policy_id}", response_class=HTMLResponse)
def policy_edit(request: Request, policy_id: int, db: DB, actor: Supervisor) -> HTMLResponse:
    policy = sla.get_policy(db, actor, policy_id)
    return _policy_page(request, db, actor, policy_id, FormState(forms.policy_values(policy)))


@router.post("/sla/{policy_id}", response_class=HTMLResponse)
def policy_update(request: Request, policy_id: int, db: DB, actor: Supervisor, now: Now) -> Response:
    sla.get_policy(db, actor, policy_id)
    return _save_policy(request, db, actor, now, policy_id)


@router.post("/sla/{policy_id}/delete", response_class=HTMLResponse)
def policy_delete(request: Request, policy_id: int, db: DB, actor: Supervisor) -> Response:
    policy = sla.get_policy(db, actor, policy_id)
    sla.delete_policy(db, actor, policy_id)
    flash(request, N_("SLA policy %(name)s deleted."), name=policy.name)
    return _redirect("/settings/sla")


# --- routing rules ---------------------------------------------------------------------------------
@router.get("/routing", response_class=HTMLResponse)
def rule_list(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    rules = routing.list_rules(db, actor)
    by_stage = {stage.value: [r for r in rules if r.stage == stage.value] for stage in Stage}
    return render(request, "admin/rules.html", {"by_stage": by_stage}, section="routing")


def _rule_page(
    request: Request, db: Session, actor: Actor, rule_id: int | None, state: FormState
) -> HTMLResponse:
    context = {
        "rule": routing.get_rule(db, actor, rule_id) if rule_id is not None else None,
        "form": state,
        "fields": [*FIELDS, "customer.flags.", "organization.flags."],
        "op_options": [(op, op) for op in ALL_OPS],
        "tier_options": [(t.key, f"{t.key} · {t.name}") for t in tiers.list_tiers(db, actor)],
        "team_options": [
            ("@dedicated", "@dedicated"),
            *((t.key, f"{t.name} ({t.key})") for t in tiers.list_teams(db, actor)),
        ],
        "priority_options": [(p, p) for p in PRIORITIES],
    }
    return render(request, "admin/rule_form.html", context, section="routing")


def _save_rule(request: Request, db: Session, actor: Actor, now: Any, rule_id: int | None) -> Response:
    parsed = forms.rule_payload(_form(request))
    state = FormState(parsed.values)
    saved: list[Any] = []

    def attempt() -> None:
        if rule_id is None:
            saved.append(routing.create_rule(db, actor, RuleIn.model_validate(parsed.data), now))
        else:
            saved.append(routing.update_rule(db, actor, rule_id, RulePatch.model_validate(parsed.data), now))

    refused = _save(
        request,
        db,
        state,
        attempt,
        parsed.loc,
        lambda s: _rule_page(request, db, actor, rule_id, s),
        check=lambda: RulePatch.model_validate(parsed.data),
    )
    if refused:
        return refused
    flash(request, N_("Rule %(name)s saved."), name=saved[0].name)
    return _redirect("/settings/routing")


@router.get("/routing/new", response_class=HTMLResponse)
def rule_new(request: Request, db: DB, actor: Supervisor) -> HTMLResponse:
    return _rule_page(request, db, actor, None, FormState(forms.rule_values(None)))


@router.post("/routing/new", response_class=HTMLResponse)
def rule_create(request: Request, db: DB, actor: Supervisor, now: Now) -> Response:
    return _save_rule(request, db, actor, now, None)


@router.get("/routing/test", response_class=HTMLResponse)
def rule_test(
    request: Request, db: DB, actor: Supervisor, ticket: str = "", stage: str = "create", rule: str = ""
) -> HTMLResponse:
    """Dry run: where the enabled rules of a stage would send an existing ticket, and
    whether one rule's conditions hold for it. Reads only."""
    state = FormState({"ticket": ticket[:40], "stage": stage, "rule": rule})
    result: dict[str, Any] | None = None
    if ticket:
        result = _dry_run(db, actor, state, ticket, stage, _int_or_none(rule))
    rule_options = [(r.id, f"{r.name} ({r.stage})") for r in routing.list_rules(db, actor)]
    context = {
        "form": state,
        "result": result,
        "rule_options": rule_options,
    }
    return render(
        request, "admin/rule_test.html", context, status=422 if state.errors else 200, section="routing"
    )


def _dry_run(
    db: Session, actor: Actor, state: FormState, ref: str, stage: str, rule_id: int | None
) -> dict[str, Any] | None:
    if stage not in {s.value for s in Stage}:
        state.error("stage", own(N_("Choose a stage.")))
        return None
    try:
        found = tickets.get_ticket(db, actor, tickets.parse_ref(ref))
        facts = tickets.routing_facts_for(db, found)
    except NotFound:
        state.error("ticket", own(N_("Ticket %(ref)s does not exist or you may not see it."), ref=ref[:40]))
        return None
    except DomainError as exc:  # a need-to-know ticket: the service says whose it is (403)
        state.error("ticket", exc.detail)
        return None
    decision = routing.decide(db, facts, stage)
    tier = tiers.tier_by_id(db, decision.tier_id) if decision.tier_id is not None else None
    team = tiers.team_by_id(db, decision.team_id) if decision.team_id is not None else None
    chosen = None
    if rule_id is not None:
        try:
            one = routing.get_rule(db, actor, rule_id)
        except NotFound:
            state.error("rule", own(N_("That rule no longer exists.")))
            return None
        conditions = [{"condition": c, "holds": routing.matches([c], facts)} for c in (one.conditions or [])]
        chosen = {
            "rule": one,
            "matches": routing.matches(one.conditions or [], facts),
            "conditions": conditions,
        }
    return {
        "ticket": found,
        "decision": decision,
        "tier": tier,
        "team": team,
        "chosen": chosen,
        "facts": facts,
    }


@router.get("/routing/{rule_id}", response_class=HTMLResponse)
def rule_edit(request: Request, rule_id: int, db: DB, actor: Supervisor) -> HTMLResponse:
    rule = routing.get_rule(db, actor, rule_id)
    return _rule_page(request, db, actor, rule_id, FormState(forms.rule_values(rule)))


@router.post("/routing/{rule_id}", response_class=HTMLResponse)
def rule_update(request: Request, rule_id: int, db: DB, actor: Supervisor, now: Now) -> Response:
    routing.get_rule(db, actor, rule_id)
    return _save_rule(request, db, actor, now, rule_id)


@router.post("/routing/{rule_id}/toggle", response_class=HTMLResponse)
def rule_toggle(request: Request, rule_id: int, db: DB, actor: Supervisor, now: Now) -> Response:
    rule = routing.get_rule(db, actor, rule_id)
    enabled = not rule.enabled
    routing.update_rule(db, actor, rule_id, RulePatch(enabled=enabled), now)
    flash(request, N_("Rule %(name)s enabled.") if enabled else N_("Rule %(name)s disabled."), name=rule.name)
    return _redirect("/settings/routing")


@router.post("/routing/{rule_id}/move", response_class=HTMLResponse)
def rule_move(request: Request, rule_id: int, db: DB, actor: Supervisor, now: Now) -> Response:
    """Move a rule one place up or down within its stage. Positions are renumbered 10, 20,
    30… so ties (same position, ordered by id) move too."""
    rule = routing.get_rule(db, actor, rule_id)
    direction = forms.text(_form(request), "direction")
    ordered = routing.list_rules(db, actor, Stage(rule.stage))
    index = next(i for i, r in enumerate(ordered) if r.id == rule.id)
    other = index - 1 if direction == "up" else index + 1
    if direction in ("up", "down") and 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
        for i, item in enumerate(ordered):
            position = (i + 1) * routing.POSITION_STEP
            if item.position != position:
                routing.update_rule(db, actor, item.id, RulePatch(position=position), now)
        flash(request, N_("Rule %(name)s moved."), name=rule.name)
    return _redirect(f"/settings/routing#rule-{rule.id}")


@router.post("/routing/{rule_id}/delete", response_class=HTMLResponse)
def rule_delete(request: Request, rule_id: int, db: DB, actor: Supervisor) -> Response:
    rule = routing.get_rule(db, actor, rule_id)
    name = rule.name
    routing.delete_rule(db, actor, rule_id)
    flash(request, N_("Rule %(name)s deleted."), name=name)
    return _redirect("/settings/routing")
