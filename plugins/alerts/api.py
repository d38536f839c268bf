"""The alerts plugin's JSON API under /api/v1 (described in the OpenAPI document by register_api).

Members and partners: GET /alerts, GET /alerts/{id}, POST /check, GET and PUT /me/subscriptions.
Moderators (a token of a moderator account): POST /alerts (about a person), POST /notices (a
safety notice about a condition, citing reports or none: an alert whose kind is "notice"), PATCH /alerts/{id},
POST /alerts/{id}/review (records that the caller saw the preview; returns it with the number of
people who will be told), then POST /alerts/{id}/publish (409 unless the current content was
reviewed), and /withdraw. Partner feeds: GET /feeds/alerts.atom and .json.
"""

from __future__ import annotations

import math

from flask import Blueprint, Response, current_app, jsonify, request, url_for
from flask_login import current_user

from core.api import ApiValidationError, error_responses, load_json
from core.db import run_sql
from core.identifiers import InvalidIdentifier
from core.per_app import per_app
from core.permissions import PUBLIC, access_paused, requires, user_has
from core.views.errors import render_error
from plugins.alerts import _, check, feeds, labels, service, sms, subscriptions
from plugins.alerts.check_answers import answer_message, check_limits, quota_message
from plugins.alerts.config import settings
from plugins.alerts.errors import AlertError
from plugins.alerts.filters import filtered, filters_from_request
from plugins.alerts.models import STATUSES, Alert, Subscription
from plugins.alerts.reading import is_visible, public_dict
from plugins.alerts.schemas import (
    AlertCreateSchema,
    AlertFieldsSchema,
    AlertListOut,
    AlertOut,
    AlertPreviewOut,
    CheckInSchema,
    CheckOut,
    NoticeCreateSchema,
    SubscriptionInSchema,
    SubscriptionOut,
    WithdrawInSchema,
)
from plugins.alerts.sources import reports_by_reference

bp = Blueprint("alerts_api", __name__, url_prefix="/api/v1")
PER_PAGE = 50


def _is_moderator() -> bool:
    return user_has(current_app, current_user, "alerts.publish")


def _sharing(data: dict, alert: Alert | None) -> tuple[str | None, bool | None]:
    """Take "distribution" and "may_pass_on" out of the body, checked (422 for a sharing group that
    does not exist, or passing on what its origin does not allow)."""
    from plugins.alerts import federation

    distribution, may_pass_on = data.pop("distribution", None), data.pop("may_pass_on", None)
    try:
        federation.check_sharing(alert, distribution, may_pass_on)
    except federation.SharingError as error:
        raise ApiValidationError({"distribution": [str(error)]}) from None
    return distribution, may_pass_on


def _alert_error(exc: AlertError):
    if exc.status == 422:
        raise ApiValidationError({exc.field or "_schema": [exc.message]})
    return render_error(exc.status, exc.message)


@bp.route("/alerts", methods=["GET"])
@requires("alerts.read")
def list_alerts():
    filters = filters_from_request()
    query = None
    status = request.args.get("status", "")
    if status and _is_moderator():
        query = Alert.select().where(Alert.status == status) if status in STATUSES else Alert.select()
    query = filtered(filters, query)
    total = query.count()
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    names = labels.names()
    staff = _is_moderator()
    alerts = [public_dict(alert, staff=staff, labels=names) for alert in query.paginate(page, PER_PAGE)]
    return jsonify({"alerts": alerts, "page": page, "pages": pages})


def _readable(alert_id: int) -> Alert | None:
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        return None
    if is_visible(alert) or _is_moderator():
        return alert
    return None


@bp.route("/alerts/<int:alert_id>", methods=["GET"])
@requires("alerts.read")
def get_alert(alert_id: int):
    alert = _readable(alert_id)
    if alert is None:
        return render_error(404)
    return jsonify(public_dict(alert, staff=_is_moderator(), labels=labels.names()))


