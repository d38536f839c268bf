"""The partner gate (opt-in): a partner's access to alerts and the number check can require a
current certificate of a chosen course. Core asks through the access_paused hook; this answers
None at once unless the permission is one the gate can cover, the person holds it only as a
partner, and the setting is on."""

from __future__ import annotations

import datetime

from flask import g, has_app_context, has_request_context, url_for

from core.permissions import AccessPaused, roles_for
from plugins.training import _
from plugins.training.schemas import GATEABLE


def has_current_certificate(user_id: int, course_id: int, today: datetime.date | None = None) -> bool:
    """A certificate of the course (or of one of its language versions) that is neither revoked
    nor past its end date."""
    from plugins.training.models import Certificate, Course

    today = today or datetime.date.today()
    family = Course.select(Course.id).where((Course.id == course_id) | (Course.translation_of == course_id))
    return Certificate.select().where(
        (Certificate.user == user_id) & Certificate.course.in_(family) & Certificate.revoked_at.is_null()
        & (Certificate.expires_on.is_null() | (Certificate.expires_on >= today))).exists()


def pause_for(app, user, permission: str) -> AccessPaused | None:
    if permission not in GATEABLE:
        return None
    if roles_for(app, permission) & user.role_names != {"partner"}:
        return None  # held through another role (member, moderator): the gate is for partners
    settings = _settings()
    course_id = settings.get("partner_gate_course")
    if not course_id or permission not in settings.get("gate_permissions", ()):
        return None
    if has_current_certificate(user.id, course_id):
        return None
    # The link is for a page or an API answer; a queue task (sending alerts) needs only the answer.
    link = url_for("training.course", course_id=course_id) if has_request_context() else None
    return AccessPaused(
        _("Your access to alerts and the number check is paused: it needs a current certificate of a "
          "training course, and yours has ended or has not been issued yet. It comes back as soon as you "
          "hold a current certificate."),
        link, _("Take or renew the course"))


def _settings() -> dict:
    """The module's settings: read once per request (core.settings), and once per queue task
    outside one, where a drain of the outbox asks about every partner it sends to."""
    from core.settings import plugin_settings

    if has_request_context() or not has_app_context():
        return plugin_settings("training")
    here = g._get_current_object()
    if "training_gate_settings" not in here:
        here.training_gate_settings = plugin_settings("training")
    return here.training_gate_settings
