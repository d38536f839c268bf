"""Nothing personal in the logs, the queue or (for encrypted fields) the raw database.

Unique canary strings are typed into every form and sent through every JSON API of an app with
every plugin enabled, by the people allowed to use them; queued tasks are then run by the real
queue code (mail goes to a real SMTP server in the test). Then:
- the log output (every logger, at DEBUG, as the app's formatter writes it),
- the queue's storage (SQLite file in the instance folder, or Redis),
- the database: the raw SQLite files on disk, or every stored value on PostgreSQL,
must contain none of the canaries.

How the forms are filled: the page is fetched as a browser would, the form whose action is the
target is read from the HTML, and every field a person types into gets a fresh canary of the
right shape (email, phone, password, plain words); choices keep a real option. So adding a form
is one line in FORMS (values= only for what the page cannot tell, such as a date). A coverage
test fails when a state-changing route is reached by no case here and is not listed in
NOT_PERSONAL with a reason.
"""

from __future__ import annotations

import html
import io
import logging
import os
import re
import secrets
import sqlite3
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import pytest
from conftest import TEST_REDIS_URL, using_postgres
from helpers import TEST_PASSWORD, csrf_token, sign_in
from smtp_server import SmtpServer
from test_route_permissions import enable_everything, route_cases

from core.db import connection, db

# -- canaries --------------------------------------------------------------------------------------


class Canaries:
    """Makes unique canary values of each shape and remembers what to search for."""

    def __init__(self):
        self.needles: dict[str, str] = {}  # needle -> where it was typed

    def _word(self) -> str:
        return "cnry" + secrets.token_hex(6)

    def text(self, where: str) -> str:
        word = self._word()
        self.needles[word] = where
        return f"{word.capitalize()} said"

    def email(self, where: str) -> str:
        word = self._word()
        self.needles[word] = where
        return f"{word}@example.org"

    def phone(self, where: str) -> str:
        digits = f"{secrets.randbelow(10**6):06d}"
        # Every spelling a phone may be stored or logged in: national, E.164 and spaced. 07912 is a
        # mobile range in use for every six digits (half of 07911 is not), as a text-message number must be.
        for needle in (f"7912{digits}", f"7912 {digits}"):
            self.needles[needle] = where
        return f"07912 {digits}"

    def plate(self, where: str) -> str:
        value = "CQ" + f"{secrets.randbelow(10**6):06d}"
        self.needles[value.lower()] = where
        return value

    def password(self, where: str) -> str:
        word = self._word()
        self.needles[word] = where
        return f"{word} is my long passphrase"

    def found_in(self, haystack: str | bytes) -> list[str]:
        text = haystack.decode("latin-1") if isinstance(haystack, bytes) else haystack
        text = text.lower()
        return sorted(f"{needle} (typed into {where})" for needle, where in self.needles.items() if needle in text)


@dataclass(frozen=True)
class Canary:
    """A placeholder in values=/body=: a fresh canary of this shape is put here."""

    kind: str  # text, email, phone, plate, password


TEXT, EMAIL, PHONE, PLATE, PASSWORD = (Canary(kind) for kind in ("text", "email", "phone", "plate", "password"))
SKIP = object()  # leave this field out of the submission


# -- reading forms from HTML -------------------------------------------------------------------------


@dataclass
class FormField:
    tag: str
    name: str
    type: str
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    selected: list[str] = field(default_factory=list)


@dataclass
class HtmlForm:
    action: str
    method: str
    fields: list[FormField] = field(default_factory=list)
    buttons: list[tuple[str, str]] = field(default_factory=list)


class FormParser(HTMLParser):
    def __init__(self, page_path: str):
        super().__init__(convert_charrefs=True)
        self.page_path = page_path
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._textarea: FormField | None = None
        self._select: FormField | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            action = a.get("action") or self.page_path
            self._form = HtmlForm(urlparse(action).path or self.page_path, a.get("method", "get").lower())
            self.forms.append(self._form)
        if self._form is None or "name" not in a or "disabled" in a:
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        if tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self._form.buttons.append((a["name"], a.get("value", "")))
            elif kind != "file":
                self._form.fields.append(FormField("input", a["name"], kind, a.get("value", ""), "checked" in a))
        elif tag == "button" and a.get("type", "submit") == "submit":
            self._form.buttons.append((a["name"], a.get("value", "")))
        elif tag == "textarea":
            self._textarea = FormField("textarea", a["name"], "textarea")
            self._form.fields.append(self._textarea)
        elif tag == "select":
            self._select = FormField("select", a["name"], "select-multiple" if "multiple" in a else "select")
            self._form.fields.append(self._select)

    def _option(self, a):
        value = a.get("value", "")
        self._select.options.append(value)
        if "selected" in a:
            self._select.selected.append(value)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None


def find_form(page: str, page_path: str, action: str) -> HtmlForm:
    parser = FormParser(page_path)
    parser.feed(page)
    for form in parser.forms:
        if form.method == "post" and form.action == action:
            return form
    found = [f.action for f in parser.forms if f.method == "post"]
    raise AssertionError(f"no POST form to {action} on {page_path} (forms go to {found})")


def _guess(item: FormField) -> Canary | str:
    name = item.name.lower()
    if item.type == "password" or "password" in name:
        return PASSWORD
    if item.type == "email" or "email" in name:
        return EMAIL
    if item.type == "tel" or "phone" in name or "mobile" in name:
        return PHONE
    if "plate" in name:
        return PLATE
    if item.type == "date":
        return "2024-05-01"
    if item.type == "number":
        return "1"
    return TEXT