class _CheckWords:
    """What the check reads and says in one language and version of its local wording: its input
    schema (whose messages are translated when it is made) and its answers, each made once. The
    check is the busiest endpoint there is; none of this holds anything of a request."""

    __slots__ = ("schema", "answers")

    def __init__(self):
        self.schema = CheckInSchema()
        self.answers: dict[tuple, str] = {}

    def answer(self, result: str, with_alerts: bool = False, kinds: list[str] | tuple = ()) -> str:
        key = (result, with_alerts, tuple(kinds))  # at most 8: two results, a flag and two kinds
        found = self.answers.get(key)
        if found is None:
            found = self.answers[key] = answer_message(result, with_alerts, kinds)
        return found


def _check_words() -> _CheckWords:
    """This app's words for the request's language and wording version (per app, as the wording
    versions they are kept under belong to the app's database)."""
    from flask_babel import get_locale

    from core.wording.overlay import version

    locale = str(get_locale())
    key = (locale, version(locale))
    kept = per_app("redumbrella.alerts.check_words", dict)
    found = kept.get(key)
    if found is None:
        if len(kept) > 256:  # versions of the wording come and go: never grow without end
            kept.clear()
        found = kept[key] = _CheckWords()
    return found


@bp.route("/check", methods=["POST"])
@requires("alerts.check")
def check_identifier():
    words = _check_words()
    data = load_json(words.schema)
    try:
        outcome = check.run_check(
            data["identifier"] or "", current_user._get_current_object().id,
            request._get_current_object().remote_addr, kind=data.get("kind"),
            limits=check_limits(), similar_threshold=settings()["similar_warning"],
        )
    except check.QuotaExceeded:
        return render_error(429, quota_message())
    except InvalidIdentifier:
        raise ApiValidationError({"identifier": [
            _("We could not read that as a phone number, e-mail, number plate or online name. Please check it.")
        ]}) from None
    if outcome.result == check.NO_RECORD:
        return jsonify({"result": check.NO_RECORD, "message": words.answer(check.NO_RECORD)})
    alerts = []
    if outcome.alert_ids:  # a caution from a consenting report alone shows no alert: no names needed
        names = labels.names()
        alerts = [public_dict(alert, labels=names) for alert in Alert.select().where(Alert.id.in_(outcome.alert_ids))]
    return jsonify({"result": check.CAUTION, "alerts": alerts, "kinds": outcome.kinds,
                    "message": words.answer(check.CAUTION, bool(alerts), outcome.kinds)})


@bp.route("/me/subscriptions", methods=["GET"])
@requires("alerts.subscribe")
def get_subscriptions():
    return jsonify(subscriptions.as_dict(_subscription_of(current_user.id)))


# The caller's subscription in one plain statement (docs/architecture.md, "Hot paths in plain SQL"):
# an app polls this, and building the peewee query cost more than the look-up.
_SUBSCRIPTION_FIELDS = tuple(field for field in Subscription._meta.sorted_fields if field.name != "user")
_SUBSCRIPTION_SQL = (
    f"SELECT {', '.join(field.column_name for field in _SUBSCRIPTION_FIELDS)} "  # noqa: S608  # nosec B608  # model columns
    "FROM alerts_subscription WHERE user_id = %s"
)


def _subscription_of(user_id: int) -> Subscription | None:
    """subscriptions.get(user), as peewee itself would build the row (encrypted number decrypted)."""
    row = run_sql(_SUBSCRIPTION_SQL, (user_id,)).fetchone()
    if row is None:
        return None
    found = Subscription(__no_default__=1, user=user_id, **{
        field.name: field.python_value(value) for field, value in zip(_SUBSCRIPTION_FIELDS, row, strict=True)})
    found._dirty.clear()
    return found


@bp.route("/me/subscriptions", methods=["PUT"])
@requires("alerts.subscribe")
def put_subscriptions():
    data = load_json(SubscriptionInSchema())
    try:
        subscriptions.save(current_user, data, sms.configured(current_app))
    except subscriptions.SubscriptionError as exc:
        raise ApiValidationError({exc.field: [exc.message]}) from None
    return jsonify(subscriptions.as_dict(subscriptions.get(current_user)))


