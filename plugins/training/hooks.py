"""The training plugin's metadata and hook implementations."""


from core.hookspecs import hookimpl
from core.navigation import NavItem
from core.permissions import PUBLIC, Permission, Role
from core.plugins import PluginInfo
from plugins.training import _l
from plugins.training.erasure import account_erased  # noqa: F401  (the hook: what an erased account leaves)

plugin_info = PluginInfo(
    name="training",
    label=_l("Training"),
    description=_l("Courses for police, health and support professionals."),
)


@hookimpl
def register_blueprints(app):
    from plugins.training.api import bp as api_bp
    from plugins.training.author_api import bp as author_api_bp
    from plugins.training.author_views import bp as author_bp
    from plugins.training.certificate_api import bp as certificate_api_bp
    from plugins.training.certificate_views import bp as certificate_bp
    from plugins.training.feedback_views import bp as feedback_bp
    from plugins.training.learn_views import bp as learn_bp
    from plugins.training.quiz_api import bp as quiz_api_bp
    from plugins.training.quiz_views import bp as quiz_bp
    from plugins.training.session_api import bp as session_api_bp
    from plugins.training.session_views import bp as session_bp
    from plugins.training.views import bp

    return [bp, author_bp, author_api_bp, learn_bp, api_bp, certificate_bp, certificate_api_bp, quiz_bp, quiz_api_bp,
            session_bp, session_api_bp, feedback_bp]


@hookimpl
def register_roles(app):
    return [
        Role("trainer", _l("Trainer"), staff=True),
        Role("learner", _l("Learner (a professional taking training)")),
        Role("organisation_manager", _l("Organisation manager (enrols and follows their organisation's staff)")),
    ]


@hookimpl
def audit_actions(app):
    """The words for this plugin's audit action codes on the audit log page."""
    from plugins.training.audit_labels import ACTIONS

    return ACTIONS


@hookimpl
def register_permissions(app):
    # training.learn is for learners, and for the partners a gate may ask to hold a certificate;
    # no reporting, alerts or casework permission names "learner", so learners see none of that.
    return [
        Permission("training.manage", _l("Write and run courses, run sessions, mark attendance, revoke "
                                         "certificates"), ("trainer",)),
        Permission("training.learn", _l("Take courses, book sessions and keep certificates"),
                   ("learner", "partner", "trainer", "organisation_manager")),
        Permission("training.organisation", _l("Enrol and follow the people of one's own organisation"),
                   ("organisation_manager",)),
        Permission("training.reports", _l("See training reports for funders (counts only)"), ("trainer", "admin")),
    ]


@hookimpl
def settings_schema(app):
    from plugins.training.schemas import TrainingSettings

    return TrainingSettings


@hookimpl
def register_api(app, spec):
    from plugins.training.api import describe
    from plugins.training.author_api import describe as describe_authoring
    from plugins.training.certificate_api import describe as describe_certificates
    from plugins.training.quiz_api import describe as describe_quizzes
    from plugins.training.session_api import describe as describe_sessions

    describe(spec)
    describe_authoring(spec)
    describe_quizzes(spec)
    describe_sessions(spec)
    describe_certificates(spec)


@hookimpl
def access_paused(app, user, permission):
    """The partner gate: see plugins/training/gate.py (None at once for anything it does not cover)."""
    from plugins.training.gate import pause_for

    return pause_for(app, user, permission)


@hookimpl
def register_tasks(app):
    from plugins.training.certificates import TASKS as certificate_tasks
    from plugins.training.tasks import SESSION_TASKS, count_courses

    return [count_courses, *certificate_tasks, *SESSION_TASKS]


@hookimpl
def register_mail_kinds(app):
    from core.mail import MailKind
    from plugins.training.sessions import BOOKING_MAIL

    return [MailKind(BOOKING_MAIL, _l("E-mail about a training booking: a place, a change, a reminder or a "
                                      "cancellation"), "training.manage")]


@hookimpl
def register_commands(app):
    from plugins.training.commands import add_course, verify

    return [add_course, verify]


@hookimpl
def nav_items(app, user):
    return [
        NavItem(_l("Training"), "training.index", PUBLIC, order=40,
                description=_l("Courses for police, health and support professionals.")),
        NavItem(_l("My organisation"), "training.organisation_page", "training.organisation", order=42),
        NavItem(_l("Write courses"), "training_author.index", "training.manage", order=41),
        NavItem(_l("Run sessions"), "training_sessions.author_sessions", "training.manage", order=43),
        NavItem(_l("Sessions"), "training_sessions.sessions", "training.learn", order=44),
        NavItem(_l("Bookings to approve"), "training_sessions.approvals", "training.organisation", order=45),
        NavItem(_l("Training reports"), "training_feedback.report_page", "training.reports", order=46),
        NavItem(_l("My certificates"), "training_certificates.mine", "training.learn", order=47),
    ]


@hookimpl
def demo_data(app, accounts):
    from plugins.training.demo import fill

    fill(app, accounts)


@hookimpl
def page_blocks(app, slot, user):
    from plugins.training import slots

    return slots.page_blocks(app, slot, user)


@hookimpl
def register_webhook_events(app):
    from core.webhooks import WebhookEvent

    return [WebhookEvent("certificate.issued", _l("A certificate is issued"),
                         _l("The certificate's public verification code and link, and the course title. "
                            "Never the learner's name."))]
