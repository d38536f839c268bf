"""The step-by-step report form: its steps, its draft, and how its answers become a report.

The form works without JavaScript. Every step POSTs to the same address and is answered with a
redirect (303) to that same address, whose GET shows the step the draft is at (post/redirect/get:
the browser's Back and reload never resubmit a form), so the address bar and the browser history
never show how far someone got or what they chose. The answers so far live in an encrypted Draft
row; the session holds only a random key to it. Answers are saved as typed *before* they are
checked, so a mistake never loses anything. The web form builds the same payload as the JSON API
and checks it with the same schema.

What the GET right after a POST shows (the step's errors, a notice, the delete confirmation) is
kept in the draft as its "view" for that one GET (VIEW_SECONDS). A GET without one (a reload, Back,
the address typed again, another tab) does not show the answers at once: it asks first (the
"resume" page), in case someone else picked the phone up after a Quick exit without JavaScript.

Sending is once per draft: under the draft row's lock the send makes a second row for the same
session key ("sending"), the report is made (which deletes the draft in the same transaction), and
that row then says "sent" with the reference (SENT_LIFETIME), and the receipt is kept beside it by
core for ten minutes or until the person says they have kept it (core.kept_receipts); a resend, a
second tap or a reload finds them and shows the same receipt again, so a tap that the browser drew
over, or a reload, never loses it.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass

from flask import session
from marshmallow import ValidationError

from core import kept_receipts
from core import text as text_rule
from core.db import db, lock_row, utcnow
from core.tokens import hash_token, new_token
from core.views.errors import input_kept
from plugins.reporting import _, _l
from plugins.reporting.models import PURPOSES, Draft
from plugins.reporting.schemas import MAX_PERPETRATORS, ReportSchema, too_long_message

SESSION_KEY = "reporting_draft"
KEEP_CHARACTERS = 25_000  # of one answer in the draft; more than any field takes (its real length is kept too)
DRAFT_LIFETIME = datetime.timedelta(hours=3)
# How long "your report was already sent" answers a resend (the draft's key and the reference; the
# receipt for core.kept_receipts.SHOWN_FOR): long enough for a reload or a retry after a network failure.
SENT_LIFETIME = datetime.timedelta(minutes=30)
# A send that claimed the draft and neither finished nor failed in this time died with its process
# (far longer than any request may run); if its draft still exists, no report was made from it.
SEND_CLAIM_TIMEOUT = datetime.timedelta(minutes=2)
VIEW_SECONDS = 60  # how soon after its POST the redirected GET must come to show that POST's answer
REPORT_FOR_OTHERS_ROLES = frozenset({"partner", "caseworker"})

PERSON_LISTS = ("names", "phones", "emails", "handles")
PERSON_VEHICLE = ("make", "model", "colour", "plate")
PERSON_DESCRIPTION = ("gender", "age_range", "height", "build", "hair", "features", "languages")


@dataclass(frozen=True)
class Step:
    code: str
    title: object


def steps(with_files: bool) -> list[Step]:
    found = [
        Step("what", _l("What happened")),
        Step("when", _l("When and where")),
        Step("who", _l("The person who did this")),
        Step("wishes", _l("What you would like us to do")),
    ]
    if with_files:
        found.append(Step("files", _l("Photos or screenshots")))
    found.append(Step("check", _l("Check and send")))
    return found


def may_report_for_others(user) -> bool:
    return bool(getattr(user, "is_authenticated", False) and REPORT_FOR_OTHERS_ROLES & set(user.role_names))


def step_fields(step: str, people: int, for_others: bool) -> list[str]:
    """The form field names a step owns (what it saves, and whose errors it shows)."""
    if step == "what":
        return (["on_behalf", "on_behalf_consent"] if for_others else []) + ["incident_types", "narrative"]
    if step == "when":
        return ["occurred_on", "occurred_time", "region", "location", "work_setting", "contact_method"]
    if step == "who":
        return [person_field(i, name) for i in range(people) for name in PERSON_FIELDS]
    if step == "wishes":
        return [f"consent_{purpose}" for purpose in PURPOSES] + ["support_contact_method", "support_contact",
                                                                  "support_safe_times", "support_may_leave_message"]
    return []


PERSON_FIELDS = PERSON_LISTS + tuple(f"vehicle_{n}" for n in PERSON_VEHICLE) + PERSON_DESCRIPTION
MULTI_VALUE = {"incident_types"}


def person_field(index: int, name: str) -> str:
    return f"p{index}-{name}"


# -- the draft --------------------------------------------------------------------------------------


def load_draft() -> Draft | None:
    key = session.get(SESSION_KEY)
    if not key:
        return None
    draft = Draft.get_or_none(Draft.key_hash == hash_token(key))
    if draft is None or draft.expires_at < utcnow():
        return None
    _kept(draft)  # everything answered before this request is stored
    return draft


def new_draft() -> Draft:
    key = new_token()
    session[SESSION_KEY] = key
    return Draft.create(key_hash=hash_token(key), data=json.dumps(empty_state()), expires_at=utcnow() + DRAFT_LIFETIME)


def empty_state() -> dict:
    return {"step": "what", "values": {}, "people": 1}


def state_of(draft: Draft) -> dict:
    state = json.loads(draft.data or "{}")
    return {**empty_state(), **state}


def save_state(draft: Draft, state: dict) -> bool:
    """Store the answers, unless the draft is being sent or was sent meanwhile (another tab, a
    second tap): a send is never undone by an older page. False when not stored."""
    with db.atomic():
        lock_row(Draft, draft.key_hash)
        if Draft.get_or_none(Draft.key_hash == draft.key_hash) is None or sent_row() is not None:
            return False
        draft.data = json.dumps(state)
        draft.expires_at = utcnow() + DRAFT_LIFETIME
        draft.save()
    _kept(draft)  # a failure after this point may tell the person their answers are still here
    return True


def _kept(draft: Draft) -> None:
    """Let a 500 page say the answers are still here, if the draft row still exists by then (a
    report that was sent deletes it)."""
    key_hash = draft.key_hash

    input_kept(lambda: Draft.get_or_none(Draft.key_hash == key_hash) is not None)


def forget_draft(draft: Draft | None) -> None:
    if draft is not None:
        draft.delete_instance()  # its attachments go with it (ON DELETE CASCADE)
    session.pop(SESSION_KEY, None)
    input_kept(None)


def forget_own_draft() -> bool:
    """Delete the draft (or the "sent" row) of this session, whatever state it is in (Quick exit,
    "Delete my answers"). True when there was one."""
    key = session.pop(SESSION_KEY, None)
    input_kept(None)
    if not key:
        return False
    with db.atomic():
        kept_receipts.forget(_receipt_key(key))
        return Draft.delete().where(Draft.key_hash.in_([hash_token(key), _sent_key(key)])).execute() > 0


def has_answers(draft: Draft, state: dict) -> bool:
    """Whether a draft holds anything typed or chosen (an empty one is shown without asking)."""
    from plugins.reporting.models import Attachment

    if state.get("step") != "what" or state.get("people", 1) > 1:
        return True
    if any(value for key, value in state["values"].items() if not key.startswith(LENGTH_PREFIX)):
        return True
    return Attachment.select().where(Attachment.draft == draft).exists()


# -- what the GET after a POST shows, once -------------------------------------------------------------


def set_view(state: dict, **view) -> None:
    """What the next GET shows (errors, notice, status, confirm), if it comes within VIEW_SECONDS."""
    state["view"] = {"at": utcnow().timestamp(), **view}


def take_view(draft: Draft) -> dict | None:
    """The view kept by the last POST, removed so that it is shown once; None when there is none
    or it is too old (then the page asks before showing any answer)."""
    with db.atomic():
        lock_row(Draft, draft.key_hash)
        fresh = Draft.get_or_none(Draft.key_hash == draft.key_hash)
        if fresh is None:
            return None
        state = state_of(fresh)
        view = state.pop("view", None)
        if view is None:
            return None
        fresh.data = json.dumps(state)
        fresh.save()
    if utcnow().timestamp() - float(view.get("at") or 0) > VIEW_SECONDS:
        return None
    return view


# -- sending once ------------------------------------------------------------------------------------
#
# A send is recorded in a second row beside the draft, keyed by the same session key (sent_key):
# "sending" while the report is being made, then "sent" with its reference (and, in the same
# transaction, its receipt kept by core.kept_receipts). It is made under the draft row's lock, so of two
# sends at once only one makes a report, and it outlives the draft, which the report deletes in its own
# transaction.

CLAIMED, SENDING, SENT, GONE = "claimed", "sending", "sent", "gone"


def _sent_key(key: str) -> str:
    return hash_token(key + ":sent")


def _receipt_key(key: str) -> str:
    """Where core keeps this send's receipt: the draft's key lives only in this browser's session,
    so no form key is needed (core.kept_receipts.key_for is for keys a page shows)."""
    return hash_token(key + ":receipt")


def sent_row() -> Draft | None:
    """This session's record of a send (being made, or made), if any and not expired."""
    key = session.get(SESSION_KEY)
    if not key:
        return None
    row = Draft.get_or_none(Draft.key_hash == _sent_key(key))
    if row is None or row.expires_at < utcnow():
        return None
    if _stale(state_of(row)) and Draft.get_or_none(Draft.key_hash == hash_token(key)) is not None:
        return None  # a send that died before making its report: the draft may be sent again
    return row