def fill(form: HtmlForm, values: dict, canaries: Canaries, where: str) -> dict:
    """What a person would send: canaries in every typed field, a real choice in every other."""
    data: dict[str, list[str]] = {}
    typed_passwords: list[str] = []

    def put(name, value):
        if isinstance(value, Canary):
            if value.kind == "password" and typed_passwords and re.search(r"confirm|again|repeat", name):
                value = typed_passwords[-1]  # "type it again" gets the same new password
            else:
                value = getattr(canaries, value.kind)(f"{where} {name}")
                if isinstance(value, str) and "passphrase" in value:
                    typed_passwords.append(value)
        data.setdefault(name, []).append(value)

    handled = set()
    for item in form.fields:
        if item.name in values:
            if item.name not in handled:
                handled.add(item.name)
                chosen = values[item.name]
                if chosen is SKIP:
                    continue
                for value in chosen if isinstance(chosen, list) else [chosen]:
                    put(item.name, value)
            continue
        if item.type == "hidden":
            put(item.name, item.value)
        elif item.type in ("checkbox", "radio"):
            if item.name not in handled:  # the first box of each group
                handled.add(item.name)
                put(item.name, item.value or "y")
        elif item.tag == "select":
            real = [option for option in item.options if option]
            if item.selected and item.selected[0]:
                put(item.name, item.selected[0])
            elif real:
                put(item.name, real[0])
        elif item.type in ("text", "email", "tel", "password", "textarea", "search", "url", "date", "number"):
            if item.value.strip() and item.type != "password":
                put(item.name, item.value)  # already filled (an earlier step, a default)
            else:
                put(item.name, _guess(item))
    for name, chosen in values.items():  # values for fields the page does not show
        if name not in handled and name not in {f.name for f in form.fields} and chosen is not SKIP:
            for value in chosen if isinstance(chosen, list) else [chosen]:
                put(name, value)
    if form.buttons and not any(name in data for name, _value in form.buttons):
        name, value = form.buttons[0]
        put(name, value)
    return data


# -- the world the cases run in ------------------------------------------------------------------------


@dataclass
class World:
    app: object
    canaries: Canaries
    clients: dict = field(default_factory=dict)
    users: dict = field(default_factory=dict)
    state: dict = field(default_factory=dict)
    reached: set = field(default_factory=set)  # (method, endpoint) of every request sent

    def client(self, who: str | None):
        return self.clients[who or "anonymous"]

    def note(self, method: str, path: str) -> None:
        adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, _args = adapter.match(path, method=method)
        except Exception:  # noqa: BLE001 - a path that is not a route is simply not counted
            return
        self.reached.add((method, endpoint))

    @contextmanager
    def db(self):
        """An app context with a database connection, for reading or preparing records."""
        with self.app.app_context(), connection():
            yield


Target = str | Callable[[World], str]  # a path, or how to make one from what happened so far


@dataclass
class Form:
    """One HTML form: opened at `page` as `who`, sent to `action` (default: the page itself)."""

    page: Target
    who: str | None = None
    action: Target | None = None
    values: dict = field(default_factory=dict)
    expect: tuple[int, ...] = (200, 302, 303)
    then: Callable | None = None  # (world, response) -> None, to remember what later cases need

    def run(self, world: World) -> None:
        page = self.page(world) if callable(self.page) else self.page
        action = (self.action(world) if callable(self.action) else self.action) or urlparse(page).path
        client = world.client(self.who)
        opened = client.get(page)
        assert opened.status_code == 200, f"{page} as {self.who}: {opened.status_code}"
        form = find_form(opened.get_data(as_text=True), urlparse(page).path, action)
        data = fill(form, self.values, world.canaries, f"{action} as {self.who or 'anonymous'}")
        response = client.post(action, data=data)
        world.note("POST", action)
        assert response.status_code in self.expect, (
            f"{action} as {self.who}: {response.status_code}\n{_main_text(response)[:1500]}"
        )
        if self.then:
            self.then(world, response)


@dataclass
class Api:
    """One JSON API call, with a personal access token for `who` (or none for anonymous)."""

    method: str
    path: Target
    body: dict | list | Callable[[World], dict] | None = None
    who: str | None = None
    expect: tuple[int, ...] = (200, 201, 202, 204)
    then: Callable | None = None

    def run(self, world: World) -> None:
        path = self.path(world) if callable(self.path) else self.path
        body = self.body(world) if callable(self.body) else self.body
        headers = {"Authorization": f"Bearer {world.state['tokens'][self.who]}"} if self.who else {}
        client = world.app.test_client()  # no cookies: a partner system or a phone app
        response = client.open(path, method=self.method, json=_canaried(body, world.canaries, path), headers=headers)
        world.note(self.method, path)
        assert response.status_code in self.expect, (
            f"{self.method} {path}: {response.status_code} "
            f"{response.data[:800]}"
        )
        if self.then:
            self.then(world, response)


@dataclass
class Step:
    """Anything else a person does (a multi-step form): a function of the world."""

    name: str
    function: Callable[[World], None]

    def run(self, world: World) -> None:
        self.function(world)


def _canaried(body, canaries: Canaries, where: str):
    if isinstance(body, Canary):
        return getattr(canaries, body.kind)(where)
    if isinstance(body, dict):
        return {key: _canaried(value, canaries, f"{where} {key}") for key, value in body.items()}
    if isinstance(body, list):
        return [_canaried(value, canaries, where) for value in body]
    return body


def _main_text(response) -> str:
    page = response.get_data(as_text=True)
    if "<main" in page:
        page = page[page.index("<main"):page.index("</main>")]
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


# -- what the cases need from one another --------------------------------------------------------------


def latest(model_path: str):
    """The newest row of a model, e.g. latest("core.accounts.membership:MembershipApplication")."""

    def read(world: World):
        module, name = model_path.split(":")
        model = getattr(__import__(module, fromlist=[name]), name)
        with world.db():
            return model.select().order_by(model.id.desc()).first()

    return read


def reporting_wizard(who: str | None) -> Callable[[World], None]:
    """The step-by-step report form, every step filled from its own page, as a reporter would."""

    def walk(world: World) -> None:
        client = world.client(who)
        page = client.get("/reporting/report").get_data(as_text=True)
        step_values = {
            "on_behalf": "no",
            "incident_types": ["physical_assault", "robbery"],
            "occurred_on": "2024-05-01",
            "p0-phones": PHONE,
            "p0-emails": EMAIL,
            "p0-vehicle_plate": PLATE,
            "consent_share_alert": "yes",
            "consent_wants_support": "yes",
            "support_contact": PHONE,
        }
        for _ in range(12):
            form = find_form(page, "/reporting/report", "/reporting/report")
            step = next((item.value for item in form.fields if item.name == "step"), None)
            values = dict(step_values)
            values["action"] = "send" if step == "check" else "next"
            data = fill(form, values, world.canaries, f"report step {step} as {who or 'anonymous'}")
            response = client.post("/reporting/report", data=data, follow_redirects=True)
            world.note("POST", "/reporting/report")
            assert response.status_code == 200, _main_text(response)[:1500]
            page = response.get_data(as_text=True)
            if 'class="reference"' in page:
                remember_report(world, response, who)
                return
            errors = re.findall(r'class="error"[^>]*>([^<]+)<', page)
            assert not errors, f"step {step}: {errors}"
        raise AssertionError("the report form never finished")

    return walk