@bp.route("/alerts", methods=["POST"])
@requires("alerts.publish")
def create_alert():
    data = load_json(AlertCreateSchema())
    sharing = _sharing(data, None)
    try:
        reports = reports_by_reference(data.pop("reports"))
        alert = service.create_from_reports(reports, data, current_user)
        service.set_sharing(alert, *sharing, current_user)
    except AlertError as exc:
        return _alert_error(exc)
    body = public_dict(alert, staff=True, labels=labels.names())
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("alerts_api.get_alert", alert_id=alert.id)
    return response


@bp.route("/notices", methods=["POST"])
@requires("alerts.publish")
def create_notice():
    """A draft safety notice: an alert of kind "notice", then the same PATCH, review, publish and
    withdraw under /alerts/{id}."""
    data = load_json(NoticeCreateSchema())
    sharing = _sharing(data, None)
    try:
        references = data.pop("reports")
        reports = reports_by_reference(references) if references else []
        alert = service.create_notice(reports, data, current_user)
        service.set_sharing(alert, *sharing, current_user)
    except AlertError as exc:
        return _alert_error(exc)
    response = jsonify(public_dict(alert, staff=True, labels=labels.names()))
    response.status_code = 201
    response.headers["Location"] = url_for("alerts_api.get_alert", alert_id=alert.id)
    return response


@bp.route("/alerts/<int:alert_id>", methods=["PATCH"])
@requires("alerts.publish")
def patch_alert(alert_id: int):
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        return render_error(404)
    data = load_json(AlertFieldsSchema(partial=True))
    sharing = _sharing(data, alert)
    try:
        if data or sharing == (None, None):  # sharing alone is not a correction: members are not told
            service.update(alert, data, current_user)
        service.set_sharing(Alert.get_by_id(alert.id), *sharing, current_user)
        alert = Alert.get_by_id(alert.id)
    except AlertError as exc:
        return _alert_error(exc)
    return jsonify(public_dict(alert, staff=True, labels=labels.names()))


@bp.route("/alerts/<int:alert_id>/review", methods=["POST"])
@requires("alerts.publish")
def review_alert(alert_id: int):
    """Record that the caller saw the preview of the alert as it is now, and return that preview
    (the alert as members will see it, and how many people will be told)."""
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        return render_error(404)
    try:
        shown = service.review(alert, current_user)
    except AlertError as exc:
        return _alert_error(exc)
    return jsonify(shown)


@bp.route("/alerts/<int:alert_id>/publish", methods=["POST"])
@requires("alerts.publish")
def publish_alert(alert_id: int):
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        return render_error(404)
    try:
        service.publish(alert, current_user)
    except AlertError as exc:
        return _alert_error(exc)
    return jsonify(public_dict(alert, staff=True, labels=labels.names()))


@bp.route("/alerts/<int:alert_id>/withdraw", methods=["POST"])
@requires("alerts.publish")
def withdraw_alert(alert_id: int):
    alert = Alert.get_or_none(Alert.id == alert_id)
    if alert is None:
        return render_error(404)
    data = load_json(WithdrawInSchema()) if request.get_data() else {}
    try:
        service.withdraw(alert, current_user, data.get("reason"))
    except AlertError as exc:
        return _alert_error(exc)
    return jsonify(public_dict(alert, staff=True, labels=labels.names()))


# -- partner feeds --------------------------------------------------------------------------------


def _feed_alerts() -> list[dict]:
    names = labels.names()
    query = filtered(filters_from_request()).limit(100)
    return [public_dict(alert, labels=names) for alert in query]


def _feed_refused():
    """None when the caller may have the feed: with a partner organisation's feed token, or as a
    person who may read alerts now. Otherwise the answer: 403 for a person whose reading is
    paused (the access_paused hook: the same message and link as on every alerts page), 401 for
    anyone else. The feeds are public routes so that a feed token can be checked here, so the
    request guard's pause check is made here too."""
    if feeds.authenticate() is not None:
        return None
    if not user_has(current_app, current_user, "alerts.read"):
        return render_error(401)
    paused = access_paused(current_app, current_user, "alerts.read")
    if paused is not None:
        return render_error(403, paused.message, link=paused.link, link_label=paused.link_label)
    return None