def sent_of(state: dict) -> dict | None:
    """{"reference", "signed_in", "at"} of a send that made its report, else None."""
    return state.get("sent")


def sending_since(state: dict) -> float | None:
    return state.get("sending")


def _stale(state: dict) -> bool:
    since = sending_since(state)
    return bool(since) and not sent_of(state) and \
        utcnow().timestamp() - since > SEND_CLAIM_TIMEOUT.total_seconds()


def claim_send(draft: Draft) -> tuple[str, dict | None]:
    """Take the right to make this draft's report, under the draft row's lock, so that two sends at
    once (a double tap) make one report. Returns (CLAIMED, the answers as stored) for the one that
    may send, else (SENDING | SENT | GONE, None)."""
    key = session.get(SESSION_KEY)
    sent_key = _sent_key(key)
    with db.atomic():
        lock_row(Draft, draft.key_hash)
        fresh = Draft.get_or_none(Draft.key_hash == draft.key_hash)
        record = Draft.get_or_none(Draft.key_hash == sent_key)
        if record is not None:
            state = state_of(record)
            if sent_of(state):
                return SENT, None
            if fresh is None or not _stale(state):
                return SENDING, None
            record.delete_instance()  # a send that died: its draft is still here, so no report was made
        if fresh is None or fresh.expires_at < utcnow():
            return GONE, None
        Draft.create(key_hash=sent_key, data=json.dumps({"sending": utcnow().timestamp()}),
                     expires_at=utcnow() + SENT_LIFETIME)
    return CLAIMED, state_of(fresh)