def remember_report(world: World, response, who: str | None = None) -> None:
    page = response.get_data(as_text=True)
    reference = re.search(r'class="reference">(R-[0-9A-Z]{6})<', page).group(1)
    world.state.setdefault("references", []).append(reference)
    world.state[f"reference:{who or 'anonymous'}"] = reference
    found = re.search(r'id="receipt"><strong>([\d ]+)</strong>', page)
    if found:
        world.state["receipt"] = found.group(1).replace(" ", "")


def remember_api_report(world: World, response) -> None:
    body = response.get_json()
    world.state["api_reference"] = body["reference"]
    world.state["api_receipt"] = (body.get("receipt") or "").replace(" ", "")


def follow_up(world: World) -> None:
    """A reporter opens their report with the receipt, then writes a message on the status page."""
    client = world.client(None)
    opened = client.post("/reporting/follow-up", data={"csrf_token": csrf_token(client, "/reporting/follow-up"),
                                                       "receipt": world.state["receipt"]})
    world.note("POST", "/reporting/follow-up")
    assert opened.status_code == 200, _main_text(opened)[:800]
    form = find_form(opened.get_data(as_text=True), "/reporting/follow-up", "/reporting/follow-up")
    data = fill(form, {"action": "message"}, world.canaries, "follow-up message")
    sent = client.post("/reporting/follow-up", data=data)
    assert sent.status_code == 200 and "Your message is sent" in sent.get_data(as_text=True), _main_text(sent)[:800]


def issue_invitation_link(world: World) -> str:
    from core.accounts.invitations import Invitation

    with world.db():
        invitation = Invitation.select().order_by(Invitation.id.desc()).first()
        return f"/account/invitation/{invitation.issue()}"


def issue_password_link(world: World) -> str:
    from core.accounts.invitations import PasswordLink
    from core.accounts.models import User

    with world.db():
        user = User.select().where(User.password_hash.is_null()).order_by(User.id.desc()).first()
        assert user is not None, "no approved member waiting for a password"
        return f"/account/set-password/{PasswordLink.issue(user)}"


def issue_reset_link(world: World) -> str:
    from core.accounts import reset

    with world.db():
        return f"/account/reset/{reset.make_token(world.users['resetter'])}"


def ref(template: str, key: str = "reference:anonymous") -> Callable[[World], str]:
    return lambda world: template.format(ref=world.state[key])


def newest(template: str, model_path: str) -> Callable[[World], str]:
    return lambda world: template.format(id=latest(model_path)(world).id)


def api_ref(template: str) -> Callable[[World], str]:
    return lambda world: template.format(ref=world.state["api_reference"])


APPLICATION = "core.accounts.membership:MembershipApplication"
ALERT = "plugins.alerts.models:Alert"
APPLICATION_PAGE = newest("/admin/members/applications/{id}", APPLICATION)
MODERATE = ref("/reporting/moderate/{ref}")
ALERT_EDIT = newest("/alerts/manage/{id}/edit", ALERT)
ALERT_STAFF = newest("/alerts/manage/{id}", ALERT)
ALERT_PREVIEW = newest("/alerts/manage/{id}/preview", ALERT)
API_ALERT = newest("/api/v1/alerts/{id}", ALERT)
REPORT_BODY = {
    "incident_types": ["robbery"], "occurred_on": "2024-05-01", "region": "london",
    "narrative": TEXT, "location": TEXT,
    "perpetrators": [{"names": [TEXT], "phones": [PHONE], "emails": [EMAIL], "handles": [TEXT],
                      "description": {"features": TEXT, "hair": TEXT}, "vehicle": {"plate": PLATE, "make": TEXT}}],
    "consent": {"share_alert": True, "police_intelligence": False, "police_report": False, "wants_support": True},
    "support_contact": PHONE,
}

CASE = "/casework/cases/C-CNRY01"
API_CASE = "/api/v1/cases/C-CNRY01"
APPOINTMENT = "plugins.casework.models:Appointment"
REFERRAL_OUT = "plugins.casework.models:ReferralOut"
APPOINTMENT_PAGE = newest(CASE + "/appointments/{id}", APPOINTMENT)
API_APPOINTMENT = newest(API_CASE + "/appointments/{id}", APPOINTMENT)
API_REFERRAL_OUT = newest(API_CASE + "/referrals-out/{id}", REFERRAL_OUT)


def casework_case(world: World) -> None:
    """A case of the staff caseworker whose client is the member (intake's own forms are cases too)."""
    from plugins.casework.models import Case

    with world.db():
        Case.create(reference="C-CNRY01", worker=world.users["staff"].id, client=world.users["member"].id,
                    stage="assessment")


def _then(path_of: Callable[[World], str], suffix: str) -> Callable[[World], str]:
    return lambda world: path_of(world) + suffix


GOAL = "plugins.casework.models:Goal"
CLAIM = "plugins.casework.models:CompensationClaim"
APPROVAL = "plugins.casework.models:Approval"
APPROVAL_PAGE = newest("/casework/approvals/{id}", APPROVAL)


def casework_supervisor(world: World) -> None:
    """A casework supervisor (approvals, supervision notes), signed in and with a token."""
    from core.accounts.service import create_account
    from core.accounts.tokens import create_token

    with world.db():
        world.users["supervisor"] = create_account("supervisor@example.org", TEST_PASSWORD, ["casework_supervisor"])
    world.clients["supervisor"] = world.app.test_client()
    sign_in(world.clients["supervisor"], world.users["supervisor"])
    with world.db():
        world.state["tokens"]["supervisor"] = create_token(world.users["supervisor"], "canary test")[1]


def casework_partner(world: World) -> None:
    """A partner organisation's account, which refers people who agreed to it."""
    from core.accounts.service import create_account

    with world.db():
        world.users["partner"] = create_account("partner@example.org", TEST_PASSWORD, ["partner"])
    world.clients["partner"] = world.app.test_client()
    sign_in(world.clients["partner"], world.users["partner"])


def training_learner(world: World) -> None:
    """A learner who completed a course: their certificate waits for their name."""
    import datetime

    from core.accounts.service import create_account
    from plugins.training import certificates
    from plugins.training.models import Course, Enrolment

    with world.app.test_request_context(), connection():
        world.users["learner"] = create_account("learner@example.org", TEST_PASSWORD, ["learner"])
        course = Course.create(title="Canary course", status="published", hours=2)
        enrolment = Enrolment.create(course=course, user=world.users["learner"].id, status="completed",
                                     completed_at=datetime.datetime(2026, 1, 5, 10, 0))
        world.state["certificate"] = f"/training/certificates/{certificates.issue_for(enrolment).id}"
    world.clients["learner"] = world.app.test_client()
    sign_in(world.clients["learner"], world.users["learner"])


