"""Slots in core pages (issue 13): plugins add blocks to the home page, the profile and the
administrators' overview through the page_blocks hook, without core naming them."""

from __future__ import annotations

import datetime
import types

from casework_common import in_db, make_case
from flask import render_template_string
from helpers import enable, sign_in
from markupsafe import Markup

from core.hookspecs import hookimpl
from core.plugins import PluginInfo
from core.slots import PageBlock


def test_a_client_sees_when_their_next_appointment_is_and_nothing_else_about_it(app, make_user):
    from core.db import utcnow
    from plugins.casework.models import Appointment, Case

    enable(app, "casework")
    worker, client_user, other = make_user("caseworker"), make_user("member"), make_user("member")
    reference = make_case(app, worker, client=client_user.id)
    soon = utcnow() + datetime.timedelta(days=2)
    with in_db(app):
        case = Case.get(Case.reference == reference)
        Appointment.create(case=case, kind="sarc", starts_at=soon, uid="slot-test-1", place="SECRET-PLACE-55")
        Appointment.create(case=case, kind="court", starts_at=soon + datetime.timedelta(days=5), uid="slot-test-2")
        Appointment.create(case=case, kind="police", starts_at=soon - datetime.timedelta(days=9), uid="slot-test-3")
    client = app.test_client()
    sign_in(client, client_user)
    home = client.get("/").get_data(as_text=True)
    assert "Your next appointment" in home and "/casework/my-support/" in home
    assert str(soon.day) in home  # the nearer one, by its date
    assert "SECRET-PLACE-55" not in home and "sexual assault referral" not in home.lower()  # when, not where or what
    stranger = app.test_client()
    sign_in(stranger, other)
    assert "Your next appointment" not in stranger.get("/").get_data(as_text=True)
    disable(app, "casework")
    assert "Your next appointment" not in client.get("/").get_data(as_text=True)


def test_a_learner_is_told_a_certificate_expires_soon_and_sees_their_certificates_on_the_profile(app, make_user):
    from core.db import connection
    from plugins.training import certificates
    from plugins.training.models import Course

    enable(app, "training")
    learner = make_user("learner")
    with in_db(app):
        course = Course.create(title="Responding without judgement", status="published", hours=2,
                               certificate_valid_days=30)
    with app.test_request_context(), connection():
        certificates.issue(learner.id, Course.get_by_id(course.id), "Alex Example",
                           issued_on=datetime.date.today() - datetime.timedelta(days=20))
    client = app.test_client()
    sign_in(client, learner)
    home = client.get("/").get_data(as_text=True)
    assert "Your certificates" in home and "Responding without judgement" in home
    assert "expires in 10 days." in home
    profile = client.get("/account/profile").get_data(as_text=True)
    assert "You have 1 certificate." in profile


def disable(app, name: str) -> None:
    from core.db import connection
    from core.plugins import get_registry

    with app.app_context(), connection():
        get_registry(app).set_enabled(name, False)


def _plugin(name: str, block):
    module = types.ModuleType(f"slot_test_{name}")
    module.plugin_info = PluginInfo(name=name, label=name.title())

    def page_blocks(app, slot, user):
        return block(slot)

    module.page_blocks = hookimpl(page_blocks)
    return module


def test_blocks_come_in_order_and_one_that_fails_is_left_out_without_breaking_the_page(make_app, make_user):
    def good(slot):
        return [PageBlock("Second block", Markup(render_template_string("<p>B-BODY</p>")), order=60),
                PageBlock("First block", Markup(render_template_string("<p>{{ x }}</p>", x="<i>escaped</i>")), order=5),
                PageBlock("Plain text", "<b>as text</b>", order=70)]

    def broken(slot):
        raise RuntimeError("SECRET-VALUE-93")

    app = make_app(extra_plugins=(_plugin("slotgood", good), _plugin("slotbroken", broken)))
    enable(app, "slotgood", "slotbroken")
    client = app.test_client()
    page = client.get("/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert text.index("First block") < text.index("Second block") < text.index("What you can do here")
    assert "<p>B-BODY</p>" in text
    assert "&lt;i&gt;escaped&lt;/i&gt;" in text and "<i>escaped</i>" not in text
    assert "&lt;b&gt;as text&lt;/b&gt;" in text  # a body that is not Markup is escaped whole
    assert "SECRET-VALUE-93" not in text


def test_a_disabled_plugin_adds_nothing(make_app):
    app = make_app(extra_plugins=(_plugin("slotoff", lambda slot: PageBlock("OFF-BLOCK", "x")),))
    assert "OFF-BLOCK" not in app.test_client().get("/").get_data(as_text=True)
    enable(app, "slotoff")
    assert "OFF-BLOCK" in app.test_client().get("/").get_data(as_text=True)


def test_the_admin_overview_shows_what_waits_in_each_module_to_those_who_handle_it(app, make_user):
    from test_reporting_common import in_db as reporting_db

    from plugins.reporting.models import Report
    from plugins.reporting.service import new_reference

    enable(app, "reporting", "alerts", "casework", "training")
    with reporting_db(app):
        for urgency in (0, 2):
            Report.create(reference=new_reference(), status="new", urgency=urgency)
    admin = app.test_client()
    sign_in(admin, make_user("admin", "moderator", email="both@example.org"))
    page = admin.get("/admin/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "2 reports are waiting for review." in text and "1 of them is urgent." in text
    assert "alert messages could not be delivered" in text
    assert "Modules and settings" in text
    assert text.index("Reports") < text.index("Alerts")  # each module's block in its order
    only_admin = app.test_client()
    sign_in(only_admin, make_user("admin", email="admin@example.org"))
    text = only_admin.get("/admin/").get_data(as_text=True)
    assert "alert messages could not be delivered" in text
    assert "waiting for review" not in text  # reports are for those who moderate them
    moderator = app.test_client()
    sign_in(moderator, make_user("moderator", email="mod@example.org"))
    assert moderator.get("/admin/").status_code == 403
