"""The casework plugin's metadata and hook implementations."""


from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import PUBLIC, Permission, Role
from core.plugins import PluginInfo
from plugins.casework import _l
from plugins.casework.erasure import account_erased  # noqa: F401  (the hook: what an erased account leaves)

plugin_info = PluginInfo(
    name="casework",
    label=_l("Casework"),
    description=_l("ISVA and caseworker support for people who ask for it."),
)


@hookimpl
def register_blueprints(app):
    from plugins.casework.api import bp as api_bp
    from plugins.casework.client import bp as client_bp
    from plugins.casework.dashboard import bp as dashboard_bp
    from plugins.casework.plans_api import bp as plans_api_bp
    from plugins.casework.plans_views import bp as plans_bp
    from plugins.casework.views import bp
    from plugins.casework.work_api import bp as work_api_bp
    from plugins.casework.work_views import bp as work_bp

    return [bp, api_bp, plans_bp, plans_api_bp, work_bp, work_api_bp, client_bp, dashboard_bp]


@hookimpl
def register_roles(app):
    return [
        Role("caseworker", _l("Caseworker (ISVA or support worker)"), staff=True),
        Role("casework_supervisor", _l("Casework supervisor"), staff=True),
    ]


@hookimpl
def audit_actions(app):
    """The words for this plugin's audit action codes on the audit log page."""
    from plugins.casework.audit_labels import ACTIONS

    return ACTIONS


@hookimpl
def register_permissions(app):
    return [
        Permission("casework.cases", _l("Work on support cases"), ("caseworker", "casework_supervisor")),
        Permission("casework.supervise", _l("See every case, approve plans and closures, supervise caseworkers"),
                   ("casework_supervisor",)),
        Permission("casework.refer", _l("Refer someone for support, with their agreement"), ("partner",)),
    ]


@hookimpl
def settings_schema(app):
    from plugins.casework.schemas import CaseworkSettings

    return CaseworkSettings


@hookimpl
def retention_rules(app):
    """Closed cases (with everything on them) and declined or withdrawn referrals expire."""
    from peewee import fn

    from core.retention import RetentionRule, days_setting
    from plugins.casework.models import Case, Referral

    return [
        RetentionRule(model=Case, age_field=Case.closed_at, max_age=days_setting("casework", "keep_closed_cases_days"),
                      condition=lambda: (Case.stage == "closed") & Case.closed_at.is_null(False),
                      label="closed cases"),
        RetentionRule(model=Referral, age_field=Referral.decided_at,
                      max_age=days_setting("casework", "keep_declined_referrals_days"),
                      condition=lambda: Referral.status.in_(("declined", "withdrawn"))
                      & Referral.decided_at.is_null(False),
                      label="declined and withdrawn referrals"),
        # An accepted referral goes once its case has gone (closed and expired), never before.
        RetentionRule(model=Referral, age_field=Referral.decided_at,
                      max_age=days_setting("casework", "keep_closed_cases_days"),
                      condition=lambda: (Referral.status == "accepted")
                      & ~fn.EXISTS(Case.select(Case.id).where(Case.referral == Referral.id)),
                      label="accepted referrals whose case was deleted"),
    ]


@hookimpl
def nav_items(app, user):
    items = _nav_items()
    if not getattr(user, "is_authenticated", False):
        # Someone who asked without an account comes back with their receipt: "Your support" is
        # where it works. Only for visitors who are not signed in: members' and staff's menus are
        # longer already, and "Get support" links to it for everyone.
        items.append(NavItem(_l("Your support"), "casework_client.page", PUBLIC, order=13,
                             description=_l("Already asked for support? See our answer with your receipt.")))
    return items


def _nav_items() -> list:
    return [NavItem(_l("Cases"), "casework.index", "casework.cases", order=30),
            NavItem(_l("Referrals"), "casework.referrals", "casework.cases", order=29),
            NavItem(_l("Get support"), "casework.support", PUBLIC, order=12,
                    description=_l("Ask for support from a caseworker, without making a report.")),
            NavItem(_l("Refer someone for support"), "casework.refer", "casework.refer", order=32),
            NavItem(_l("Approvals"), "casework_plans.approval_queue", "casework.supervise", order=31),
            NavItem(_l("Caseload"), "casework_dashboard.dashboard", "casework.cases", order=28),
            NavItem(_l("Returns for funders"), "casework_dashboard.returns_page", "casework.supervise", order=33)]


@hookimpl
def register_api(app, spec):
    from plugins.casework.api import describe
    from plugins.casework.plans_api import describe as describe_plans
    from plugins.casework.work_api import describe as describe_work

    describe(spec)
    describe_plans(spec)
    describe_work(spec)


@hookimpl
def register_tasks(app):
    from plugins.casework.appointments import TASKS as appointment_tasks
    from plugins.casework.tasks import notify_team, remind_tasks, tell_declined

    return [notify_team, tell_declined, remind_tasks, *appointment_tasks]


@hookimpl(optionalhook=True)
def report_submitted(app, report):
    """A report whose reporter asked for support becomes a referral (only what that consent covers)."""
    _refer(report, "report")


@hookimpl(optionalhook=True)
def consent_given(app, report, purpose):
    """Support asked for later, on the report's page or through the API, becomes a referral too."""
    if purpose == "wants_support":
        _refer(report, "consent_later")


@hookimpl(optionalhook=True)
def consent_withdrawn(app, report, purpose):
    """Support no longer wanted: a referral nobody has taken up yet is withdrawn."""
    if purpose == "wants_support":
        from plugins.casework.service import withdraw_referral_for_report

        withdraw_referral_for_report(report)


def _refer(report, source: str) -> None:
    import logging

    from plugins.casework.service import referral_from_report

    try:
        referral_from_report(report, source=source)
    except Exception as exc:  # the report is stored; the reporter must still see their receipt
        logging.getLogger("redumbrella.casework").error(
            "referral not made", extra={"event": "referral_failed", "plugin": "casework",
                                        "reason": type(exc).__name__})


@hookimpl
def demo_data(app, accounts):
    from plugins.casework.demo import fill

    fill(app, accounts)


@hookimpl
def page_blocks(app, slot, user):
    from plugins.casework import slots

    return slots.page_blocks(app, slot, user)