def certificate_page(world: World) -> str:
    return world.state["certificate"]


REFERRAL = "plugins.casework.models:Referral"
TASK = "plugins.casework.models:Task"


def _post_email_lookup(world: World, page: str, action_value: str, where: str) -> None:
    """Type a canary address into a staff form that looks an account up by e-mail (none has it)."""
    client = world.client("staff")
    response = client.post(page, data={"csrf_token": csrf_token(client, page), "action": action_value,
                                       "email": world.canaries.email(where)})
    world.note("POST", page)
    assert response.status_code in (200, 422), f"{page}: {response.status_code}"


def organisation_member_lookup(world: World) -> None:
    """An administrator adds a person to an organisation by their e-mail address."""
    from core.organisations import Organisation

    with world.db():
        organisation = Organisation.create(name="Canary test organisation", kind="police")
    _post_email_lookup(world, f"/admin/organisations/{organisation.id}", "add_member", "organisation member e-mail")


def course_enrolment_lookup(world: World) -> None:
    """A trainer enrols someone on a course by the e-mail address of their account."""
    from plugins.training.models import Course

    with world.db():
        course = Course.create(title="Canary enrolment course", status="published")
    _post_email_lookup(world, f"/training/manage/courses/{course.id}/enrolments", "invite", "enrolment e-mail")