def release_send(draft: Draft) -> None:
    """The send failed: if its report was not made (the draft is still here), it may be sent again."""
    sent_key = _sent_key(session.get(SESSION_KEY))
    with db.atomic():
        lock_row(Draft, draft.key_hash)
        if Draft.get_or_none(Draft.key_hash == draft.key_hash) is not None:
            Draft.delete().where(Draft.key_hash == sent_key).execute()


def mark_sent(reference: str, receipt: str | None, signed_in: bool) -> None:
    """After the report was made (and its draft deleted with it): the send's row says "sent", and the
    receipt is kept in the same transaction, so a second tap that finds "sent" finds the receipt."""
    key = session.get(SESSION_KEY)
    sent_key = _sent_key(key)
    state = {"sent": {"reference": reference, "signed_in": signed_in, "at": utcnow().timestamp()}}
    with db.atomic():
        Draft.delete().where(Draft.key_hash == sent_key).execute()
        Draft.create(key_hash=sent_key, data=json.dumps(state), expires_at=utcnow() + SENT_LIFETIME)
        if receipt is not None:
            kept_receipts.keep(_receipt_key(key), receipt)


def show_sent(record: Draft, draw):
    """Draw the page of a sent report with draw(details): "receipt" while core still keeps it for this
    browser (core.kept_receipts: ten minutes, or until "I have kept my receipt"), and "again" once the
    receipt's time is over. None when the row has no sent report. Writes nothing."""
    sent = sent_of(state_of(record))
    if not sent:
        return None
    recent = utcnow().timestamp() - float(sent.get("at") or 0) <= kept_receipts.SHOWN_FOR.total_seconds()
    receipt = kept_receipts.shown(_receipt_key(session.get(SESSION_KEY))) if recent else None
    return draw({**sent, "receipt": receipt, "again": not recent})