@bp.route("/feeds/alerts.json", methods=["GET"])
@requires(PUBLIC)  # a partner's feed token, or a reader's own access, is checked here; without either, 401
def feed_json():
    refused = _feed_refused()
    if refused is not None:
        return refused
    return jsonify({"alerts": _feed_alerts()})


@bp.route("/feeds/alerts.atom", methods=["GET"])
@requires(PUBLIC)  # a partner's feed token, or a reader's own access, is checked here; without either, 401
def feed_atom():
    refused = _feed_refused()
    if refused is not None:
        return refused
    self_url = url_for("alerts_api.feed_atom", _external=True)
    body = feeds.atom(_feed_alerts(), self_url,
                      lambda alert: url_for("alerts.show", alert_id=alert["id"], _external=True))
    return Response(body, mimetype="application/atom+xml")


# -- the OpenAPI document ------------------------------------------------------------------------


def register_api(spec) -> None:
    for name, schema in (
        ("Alert", AlertOut),
        ("AlertList", AlertListOut),
        ("CheckRequest", CheckInSchema),
        ("CheckAnswer", CheckOut),
        ("Subscriptions", SubscriptionInSchema),
        ("SubscriptionsOut", SubscriptionOut),
        ("AlertCreate", AlertCreateSchema),
        ("NoticeCreate", NoticeCreateSchema),
        ("AlertChange", AlertFieldsSchema),
        ("AlertPreview", AlertPreviewOut),
        ("Withdraw", WithdrawInSchema),
    ):
        if name not in spec.components.schemas:
            spec.components.schema(name, schema=schema)
    secured = [{"bearerAuth": []}]
    alert_id = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}

    def body(schema: str, required: bool = True) -> dict:
        return {"required": required, "content": {"application/json": {"schema": schema}}}

    def ok(schema: str, description: str, status: str = "200") -> dict:
        return {status: {"description": description, "content": {"application/json": {"schema": schema}}}}

    filters = [
        {"name": "region", "in": "query", "schema": {"type": "string"}, "description": "A region code."},
        {"name": "type", "in": "query", "schema": {"type": "string"}, "description": "An incident type code."},
        {"name": "since", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "until", "in": "query", "schema": {"type": "string", "format": "date"}},
        {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "Words in the title or summary."},
        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": ["person", "notice"]},
         "description": "Only alerts about a person, or only safety notices."},
        {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
    ]
    spec.path(path="/alerts", operations={
        "get": {"tags": ["alerts"], "summary": "Published alerts visible to the caller, newest first.",
                "security": secured, "parameters": filters,
                "responses": {**ok("AlertList", "A page of alerts."), **error_responses(401, 403)}},
        "post": {"tags": ["alerts"], "summary": "Moderators: a draft alert from verified, consenting reports.",
                 "description": "By default the draft carries the perpetrator details (identifiers, description, "
                                "vehicle) of those reports; nothing about the reporter is copied.",
                 "security": secured, "requestBody": body("AlertCreate"),
                 "responses": {**ok("Alert", "The draft, with its id.", "201"),
                               **error_responses(401, 403, 415, 422)}},
    })
    spec.path(path="/notices", operations={
        "post": {"tags": ["alerts"], "summary": "Moderators: a draft safety notice, about a condition rather than "
                                                "one person.",
                 "description": "A pattern of attacks in an area, a fake agency or advertiser, a scam, an unsafe "
                                "venue, a police or immigration operation, a harm-reduction warning. It may cite "
                                "verified, consenting reports (`reports`, a pattern) or none, and needs a "
                                "`category`. It is an alert whose `kind` is `notice`: change, review, publish and "
                                "withdraw it with the same calls under /alerts/{id}. It carries no description of "
                                "a person (`perpetrators` is refused); the `identifiers` you give (a scam "
                                "advert's number, a fake agency's website) are matched by the check.",
                 "security": secured, "requestBody": body("NoticeCreate"),
                 "responses": {**ok("Alert", "The draft notice, with its id.", "201"),
                               **error_responses(401, 403, 415, 422)}},
    })
    spec.path(path="/alerts/{id}", operations={
        "get": {"tags": ["alerts"], "summary": "One published alert.", "security": secured,
                "parameters": [alert_id],
                "responses": {**ok("Alert", "The alert."), **error_responses(401, 403, 404)}},
        "patch": {"tags": ["alerts"], "summary": "Moderators: change a draft, or correct a published alert.",
                  "security": secured, "parameters": [alert_id], "requestBody": body("AlertChange"),
                  "responses": {**ok("Alert", "The alert as saved."), **error_responses(401, 403, 404, 409, 422)}},
    })
    spec.path(path="/alerts/{id}/review", operations={
        "post": {"tags": ["alerts"], "summary": "Moderators: review a draft before publishing it.",
                 "description": "Records that the caller saw the preview of the draft as it is now, and returns "
                                "it: the alert exactly as members will see it and how many people will be told, "
                                "per channel. Any later change to the draft clears the review.",
                 "security": secured, "parameters": [alert_id],
                 "responses": {**ok("AlertPreview", "The preview, now recorded as reviewed."),
                               **error_responses(401, 403, 404, 409, 422)}},
    })
    spec.path(path="/alerts/{id}/publish", operations={
        "post": {"tags": ["alerts"], "summary": "Moderators: publish a reviewed draft and notify subscribers.",
                 "description": "409 when nobody reviewed the draft (POST /alerts/{id}/review), or it was changed "
                                "after its review; 422 when it has no summary or region.",
                 "security": secured, "parameters": [alert_id],
                 "responses": {**ok("Alert", "Published."), **error_responses(401, 403, 404, 409, 422)}},
    })
    spec.path(path="/alerts/{id}/withdraw", operations={
        "post": {"tags": ["alerts"], "summary": "Moderators: withdraw an alert from lists, feeds and checks.",
                 "security": secured, "parameters": [alert_id], "requestBody": body("Withdraw", required=False),
                 "responses": {**ok("Alert", "Withdrawn; the history is kept."),
                               **error_responses(401, 403, 404, 409)}},
    })
    spec.path(path="/check", operations={
        "post": {"tags": ["alerts"], "summary": "Check a phone number, e-mail, plate or online handle.",
                 "description": "Answers no_record or caution (with the alerts to read, and `kinds`: whether "
                                "an alert about a person, a safety notice or both matched); never who reported or "
                                "how many. Limited per account and per address each day (429).",
                 "security": secured, "requestBody": body("CheckRequest"),
                 "responses": {**ok("CheckAnswer", "The answer."), **error_responses(401, 403, 415, 422, 429)}},
    })
    spec.path(path="/me/subscriptions", operations={
        "get": {"tags": ["alerts"], "summary": "The caller's own subscriptions.", "security": secured,
                "responses": {**ok("SubscriptionsOut", "Regions, channels and frequency."),
                              **error_responses(401, 403)}},
        "put": {"tags": ["alerts"], "summary": "Replace the caller's own subscriptions.", "security": secured,
                "requestBody": body("Subscriptions"),
                "responses": {**ok("SubscriptionsOut", "As saved."), **error_responses(401, 403, 415, 422)}},
    })
    for suffix, media in (("json", "application/json"), ("atom", "application/atom+xml")):
        spec.path(path=f"/feeds/alerts.{suffix}", operations={
            "get": {"tags": ["alerts"], "summary": f"Partner feed of published alerts ({suffix}).",
                    "description": "A partner feed token (or an access token) as a bearer token.",
                    "security": secured, "parameters": filters[:5],
                    "responses": {"200": {"description": "The newest 100 alerts.", "content": {media: {}}},
                                  **error_responses(401, 403)}},
        })