def remember_feedback_link(world: World, response) -> None:
    link = re.search(r'<code class="token">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    world.state["feedback_path"] = urlparse(link).path


# -- the cases, in the order people would act: one line per form or API call -------------------------------

CASES = [
    # Anyone
    Form("/account/login", expect=(200, 400)),  # an unknown email and password: refused
    Form("/account/reset"),
    Form(issue_reset_link),
    Form("/join"),  # an applicant, declined below
    Form(APPLICATION_PAGE, who="staff", action=newest("/admin/members/applications/{id}/decline", APPLICATION)),
    Form("/join"),  # another, approved below; the new member sets a password from the emailed link
    Form(APPLICATION_PAGE, who="staff", action=newest("/admin/members/applications/{id}/approve", APPLICATION)),
    Form(issue_password_link),
    Step("report form, anonymous", reporting_wizard(None)),
    Step("follow-up with the receipt", follow_up),
    # A member
    Step("report form, signed in", reporting_wizard("member")),
    Form(ref("/reporting/mine/{ref}", "reference:member"), who="member", values={"action": "message"}),
    Form("/account/profile", who="member"),
    Form("/account/tokens", who="member", values={"label": "phone app", "password": TEST_PASSWORD}),
    Form("/alerts/check", who="member", values={"kind": "phone", "identifier": PHONE}),
    Form("/alerts/subscription", who="member", values={"channels": ["email", "sms"]}),
    Form("/account/two-factor", who="member", action="/account/two-factor/begin", values={"password": TEST_PASSWORD}),
    Form("/account/password", who="changer", values={"current_password": TEST_PASSWORD}),
    Form("/account/delete", who="leaver", values={"password": TEST_PASSWORD}),
    Form("/admin/members/erase", who="staff", expect=(404,)),  # an address looked up, never kept or logged
    # Staff
    Form("/admin/invitations", who="staff", values={"roles": ["moderator"]}),
    Form(issue_invitation_link),
    Form(MODERATE, who="staff", action=ref("/reporting/moderate/{ref}/note")),
    Form(MODERATE, who="staff", action=ref("/reporting/moderate/{ref}/message")),
    Form(MODERATE, who="staff", action=ref("/reporting/moderate/{ref}/urgency")),
    Form(MODERATE, who="staff", action=ref("/reporting/moderate/{ref}/status"), values={"status": "verified"}),
    Form("/alerts/manage/notices/new", who="staff", values={"category": "scam"}),
    Form(ref("/alerts/manage/new?report={ref}"), who="staff", action="/alerts/manage/new"),
    Form(ALERT_EDIT, who="staff"),
    Form(ALERT_PREVIEW, who="staff", action=newest("/alerts/manage/{id}/publish", ALERT)),
    Form(ALERT_STAFF, who="staff", action=newest("/alerts/manage/{id}/withdraw", ALERT)),
    Form("/alerts/manage/feeds", who="staff", values={"label": "Partner organisation"}),
    Form("/alerts/manage/peer-checks", who="staff", values={"kind": "phone", "value": PHONE}),
    # Casework: appointments, referrals out, the evidence pack, and the client's own page
    Step("a case for the staff caseworker", casework_case),
    Form(CASE + "/appointments", who="staff", values={"starts_at": "2031-01-01T10:00", "ends_at": ""}),
    Form(APPOINTMENT_PAGE, who="staff", values={"starts_at": "2031-01-02T10:00", "ends_at": ""}),
    Form(APPOINTMENT_PAGE, who="staff", action=_then(APPOINTMENT_PAGE, "/attendance"),
         values={"minutes_spent": "30"}),
    Form(APPOINTMENT_PAGE, who="staff", action=_then(APPOINTMENT_PAGE, "/cancel")),
    Form(CASE + "/appointments", who="staff", action=CASE + "/reminders"),
    Form(CASE + "/referrals-out", who="staff"),
    Form(CASE + "/referrals-out", who="staff", action=newest(CASE + "/referrals-out/{id}/outcome", REFERRAL_OUT)),
    Form(CASE + "/referrals-out", who="staff", action=newest(CASE + "/referrals-out/{id}/withdraw", REFERRAL_OUT)),
    Form(CASE + "/evidence-pack", who="staff", action=CASE + "/evidence-pack/consent"),
    Form(CASE + "/evidence-pack", who="staff"),
    Form("/casework/my-support/", who="member", values={"action": "message", "body": TEXT}),
    # Casework: assessment, plans, justice, compensation, approvals, supervision, closure, feedback
    Form(CASE + "/assessment", who="staff"),
    Form(CASE + "/outcomes", who="staff"),
    Form(CASE + "/safety-plan", who="staff"),
    Form(CASE + "/safety-plan/1", who="staff", action=CASE + "/safety-plan/1/share"),
    Form(CASE + "/goals", who="staff"),
    Form(CASE + "/goals", who="staff", action=newest(CASE + "/goals/{id}", GOAL)),
    Form(CASE + "/justice", who="staff", values={"path": "reported"}),
    Form(CASE + "/justice", who="staff", action=CASE + "/justice/steps", values={"stage": "reported"}),
    Form(CASE + "/compensation", who="staff"),
    Form(CASE + "/compensation", who="staff", action=newest(CASE + "/compensation/{id}", CLAIM)),
    Step("a casework supervisor", casework_supervisor),
    Form(lambda w: f"/casework/supervision/{w.users['staff'].id}", who="supervisor",
         values={"case_reference": "C-CNRY01"}),
    Form(CASE + "/closure", who="staff"),
    Form(CASE, who="staff", action=CASE + "/approval/closure"),
    Form(APPROVAL_PAGE, who="supervisor", values={"decision": "send_back"}),
    Form(CASE, who="staff", action=CASE + "/feedback-link", then=remember_feedback_link),
    Form(lambda w: w.state["feedback_path"]),
    Form(CASE, who="staff", action=CASE + "/approval/closure"),
    Form(APPROVAL_PAGE, who="supervisor", values={"decision": "approve", "comment": SKIP}),
    Form(CASE, who="staff", action=CASE + "/reopen"),
    # Casework intake and the case core: asking for support, referring, the queue, the case page
    Form("/casework/support", values={"action": "send"}),
    Step("a partner", casework_partner),
    Form("/casework/refer", who="partner", values={"client_agreed": "y"}),
    Form("/casework/referrals", who="staff", action=newest("/casework/referrals/{id}/decline", REFERRAL)),
    Form(CASE, who="staff", action=CASE + "/contacts", values={"minutes": "5"}),
    Form(CASE, who="staff", action=CASE + "/tasks", values={"due_on": "2031-01-01"}),
    Form(CASE, who="staff", action=CASE + "/messages"),
    Form(CASE, who="staff", action=CASE + "/stage"),
    Form("/casework/break-glass", who="staff", values={"reference": "C-CNRY01"}),
    # Training: the name on a certificate (the learner's), a trainer's reason for revoking it
    Step("a learner with a completed course", training_learner),
    Step("a person added to an organisation by e-mail", organisation_member_lookup),
    Step("someone enrolled on a course by e-mail", course_enrolment_lookup),
    Form(certificate_page, who="learner"),
    Form(certificate_page, who="staff", action=lambda w: w.state["certificate"] + "/revoke"),
    # JSON API: phone apps (no account) and partner systems (personal access tokens)
    Api("POST", "/api/v1/reports", REPORT_BODY, expect=(201,), then=remember_api_report),
    Api("POST", "/api/v1/reports/messages", lambda w: {"receipt": w.state["api_receipt"], "body": TEXT}),
    Api("POST", "/api/v1/reports/status", lambda w: {"receipt": w.state["api_receipt"]}),
    Api("POST", api_ref("/api/v1/reports/{ref}/notes"), {"body": TEXT}, who="staff", expect=(200, 201)),
    Api("POST", api_ref("/api/v1/reports/{ref}/messages"), {"body": TEXT}, who="staff", expect=(200, 201)),
    Api("POST", api_ref("/api/v1/reports/{ref}/status"), {"status": "verified"}, who="staff"),
    Api("POST", "/api/v1/notices", {"summary": TEXT, "category": "scam", "identifiers": [
        {"kind": "phone", "value": PHONE}]}, who="staff", expect=(201,)),
    Api("POST", "/api/v1/alerts", lambda w: {"reports": [w.state["api_reference"]], "summary": TEXT}, who="staff",
        expect=(201,)),
    Api("PATCH", API_ALERT, {"summary": TEXT, "perpetrators": [{"description": {"features": TEXT}}],
                             "identifiers": [{"kind": "phone", "value": PHONE}]}, who="staff"),
    Api("POST", newest("/api/v1/alerts/{id}/review", ALERT), who="staff"),
    Api("POST", newest("/api/v1/alerts/{id}/publish", ALERT), who="staff"),
    Api("POST", newest("/api/v1/alerts/{id}/withdraw", ALERT), {"reason": TEXT}, who="staff"),
    Api("POST", "/api/v1/check", {"identifier": PHONE}, who="member", expect=(200, 404)),
    Api("DELETE", "/api/v1/me", {"password": PASSWORD, "code": TEXT}, who="member", expect=(422,)),  # wrong: kept
    Api("PUT", "/api/v1/me/subscriptions", {"channels": ["sms"], "sms_number": PHONE, "all_regions": True},
        who="member"),
    Api("POST", API_CASE + "/appointments", {"kind": "court", "starts_at": "2031-02-01T10:00:00Z", "place": TEXT,
                                              "note": TEXT}, who="staff"),
    Api("PUT", API_APPOINTMENT, {"kind": "court", "starts_at": "2031-02-02T10:00:00Z", "place": TEXT, "note": TEXT},
        who="staff"),
    Api("POST", _then(API_APPOINTMENT, "/attendance"), {"attended": True, "minutes_spent": 20}, who="staff"),
    Api("POST", _then(API_APPOINTMENT, "/cancel"), who="staff"),
    Api("POST", API_CASE + "/referrals-out", {"service_kind": "legal", "service_name": TEXT, "shared": TEXT,
                                              "client_agreed": True}, who="staff"),
    Api("POST", _then(API_REFERRAL_OUT, "/outcome"), {"outcome": "accepted", "note": TEXT}, who="staff"),
    Api("POST", _then(API_REFERRAL_OUT, "/withdraw"), who="staff"),
    Api("POST", API_CASE + "/assessments", {"risk_level": "medium", "summary": TEXT,
                                            "needs": [{"domain": "housing", "level": "some", "note": TEXT}]},
        who="staff"),
    Api("POST", API_CASE + "/outcomes", {"point": "review", "answers": {"feels_safer": 3}}, who="staff"),
    Api("POST", API_CASE + "/safety-plan", {"content": TEXT}, who="staff"),
    Api("POST", API_CASE + "/safety-plan/1/share", {"shared": False}, who="staff"),
    Api("POST", API_CASE + "/goals", {"domain": "housing", "text": TEXT}, who="staff"),
    Api("PATCH", newest(API_CASE + "/goals/{id}", GOAL), {"status": "met"}, who="staff"),
    Api("PUT", API_CASE + "/justice", {"path": "reported"}, who="staff"),
    Api("POST", API_CASE + "/justice/steps", {"stage": "charge", "crime_reference": TEXT, "note": TEXT}, who="staff"),
    Api("POST", API_CASE + "/compensation", {"status": "applied", "outcome": TEXT}, who="staff"),
    Api("PATCH", newest(API_CASE + "/compensation/{id}", CLAIM), {"status": "paid", "outcome": TEXT}, who="staff"),
    Api("PUT", API_CASE + "/closure", {"reason": "goals_met", "checklist": ["client_told"], "note": TEXT},
        who="staff"),
    Api("POST", API_CASE + "/approvals", {"kind": "closure"}, who="staff"),
    Api("POST", newest(API_CASE + "/approvals/{id}/decision", APPROVAL), {"decision": "sent_back", "comment": TEXT},
        who="supervisor"),
    Api("POST", "/api/v1/reports/consent", lambda w: {"receipt": w.state["api_receipt"], "purpose": "wants_support",
                                                      "given": False}),
    Api("POST", "/api/v1/reports/consent", lambda w: {
        "receipt": w.state["api_receipt"], "purpose": "wants_support", "given": True, "support_contact": PHONE,
        "support_safe_times": TEXT, "support_contact_method": "text"}),
    Api("POST", newest("/api/v1/casework/referrals/{id}/decline", REFERRAL), {"reason": "capacity", "note": TEXT},
        who="staff"),
    Api("POST", API_CASE + "/contacts", {"channel": "phone", "outcome": "spoke", "note": TEXT}, who="staff",
        expect=(201,)),
    Api("POST", API_CASE + "/tasks", {"title": TEXT, "due_on": "2031-01-01"}, who="staff", expect=(201,)),
    Api("PATCH", newest(API_CASE + "/tasks/{id}", TASK), {"title": TEXT, "done": True}, who="staff"),
    Api("POST", API_CASE + "/stage", {"stage": "plan"}, who="staff"),
    Api("POST", "/api/v1/reports/consent/withdraw", lambda w: {"receipt": w.state["api_receipt"],
                                                               "purpose": "share_alert"}),
]

# Typed text that is stored in clear on purpose (still never in the logs or the queue), and why.
# Keys match the "typed into" note of a canary: the form's action (or API path) and the field.
STORED_IN_CLEAR = {
    # alerts_alert.title and .summary are plain columns on purpose: they are published to every
    # vetted member and partner feed (the withdrawal reason, staff-only, is encrypted).
    r"^/alerts/manage/\d+/edit as staff title$": "alert title: published to members and partner feeds",
    r"^/alerts/manage/new as staff summary$": "alert summary: published to members and partner feeds",
    r"^/alerts/manage/\d+/edit as staff summary$": "alert summary: published to members and partner feeds",
    r"^/api/v1/alerts(/\d+)? summary$": "alert summary: published to members and partner feeds",
    r"^/alerts/manage/notices/new as staff summary$": "a safety notice's summary: published like an alert's",
    r"^/api/v1/notices summary$": "a safety notice's summary: published like an alert's",
    r"^/alerts/manage/peer-checks as staff label$": "whose number is on the warning list (a helpline's name): "
                                                      "offered to peer instances with it",
}

# State-changing routes no case above sends personal data through, and why.
COURSE_MATERIAL = "course material trainers write for learners to read, credited by working name"
QUIZ_MATERIAL = "quiz questions and answer options: course material trainers write"
SESSION_DETAILS = "a session's dates, venue and online link: course arrangements trainers write"
NOT_PERSONAL = {
    "core.set_language": "a language code from a fixed list",
    "reporting.forget": "no input but the CSRF token: Quick exit's beacon deletes the caller's own draft",
    "core.forget_receipt": "no input but the CSRF token and the form's key: Quick exit's beacon deletes "
                           "the receipt kept for the caller's own browser",
    "auth.logout": "no input",
    "auth.login_code": "a six-digit one-time code; it is a secret but not about a person",
    "auth.two_factor_confirm": "a six-digit one-time code",
    "auth.two_factor_disable": "the account's own password only (hashed, never stored): see auth.two_factor_begin",
    "auth.two_factor_recovery_codes": "the account's own password only: see auth.two_factor_begin",
    "auth.revoke_token": "a token id",
    "admin.switch_plugin": "a plugin name and on/off",
    "admin.plugin_settings_page": "module settings (numbers, lists of choices), not about people",
    "invitations.resend": "an invitation id",
    "invitations.revoke": "an invitation id",
    "alerts.dismiss_candidate": "a report id",
    "alerts.deliveries": "delivery ids to retry",
    "alerts.warnings": "warning ids to close",
    "alerts_federation.answer_check": "a peer instance's blinded points: random group elements, not about a person",
    "alerts.sharing": "who an alert is shared with (this instance, all peers or a group's name) and a tick",
    "federation_admin.add": "a peer instance's address, public key and name: another group's system, not a person",
    "federation_admin.settings": "a tick and region codes",
    "federation_admin.key": "a peer instance's public key",
    "federation_admin.remove": "a peer id",
    "federation_admin.pull": "no input",
    "federation_admin.create_group": "a sharing group's name: a list of peer instances, not of people",
    "federation_admin.group": "peer ids",
    "federation_admin.delete_group": "a sharing group id",
    "federation_api.items": "a peer instance's list of item ids",
    "federation_api.push": "alerts signed by a peer instance, as its members see them: no identifiers, reports "
                           "or people",
    "reporting_moderate.withdraw_consent": "a report reference and a purpose code",
    "reporting_api.moderate_withdraw": "a report reference and a purpose code",
    "casework_plans.close": "no input: closes a case a supervisor approved",
    "casework_plans_api.close_case": "no input: closes a case a supervisor approved",
    "casework_plans_api.reopen_case": "no input",
    "casework_plans_api.feedback_link": "no input: makes a one-time link",
    "casework.accept": "a referral id and a worker id",
    "casework_api.accept": "a referral id and a worker id",
    "casework.worker": "a worker id",
    "casework.change_task": "a task id and done or not",
    "training_feedback.course_feedback": "a course's questionnaire statements: course material trainers write",
    "training_feedback.answer": "scores from 1 to 5 chosen from fixed options, kept without the person",
    "outbox.retry": "a message id",
    "webhooks.index": "a partner system's address and the names of events: not about a person",
    "webhooks.delete": "an endpoint id",
    "webhooks.pause": "an endpoint id",
    "webhooks.resume": "an endpoint id",
    "webhooks.retry": "a message id",
    "webhooks.rotate": "an endpoint id",
    "webhooks.test": "an endpoint id",
    "wording.edit": "the site's own wording as an administrator rewrites it: not about a person",
    "wording.import_file": "a .po file of the site's own wording",
    "wording.revert": "a message of the site's wording",
    "admin.erase_member": "an account number, a tick and the administrator's own password (never stored)",
    "casework_dashboard.glass_seen": "break-glass entry ids",
    "organisations.index": "an organisation's name, sector and region: not about a person",
    "training.enrol": "a course id and, for some courses, the course's enrolment code",
    "training_api.enrol": "a course id and, for some courses, the course's enrolment code",
    "training.withdraw": "a course id",
    "training.approve": "an enrolment id",
    "training.decline": "an enrolment id",
    "training.organisation_enrol": "a course id and account ids of the manager's own people",
    "training_learn.lesson_done": "a lesson id",
    "training_author_api.rename_module": COURSE_MATERIAL,
    "training_author_api.update_course": COURSE_MATERIAL,
    "training_author_api.update_lesson": COURSE_MATERIAL,
    "training_quiz_api.replace_question": QUIZ_MATERIAL,
    "reporting_research.ask": "a range of months and attribute names from a fixed list",
    "reporting_research.approve": "an export id",
    "reporting_research.refuse": "an export id",
    "reporting_research.download": "an export id",
    "training_author.add_file": COURSE_MATERIAL,
    "training_author.add_module": COURSE_MATERIAL,
    "training_author.add_trainer": COURSE_MATERIAL,
    "training_author.add_translation": COURSE_MATERIAL,
    "training_author.course_status": COURSE_MATERIAL,
    "training_author.delete_file": COURSE_MATERIAL,
    "training_author.delete_lesson": COURSE_MATERIAL,
    "training_author.delete_module": COURSE_MATERIAL,
    "training_author.edit_course": COURSE_MATERIAL,
    "training_author.lesson": COURSE_MATERIAL,
    "training_author.module": COURSE_MATERIAL,
    "training_author.move_lesson": COURSE_MATERIAL,
    "training_author.move_module": COURSE_MATERIAL,
    "training_author.new_course": COURSE_MATERIAL,
    "training_author.new_lesson": COURSE_MATERIAL,
    "training_author.remove_trainer": COURSE_MATERIAL,
    "training_author_api.add_file": COURSE_MATERIAL,
    "training_author_api.add_lesson": COURSE_MATERIAL,
    "training_author_api.add_module": COURSE_MATERIAL,
    "training_author_api.add_trainer": COURSE_MATERIAL,
    "training_author_api.add_translation": COURSE_MATERIAL,
    "training_author_api.course_status": COURSE_MATERIAL,
    "training_author_api.create_course": COURSE_MATERIAL,
    "training_author_api.delete_file": COURSE_MATERIAL,
    "training_author_api.delete_lesson": COURSE_MATERIAL,
    "training_author_api.delete_module": COURSE_MATERIAL,
    "training_author_api.remove_trainer": COURSE_MATERIAL,
    "training_quiz.course_quizzes": QUIZ_MATERIAL,
    "training_quiz.delete_question": QUIZ_MATERIAL,
    "training_quiz.delete_quiz": QUIZ_MATERIAL,
    "training_quiz.new_question": QUIZ_MATERIAL,
    "training_quiz.question": QUIZ_MATERIAL,
    "training_quiz.quiz": QUIZ_MATERIAL,
    "training_quiz_api.add_question": QUIZ_MATERIAL,
    "training_quiz_api.create_quiz": QUIZ_MATERIAL,
    "training_quiz_api.change_quiz": QUIZ_MATERIAL,
    "training_quiz_api.delete_question": QUIZ_MATERIAL,
    "training_quiz_api.delete_quiz": QUIZ_MATERIAL,
    "training_quiz.start": "a quiz id",
    "training_quiz_api.start": "a quiz id",
    "training_quiz.attempt": "answers to a course's quiz questions (option ids, or a short answer to the question)",
    "training_quiz_api.submit": "answers to a course's quiz questions (option ids, or a short answer to the question)",
    "training_sessions.add_date": SESSION_DETAILS,
    "training_sessions.author_session": SESSION_DETAILS,
    "training_sessions.author_sessions": SESSION_DETAILS,
    "training_sessions.cancel_date": SESSION_DETAILS,
    "training_sessions.cancel_session": SESSION_DETAILS,
    "training_sessions.change_date": SESSION_DETAILS,
    "training_sessions.check_in_code": SESSION_DETAILS,
    "training_sessions.book": "a session or booking id and a decision",
    "training_sessions.cancel": "a session or booking id and a decision",
    "training_sessions_api.book": "a session or booking id and a decision",
    "training_sessions_api.cancel": "a session or booking id and a decision",
    "training_sessions.booking_action": "a session or booking id and a decision",
    "training_sessions.approvals": "a session or booking id and a decision",
    "training_sessions.attendance": "attendance marks from a fixed list, by account id",
    "training_sessions_api.mark": "attendance marks from a fixed list, by account id",
    "training_sessions.check_in": "a one-time check-in token from the room's QR code",
    "training.course_enrolments": "the e-mail look-up is a case above; the form's other actions take organisation ids",
    "organisations.edit": "the e-mail look-up is a case above; the other actions take the organisation's own details",
}


# -- running them ---------------------------------------------------------------------------------------

LOGGERS = ("", "redumbrella", "core", "werkzeug", "huey", "peewee")


class _NotTheTestServer(logging.Filter):
    """The SMTP server in this test logs what it receives; it is not part of the platform."""

    def filter(self, record):
        return not record.name.startswith("mail.log")


class CapturedLogs:
    """Every record the app's logging lets through with LOG_LEVEL=DEBUG (its most talkative
    setting), written by the app's own formatter, from every logger.

    Attached after the app is built (building one resets the app's handlers). The levels are the
    app's own: forcing peewee to DEBUG would log SQL parameters, which no setting of ours does."""

    def __init__(self):
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(logging.getLogger("redumbrella").handlers[0].formatter)
        self.handler.setLevel(logging.DEBUG)
        self.handler.addFilter(_NotTheTestServer())
        self.loggers = [logging.getLogger(name) for name in LOGGERS]
        assert logging.getLogger("redumbrella").level == logging.DEBUG
        for logger in self.loggers:
            logger.addHandler(self.handler)

    def text(self) -> str:
        return self.stream.getvalue()

    def close(self) -> None:
        for logger in self.loggers:
            logger.removeHandler(self.handler)


@pytest.fixture
def smtp():
    server = SmtpServer().start()
    yield server
    server.stop()


def build_world(make_app, smtp, overrides: dict) -> World:
    from core.accounts.service import create_account
    from core.accounts.tokens import create_token

    # Text messages go to the development outbox file, so SMS can be chosen (its number typed in).
    app = make_app({"QUEUE_IMMEDIATE": False, "LOG_LEVEL": "DEBUG", "SMS_BACKEND": "file", **smtp.overrides,
                    **overrides})
    enable_everything(app)
    world = World(app, Canaries())
    people = {
        "member": ["member"],
        "changer": ["member"],
        "leaver": ["member"],
        "resetter": ["member"],
        "staff": ["moderator", "admin", "caseworker", "trainer"],
    }
    with world.db():
        for who, roles in people.items():
            world.users[who] = create_account(f"{who}@example.org", TEST_PASSWORD, roles)
        world.state["tokens"] = {who: create_token(world.users[who], "canary test")[1] for who in ("member", "staff")}
    world.clients["anonymous"] = app.test_client()
    for who in people:
        world.clients[who] = app.test_client()
        sign_in(world.clients[who], world.users[who])
    return world


def run_queue(world: World) -> int:
    """Run every queued task with the real queue code, as a worker would; returns how many ran."""
    huey = world.app.extensions["redumbrella.queue"].huey
    ran = 0
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran += 1
    return ran


def queue_bytes(world: World) -> bytes:
    config = world.app.config
    if config["REDIS_URL"]:
        import redis

        connection = redis.Redis.from_url(config["REDIS_URL"])
        dumped = []
        for key in connection.scan_iter("*redumbrella*"):
            kind = connection.type(key)
            if kind == b"list":
                dumped += connection.lrange(key, 0, -1)
            elif kind == b"hash":
                dumped += [k + v for k, v in connection.hgetall(key).items()]
            elif kind == b"zset":
                dumped += connection.zrange(key, 0, -1)
            elif kind == b"string":
                dumped.append(connection.get(key) or b"")
        return b"\n".join(dumped)
    path = Path(world.app.instance_path) / "queue.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return b"".join(p.read_bytes() for p in path.parent.glob("queue.sqlite3*"))


def database_contents(world: World) -> bytes:
    """The raw SQLite files on disk; on PostgreSQL, every value of every table as text."""
    with world.db():
        if not using_postgres():
            db.execute_sql("PRAGMA wal_checkpoint(PASSIVE)")
            path = Path(db.database)
            return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        chunks = []
        for table in db.get_tables():
            for row in db.execute_sql(f'SELECT * FROM "{table}"').fetchall():  # noqa: S608
                chunks.append(" ".join(str(value) for value in row))
        return "\n".join(chunks).encode()


def _stored_in_clear_on_purpose(found: str) -> bool:
    where = found.split(" (typed into ", 1)[1].rstrip(")")
    return any(re.search(pattern, where) for pattern in STORED_IN_CLEAR)


def state_changing_endpoints(app) -> set[tuple[str, str]]:
    return {(case.method, case.endpoint) for case in route_cases(app) if case.method != "GET"}


QUEUES = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.mark.parametrize("queue", QUEUES)
def test_no_canary_in_logs_queue_or_database(make_app, app, smtp, queue):
    overrides = {}
    if queue == "redis":
        url = TEST_REDIS_URL or os.environ.get("REDUMBRELLA_TEST_REDIS_URL")
        assert url, "set REDUMBRELLA_TEST_REDIS_URL to run the Redis tests"
        overrides["REDIS_URL"] = url
    world = build_world(make_app, smtp, overrides)
    captured = CapturedLogs()
    huey = world.app.extensions["redumbrella.queue"].huey
    huey.flush()
    try:
        for case in CASES:
            case.run(world)
        canaries = world.canaries
        assert len(canaries.needles) > 40
        waiting = queue_bytes(world)
        assert huey.pending_count() > 0 and b"mail_" in waiting  # tasks were queued, by id
        assert canaries.found_in(waiting) == [], "in the queue"
        assert run_queue(world) > 0
        assert smtp.inbox.messages, "the queued mail was sent"
        assert canaries.found_in(queue_bytes(world)) == [], "in the queue after the tasks ran"
    finally:
        huey.flush()
        captured.close()

    logs = captured.text()
    assert '"endpoint": "membership.apply"' in logs  # the requests were logged...
    leaked = [line for line in logs.splitlines() if canaries.found_in(line)]
    assert leaked == [], "in the logs:\n" + "\n".join(leaked)  # ...without what people typed
    stored = database_contents(world)
    assert world.state["reference:anonymous"].encode() in stored  # the data is there...
    in_clear = [found for found in canaries.found_in(stored) if not _stored_in_clear_on_purpose(found)]
    assert in_clear == [], "in the database:\n" + "\n".join(in_clear)

    missing = state_changing_endpoints(world.app) - world.reached - {
        (method, endpoint) for method, endpoint in state_changing_endpoints(world.app) if endpoint in NOT_PERSONAL
    }
    assert not missing, (
        "state-changing routes that no canary case reaches; add a line to CASES (or, if nothing personal "
        "can be sent there, to NOT_PERSONAL with the reason):\n" + "\n".join(sorted(map(str, missing)))
    )


def test_the_exemptions_name_real_routes(app):
    enable_everything(app)
    endpoints = {endpoint for _method, endpoint in state_changing_endpoints(app)}
    stale = set(NOT_PERSONAL) - endpoints
    assert not stale, f"NOT_PERSONAL names routes that are gone: {sorted(stale)}"


def test_the_search_would_find_a_canary():
    """The needles match every spelling the value can take, so a leak could not slip past."""
    canaries = Canaries()
    phone, email, word, plate = (canaries.phone("x"), canaries.email("x"), canaries.text("x"), canaries.plate("x"))
    e164 = "+44" + phone.replace(" ", "")[1:]
    for leaked in (phone, phone.replace(" ", ""), e164, email.upper(), word, plate.lower()):
        assert canaries.found_in(f'{{"message": "{leaked}"}}'), leaked
    assert canaries.found_in(b"\x00\x01" + email.encode() + b"\xff")
    assert canaries.found_in("nothing here") == []