# -- the answers of a step ---------------------------------------------------------------------------


def take_values(form, names: list[str]) -> dict:
    """The submitted values of these fields, as typed (lists for checkbox groups).

    An answer longer than KEEP_CHARACTERS keeps its first KEEP_CHARACTERS in the draft, and its
    real length beside it (LENGTH_PREFIX + name), so the error says how long the text sent really
    was. Broken halves of characters (lone surrogates, which a page cannot show again) become
    U+FFFD, the replacement character browsers use themselves, so the answer is kept and shown.
    """
    values: dict = {}
    for name in names:
        if name in MULTI_VALUE:
            values[name] = [v for v in form.getlist(name) if isinstance(v, str)][:50]
            continue
        typed = text_rule.displayable(form.get(name) or "")
        values[name] = typed[:KEEP_CHARACTERS]
        values[LENGTH_PREFIX + name] = len(typed) if len(typed) > KEEP_CHARACTERS else None
    if any(values[name] for name in names):
        input_kept(None)  # typed in this request, not stored until save_state
    return values


LENGTH_PREFIX = "_length:"  # in the draft's values: the real length of an answer cut to KEEP_CHARACTERS


def _limit_of(name: str) -> int | None:
    """The length cap of the schema field a form field feeds (None for one-a-line boxes, whose
    lines are checked one by one)."""
    from plugins.reporting.schemas import DescriptionSchema, VehicleSchema

    if "-" in name:
        part = name.split("-", 1)[1]
        if part.startswith("vehicle_"):
            field = VehicleSchema().fields.get(part.removeprefix("vehicle_"))
        elif part in PERSON_DESCRIPTION:
            field = DescriptionSchema().fields.get(part)
        else:
            return None
    else:
        field = ReportSchema().fields.get(name)
    return getattr(field, "max_length", None)


def remove_person(state: dict, index: int) -> None:
    values = state["values"]
    people = state["people"]
    for i in range(index, people - 1):
        for name in PERSON_FIELDS:
            values[person_field(i, name)] = values.get(person_field(i + 1, name), "")
    for name in PERSON_FIELDS:
        values.pop(person_field(people - 1, name), None)
    state["people"] = max(1, people - 1)


def add_person(state: dict) -> bool:
    if state["people"] >= MAX_PERPETRATORS:
        return False
    state["people"] += 1
    return True


# -- from answers to a report -------------------------------------------------------------------


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _web_date(text: str | None) -> str | None:
    """ISO dates from a date picker, or 31/03/2024 typed where the browser shows a text box."""
    text = (text or "").strip()
    if not text:
        return None
    match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
    if match:
        day, month, year = (int(part) for part in match.groups())
        try:
            return datetime.date(year, month, day).isoformat()
        except ValueError:
            return text
    return text


def payload(state: dict, for_others: bool) -> dict:
    """The answers as the JSON API takes them."""
    values = state["values"]
    data: dict = {"incident_types": values.get("incident_types") or []}
    for name in ("narrative", "occurred_time", "region", "location", "work_setting", "contact_method",
                 "support_contact", "support_safe_times", "support_contact_method"):
        data[name] = values.get(name) or None
    data["support_may_leave_message"] = {"yes": True, "no": False}.get(values.get("support_may_leave_message"))
    data["occurred_on"] = _web_date(values.get("occurred_on"))
    data["consent"] = {purpose: values.get(f"consent_{purpose}") == "yes" for purpose in PURPOSES}
    if for_others:
        data["on_behalf"] = values.get("on_behalf") == "other"
        data["on_behalf_consent"] = values.get("on_behalf_consent") == "yes"
    people = []
    for i in range(state["people"]):
        def get(name, i=i):
            return values.get(person_field(i, name)) or None

        people.append({
            **{name: _lines(get(name)) for name in PERSON_LISTS},
            "vehicle": {name: get(f"vehicle_{name}") for name in PERSON_VEHICLE},
            "description": {name: get(name) for name in PERSON_DESCRIPTION},
        })
    data["perpetrators"] = people
    return data


def check(state: dict, for_others: bool, required: tuple[str, ...]) -> tuple[dict | None, dict[str, list[str]]]:
    """Validate every answer: (report data, {}) or (None, {form field: [messages]})."""
    errors: dict[str, list[str]] = {}
    values = state["values"]
    for purpose in PURPOSES:
        if values.get(f"consent_{purpose}") not in {"yes", "no"}:
            errors[f"consent_{purpose}"] = [_("Please choose yes or no.")]
    if for_others and values.get("on_behalf") not in {"self", "other"}:
        errors["on_behalf"] = [_("Please choose one.")]
    schema = ReportSchema(required=required, may_report_for_others=for_others)
    try:
        data = schema.load(payload(state, for_others))
    except ValidationError as exc:
        data = None
        for name, messages in form_errors(exc.messages, values).items():
            errors.setdefault(name, []).extend(messages)
    if "occurred_on" in errors:
        # The web form takes 31/03/2024 (its hint's example, see _web_date) as well as the ISO date
        # a date picker sends; say so rather than the API's "2024-03-31".
        from plugins.reporting.schemas import PastDate

        unreadable = str(PastDate().example())
        errors["occurred_on"] = [_("Please give a date like 31/03/2024.") if str(m) == unreadable else m
                                 for m in errors["occurred_on"]]
    for key, length in values.items():
        name = key.removeprefix(LENGTH_PREFIX)
        limit = _limit_of(name) if key.startswith(LENGTH_PREFIX) and length else None
        if limit:  # cut to KEEP_CHARACTERS in the draft: say how long the text sent really was
            errors[name] = [too_long_message(limit, length)]
    return (None if errors else data), errors


def _flatten(messages) -> list[str]:
    if isinstance(messages, dict):
        return [m for value in messages.values() for m in _flatten(value)]
    if isinstance(messages, list | tuple):
        return [m for value in messages for m in _flatten(value)]
    return [str(messages)]


def _per_line(messages, text: str | None) -> list[str]:
    """Errors of one line of a one-a-line box say which line: "0770 (line 2): ..."."""
    if not isinstance(messages, dict):
        return _flatten(messages)
    lines = _lines(text)
    result = []
    for index, value in sorted(messages.items(), key=lambda item: int(item[0])):
        line = lines[int(index)] if int(index) < len(lines) else ""
        for message in _flatten(value):
            result.append(_("“%(text)s”: %(message)s", text=shortened(line), message=message))
    return result


QUOTE_CHARACTERS = 40  # of an answer quoted in an error message: enough to say which line is meant


def shortened(text: str, limit: int = QUOTE_CHARACTERS) -> str:
    """An answer as an error message quotes it: its first `limit` characters and "…" when longer,
    so a very long line does not fill the page twice (the summary, and under the question)."""
    text = text or ""
    return text if len(text) <= limit else text[:limit].rstrip() + "…"


def form_errors(messages: dict, values: dict) -> dict[str, list[str]]:
    """marshmallow's nested errors, keyed by the form's own field names."""
    found: dict[str, list[str]] = {}
    for key, value in messages.items():
        if key == "perpetrators" and isinstance(value, dict):
            for index, person in value.items():
                if not isinstance(person, dict):
                    found.setdefault("_schema", []).extend(_flatten(person))
                    continue
                for name, sub in person.items():
                    if name in ("vehicle", "description") and isinstance(sub, dict):
                        for part, msgs in sub.items():
                            field = f"vehicle_{part}" if name == "vehicle" else part
                            found[person_field(int(index), field)] = _flatten(msgs)
                    elif name in PERSON_LISTS:
                        field = person_field(int(index), name)
                        found[field] = _per_line(sub, values.get(field))
                    else:
                        found.setdefault(person_field(int(index), "names"), []).extend(_flatten(sub))
        elif key == "consent" and isinstance(value, dict):
            for purpose, msgs in value.items():
                found[f"consent_{purpose}"] = _flatten(msgs)
        else:
            found[str(key)] = _flatten(value)
    return found


# Errors about a step as a whole rather than one of its fields: "perpetrators" (when this service
# requires a description of the person) belongs to the step that asks about them.
STEP_ERRORS = {"who": ("perpetrators",)}

# The questions everyone must answer, whatever the service requires (check() refuses them empty).
ALWAYS_NEEDED = tuple(f"consent_{purpose}" for purpose in PURPOSES)


def needed(step: str, for_others: bool, required: tuple[str, ...]) -> set[str]:
    """The fields of a step that must be answered: marked "(needed)" on the page."""
    found = set(ALWAYS_NEEDED) | set(required)
    if for_others:
        found.add("on_behalf")
    own = set(step_fields(step, 1, for_others)) | set(STEP_ERRORS.get(step, ()))
    return found & own


def errors_for_step(errors: dict, step: str, state: dict, for_others: bool) -> dict:
    owned = set(step_fields(step, state["people"], for_others)) | set(STEP_ERRORS.get(step, ()))
    return {name: msgs for name, msgs in errors.items() if name in owned}


# -- naming each question in the error summary -------------------------------------------------------

PERSON_LABELS = {
    "names": _l("Names or nicknames they used"),
    "phones": _l("Phone numbers"),
    "emails": _l("Email addresses"),
    "handles": _l("Online names, profiles or advert links"),
    "vehicle_make": _l("Make"),
    "vehicle_model": _l("Model"),
    "vehicle_colour": _l("Colour"),
    "vehicle_plate": _l("Number plate"),
    "gender": _l("Gender"),
    "age_range": _l("Age, roughly"),
    "height": _l("Height"),
    "build": _l("Build"),
    "hair": _l("Hair"),
    "features": _l("Anything that stands out (tattoos, scars, clothes, smell, behaviour)"),
    "languages": _l("Languages spoken or accent"),
}

RADIO_FIELDS = ("on_behalf", "on_behalf_consent", "support_may_leave_message") + ALWAYS_NEEDED


def question_labels(people: int) -> dict[str, str]:
    """Each form field's question, as its page asks it, so that an error in the summary at the top
    says which question it is about ("Which area?: Please choose..."), not only what is wrong."""
    from plugins.reporting.views import purpose_labels

    labels = {
        "on_behalf": _("Who are you reporting for?"),
        "on_behalf_consent": _("If you are reporting for someone else: did they agree to this report?"),
        "incident_types": _("What happened?"),
        "narrative": _("In your own words, what happened?"),
        "occurred_on": _("Date it happened"),
        "occurred_time": _("Roughly what time?"),
        "region": _("Which area?"),
        "location": _("Where, roughly? (a town, a street name, the name of a hotel)"),
        "work_setting": _("Where were you working?"),
        "contact_method": _("How did they first get in touch?"),
        "perpetrators": _("The person who did this"),
        "support_contact_method": _("The best way to reach you"),
        "support_contact": _("Phone number, email or another way to reach you"),
        "support_safe_times": _("Safe ways and times to contact you"),
        "support_may_leave_message": _("May we leave a message (voicemail, or with someone who answers)?"),
    }
    for purpose, label in purpose_labels().items():
        labels[f"consent_{purpose}"] = label
    for index in range(people):
        for name, label in PERSON_LABELS.items():
            text = str(label)
            if name.startswith("vehicle_"):
                text = _("Vehicle: %(part)s", part=text)
            if people > 1:
                text = _("Person %(number)d: %(question)s", number=index + 1, question=text)
            labels[person_field(index, name)] = text
    return labels


def error_anchors(errors: dict, first_choice: dict[str, str]) -> dict[str, str]:
    """Where each error in the summary links to: the field itself, or for a group of choices its
    first choice (a link to a fieldset would not move the keyboard there)."""
    anchors = {}
    for name in errors:
        if name in RADIO_FIELDS:
            anchors[name] = f"f-{name}-yes" if name not in ("on_behalf",) else f"f-{name}-self"
        elif name in first_choice:
            anchors[name] = f"f-{name}-{first_choice[name]}"
        elif name == "perpetrators":
            anchors[name] = "f-perpetrators"
        else:
            anchors[name] = f"f-{name}"
    return anchors


def first_step_with_errors(errors: dict, state: dict, for_others: bool, with_files: bool) -> str:
    for candidate in steps(with_files):
        if errors_for_step(errors, candidate.code, state, for_others):
            return candidate.code
    return "check"
