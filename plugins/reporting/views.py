"""Pages of the reporting plugin for reporters, under /reporting/.

/reporting/report     the step-by-step form (one address for every step, post/redirect/get; see wizard.py)
/reporting/report/forget  Quick exit's beacon: deletes this session's draft
/reporting/follow-up  status, messages, more information and consent, opened with a receipt (POST only)
/reporting/mine       the same for reports made while signed in
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from peewee import fn

from core import once
from core.db import db, lock_row
from core.i18n import language_switched
from core.numbers import whole_number
from core.permissions import PUBLIC, SIGNED_IN, requires, user_has
from plugins.reporting import _, options, service, wizard
from plugins.reporting.attachments import ACCEPT_ATTRIBUTE, AttachmentError, clean_image
from plugins.reporting.models import PURPOSES, STATUSES, Attachment, Draft, Report
from plugins.reporting.schemas import MAX_MESSAGE

log = logging.getLogger("redumbrella.reporting")
bp = Blueprint("reporting", __name__, url_prefix="/reporting", static_folder="static")


def status_labels() -> dict[str, str]:
    return {
        "new": _("Received: nobody has read it yet"),
        "triage": _("Being read by our team"),
        "needs_info": _("We have a question for you"),
        "verified": _("Checked and accepted"),
        "duplicate": _("We already had this report"),
        "rejected": _("Closed: we could not take this further. Thank you for telling us."),
    }


def purpose_labels() -> dict[str, str]:
    return {
        "share_alert": _("Share a warning with other sex workers (without anything that could identify you)"),
        "police_intelligence": _("Share anonymous information with the police (nothing that identifies you)"),
        "police_report": _("Help you to make a full report to the police"),
        "wants_support": _("Support from a caseworker"),
        "research": _("Include your report in research about harm against sex workers (counts only, never your "
                      "words or anything that could identify you)"),
    }


def purpose_short_labels() -> dict[str, str]:
    return {
        "share_alert": _("Warning to the community"),
        "police_intelligence": _("Anonymous information to the police"),
        "police_report": _("Help with a police report"),
        "wants_support": _("Support from a caseworker"),
        "research": _("Research (de-identified)"),
    }


def support_method_labels() -> dict[str, str]:
    """How a reporter who asked for support would like to be reached."""
    return {
        "phone": _("Phone call"),
        "text": _("Text message"),
        "email": _("E-mail"),
        "whatsapp": _("WhatsApp"),
        "signal": _("Signal"),
        "in_person": _("In person"),
        "other": _("Another way"),
    }


@bp.app_template_global("reporting_labels")
def _labels():
    return {"status": status_labels(), "purpose": purpose_labels(), "purpose_short": purpose_short_labels(),
            "support_method": support_method_labels()}


@bp.route("/")
@requires(PUBLIC)
def index():
    config = service.settings()
    return render_template(
        "reporting/index.html",
        settings=config,
        can_report=config["allow_anonymous"] or current_user.is_authenticated,
        is_moderator=user_has(current_app, current_user, "reporting.moderate"),
    )


# -- the report form ---------------------------------------------------------------------------------


def _context() -> dict:
    config = service.settings()
    return {
        "config": config,
        "with_files": config["max_attachments"] > 0,
        "for_others": wizard.may_report_for_others(current_user),
        "required": tuple(config["required_fields"]),
    }


def _render_step(step: str, state: dict, draft, errors: dict | None = None, notice: str | None = None,
                 status: int = 200, mode: str = "step"):
    """One page of the form. mode "step" shows a step with its answers; "resume" (a later visit)
    and "confirm_discard" show none of them; "sending" says a send is still being made."""
    ctx = _context()
    all_steps = wizard.steps(ctx["with_files"])
    codes = [s.code for s in all_steps]
    if step not in codes:
        step = codes[0]
    files = []
    if draft is not None and ctx["with_files"] and mode == "step":
        files = list(Attachment.select(Attachment.id, Attachment.content_type, Attachment.size)
                     .where(Attachment.draft == draft).order_by(Attachment.id))
    summary = None
    if step == "check" and mode == "step":
        summary = wizard.payload(state, ctx["for_others"])
    choices = {kind: options.configured(kind) for kind in options.KNOWN}
    first_choice = {"incident_types": choices["incident_types"][0].code} if choices.get("incident_types") else {}
    return (
        render_template(
            "reporting/form.html",
            mode=mode,
            step=step,
            steps=all_steps,
            position=codes.index(step) + 1,
            state=state,
            values=state["values"],
            errors=errors or {},
            notice=notice,
            files=files,
            summary=summary,
            choices=choices,
            needed=wizard.needed(step, ctx["for_others"], ctx["required"]),
            questions=wizard.question_labels(state["people"]) if errors else {},
            anchors=wizard.error_anchors(errors or {}, first_choice),
            times=options.times_of_day(),
            purposes=PURPOSES,
            accept=ACCEPT_ATTRIBUTE,
            person_fields=wizard.person_field,
            label_for=options.label_for,
            form_key=once.new_key(),  # the pictures step's one-time key (_store_uploads)
            **ctx,
        ),
        status,
    )


def _neighbour(step: str, offset: int, with_files: bool) -> str:
    codes = [s.code for s in wizard.steps(with_files)]
    index = codes.index(step) if step in codes else 0
    return codes[max(0, min(len(codes) - 1, index + offset))]


def _again():
    """Post/redirect/get: every POST of the form is answered with a redirect to the form's own
    address, so the browser's Back and reload never ask to send a form again."""
    return redirect(url_for("reporting.report"), code=303)


def _show_next(draft, state: dict, step: str, errors: dict | None = None, notice: str | None = None,
               status: int = 200):
    """Save the draft at this step, with what the GET after the redirect shows once, and redirect."""
    state["step"] = step
    wizard.set_view(state, errors=errors or None, notice=notice, status=status)
    wizard.save_state(draft, state)
    return _again()


SEND_WAIT_SECONDS = 8.0  # how long a page waits for a send of the same draft that is under way


@bp.route("/report", methods=["GET", "POST"])
@requires(PUBLIC)
def report():
    ctx = _context()
    if not ctx["config"]["allow_anonymous"] and not current_user.is_authenticated:
        return render_template("reporting/sign_in_needed.html"), 200
    draft = wizard.load_draft()
    if request.method == "GET":
        return _show(draft)
    return _act(draft, ctx)


def _show(draft):
    """GET: the page for where the draft is. The answers are shown only right after one of the
    form's own POSTs; any other visit asks first ("resume")."""
    record = wizard.sent_row()
    if record is not None:
        return _sent(record)
    if draft is None:
        return _render_step("what", wizard.empty_state(), None)
    state = wizard.state_of(draft)
    view = wizard.take_view(draft)
    if view is None:
        if wizard.has_answers(draft, state):
            return _render_step(state["step"], state, draft, mode="resume")
        view = {}
    if view.get("confirm") == "discard":
        return _render_step(state["step"], state, draft, mode="confirm_discard")
    return _render_step(state["step"], state, draft, errors=view.get("errors"), notice=view.get("notice"),
                        status=int(view.get("status") or 200))


def _sent(record):
    """"Report sent" with its receipt, once; afterwards "Your report was already sent". A send of
    the same draft still under way (a double tap) is waited for a few seconds."""
    deadline = time.monotonic() + SEND_WAIT_SECONDS
    while not wizard.sent_of(wizard.state_of(record)) and time.monotonic() < deadline:
        time.sleep(0.1)
        record = wizard.sent_row()
        if record is None:  # the send failed and let go: the draft is as it was
            return _show(wizard.load_draft())
    if not wizard.sent_of(wizard.state_of(record)):
        draft = wizard.load_draft()
        state = wizard.state_of(draft) if draft else wizard.empty_state()
        return _render_step(state["step"], state, draft, mode="sending", status=202)

    def draw(sent: dict) -> str:
        return render_template("reporting/done.html", reference=sent["reference"], receipt=sent.get("receipt"),
                               signed_in=bool(sent.get("signed_in")), already=sent["again"])

    page = wizard.show_sent(record, draw)
    if page is None:
        return _render_step("what", wizard.empty_state(), None)
    return page


def _act(draft, ctx):
    """POST: do what was asked, save, and redirect to the form's address (_again)."""
    action = request.form.get("action", "next")
    posted_step = request.form.get("step", "what")
    record = wizard.sent_row()
    if record is not None:
        # Sent already, or being sent (a second tap, a resend, an old tab): never a second report.
        # The GET says it was sent, with its reference; "Start a new report" clears it.
        if action in {"new", "kept_receipt"} and wizard.sent_of(wizard.state_of(record)):
            wizard.forget_own_draft()  # nothing of the report is left for this browser to show
            if action == "kept_receipt":
                flash(_("Thank you. This phone or computer no longer shows anything of your report."), "info")
                return redirect(url_for("reporting.index"), code=303)
        return _again()
    if action in {"new", "discard_yes"}:
        if draft is not None:
            wizard.forget_own_draft()
            flash(_("Your answers are deleted."), "info")
        return _again()
    if draft is None:
        if action == "send" or posted_step != "what":
            # The draft expired (or was deleted): say so, never fail silently.
            draft = wizard.new_draft()
            return _show_next(draft, wizard.empty_state(), "what", status=409, notice=_(
                "Your earlier answers are no longer here: for your safety they are deleted after a few hours, "
                "or once a report is sent. Please start again."))
        draft = wizard.new_draft()
    state = wizard.state_of(draft)
    state.pop("view", None)

    # Keep what was typed on this step before anything is checked, so nothing is ever lost.
    owned = wizard.step_fields(posted_step, state["people"], ctx["for_others"])
    if request.form.get("page") not in {"resume", "confirm"}:  # pages without the step's fields
        state["values"].update(wizard.take_values(request.form, owned))
    for_others, required = ctx["for_others"], ctx["required"]

    if action == "discard":
        state["step"] = posted_step if posted_step in {s.code for s in wizard.steps(ctx["with_files"])} \
            else state["step"]
        wizard.set_view(state, confirm="discard")
        wizard.save_state(draft, state)
        return _again()
    if action in {"discard_no", "resume"}:
        return _show_next(draft, state, state["step"])
    if action == "language":  # the footer's switcher, pointed at this form: the answers above are kept
        with language_switched():  # a picture's error, said now, is in the new language too
            if posted_step == "files" and _has_uploads():
                # A file input cannot be filled in again by the server: pictures chosen but not
                # added yet are added now, as "Add these pictures" would, rather than lost.
                wizard.save_state(draft, state)
                added = _store_uploads(draft=draft, form_key=once.posted_key(request.form.get("form_key")))
                if added.errors:
                    return _show_next(draft, state, "files", errors={"files": added.errors}, status=422)
            return _show_next(draft, state, posted_step)
    if action == "add_person":
        wizard.add_person(state)
        return _show_next(draft, state, "who")
    if action.startswith("remove_person:"):
        index = whole_number(action.partition(":")[2])
        if index is not None and 0 <= index < state["people"]:
            wizard.remove_person(state, index)
        return _show_next(draft, state, "who")
    if action == "upload":
        wizard.save_state(draft, state)
        added = _store_uploads(draft=draft, form_key=once.posted_key(request.form.get("form_key")))
        return _show_next(draft, state, "files", errors={"files": added.errors} if added.errors else None,
                          notice=_already_added() if added.repeat else None, status=422 if added.errors else 200)
    if action.startswith("remove_file:"):
        file_id = whole_number(action.partition(":")[2])
        if file_id is not None:
            Attachment.delete().where((Attachment.id == file_id) & (Attachment.draft == draft)).execute()
        return _show_next(draft, state, "files")
    if posted_step == "files" and action in {"next", "back"} and _has_uploads():
        # Pictures chosen but "Add" not pressed: keep them rather than lose them.
        added = _store_uploads(draft=draft, form_key=once.posted_key(request.form.get("form_key")))
        if added.errors:
            return _show_next(draft, state, "files", errors={"files": added.errors}, status=422)
    if action.startswith("goto:"):
        return _show_next(draft, state, action.partition(":")[2])
    if action == "back":
        return _show_next(draft, state, _neighbour(posted_step, -1, ctx["with_files"]))

    data, errors = wizard.check(state, for_others, required)
    if action == "send":
        if errors:
            return _send_errors(draft, state, errors, ctx)
        return _send(draft, ctx)

    # "next": check only this step's answers; the others are checked when they are reached.
    step_errors = wizard.errors_for_step(errors, posted_step, state, for_others)
    if step_errors:
        return _show_next(draft, state, posted_step, errors=step_errors, status=422)
    following = _neighbour(posted_step, 1, ctx["with_files"])
    shown = {k: v for k, v in errors.items() if k == "_schema"} if following == "check" else None
    return _show_next(draft, state, following, errors=shown)


def _send_errors(draft, state: dict, errors: dict, ctx):
    for_others = ctx["for_others"]
    step = wizard.first_step_with_errors(errors, state, for_others, ctx["with_files"])
    shown = errors if step == "check" else wizard.errors_for_step(errors, step, state, for_others)
    return _show_next(draft, state, step, errors=shown, status=422)


def _send(draft, ctx):
    """Make the report, once per draft: two sends at once (a double tap) make one report, and a
    send of a draft already sent makes none. The draft is claimed under its row's lock first, and
    the report is made from the answers as stored then."""
    outcome, claimed = wizard.claim_send(draft)
    if outcome != wizard.CLAIMED:
        return _again()  # the GET shows the report that was (or is being) sent, or a fresh form
    try:
        data, errors = wizard.check(claimed, ctx["for_others"], ctx["required"])
        if errors:  # the answers changed in another tab since this page was shown
            wizard.release_send(draft)
            return _send_errors(draft, claimed, errors, ctx)
        reporter = current_user._get_current_object() if current_user.is_authenticated else None
        submitted = service.create_report(data, reporter=reporter, source="web", draft=draft)
    except Exception:
        wizard.release_send(draft)  # no report was made: the draft may be sent again
        raise
    wizard.mark_sent(submitted.report.reference, submitted.receipt, signed_in=reporter is not None)
    return _again()


@bp.route("/report/forget", methods=["POST"])
@requires(PUBLIC)
def forget():
    """Quick exit's beacon (core/static/js/quick-exit.js): delete this session's draft, or the
    "sent" row with its receipt, on the way out. Only the caller's own, with the page's CSRF
    token; answers nothing the page would show."""
    wizard.forget_own_draft()
    return "", 204


def _has_uploads() -> bool:
    return any(f and f.filename for f in request.files.getlist("files"))


def _already_added() -> str:
    return _("These pictures were already added: we did not add them twice.")


@dataclass
class _Added:
    """What _store_uploads did."""

    errors: list[str] = field(default_factory=list)  # one message per refused file, or for the limit
    count: int = 0  # pictures stored by this request
    repeat: bool = False  # the same form sent again (a reload, a double tap): stored by its first send


def _store_uploads(draft=None, report=None, form_key: str | None = None) -> _Added:
    """Clean the uploaded images and store them with the draft (or the report).

    Cleaning comes first, outside any transaction: it can take a second a picture, and on SQLite
    a transaction holds the write lock for the whole site. Then one transaction claims the form's
    one-time key (core.once: a reload or a double tap stores the pictures once, and a send that
    stores none, failed or refused by a limit, leaves it unclaimed), checks the limits again
    against what is stored by then (another tab may have added some; the owner's row is locked
    first, so two tabs queue up), and stores them."""
    uploads = [f for f in request.files.getlist("files") if f and f.filename]
    if not uploads:
        return _Added([_("Please choose a photo or screenshot first.")])
    config = service.settings()
    limit = config["max_attachments"]
    max_bytes = config["max_attachment_mb"] * 1024 * 1024
    too_many = _("You can add up to %(count)d photos or screenshots.", count=limit)
    held, _size = _held(draft, report)
    errors: list[str] = []
    cleaned: list[tuple[bytes, str]] = []
    for upload in uploads:
        if held + len(cleaned) >= limit:
            errors.append(too_many)
            break
        try:
            cleaned.append(clean_image(upload.read(max_bytes + 1), max_bytes))
        except AttachmentError as exc:
            errors.append(_("“%(name)s”: %(message)s", name=upload.filename[:80], message=str(exc)))
    if not cleaned:
        return _Added(errors)
    added = 0
    with db.atomic() as transaction:
        if not once.claim(form_key):
            return _Added(repeat=True)
        if draft is not None:
            lock_row(Draft, draft.key_hash)
        else:
            lock_row(Report, report.id)
        count, stored = _held(draft, report)
        budget = limit * max_bytes  # what all of a draft's (or report's) pictures may take together
        # Unsent reports' pictures, all together: anyone can start a report, so without a ceiling
        # for the whole site, drafts that are never sent could fill the disk before they expire.
        waiting = _draft_pictures_bytes() if draft is not None else 0
        ceiling = config["draft_pictures_mb"] * 1024 * 1024
        for data, content_type in cleaned:
            # The budget matters only after the limits were lowered: each picture fits max_bytes.
            if count >= limit or stored + len(data) > budget:
                if too_many not in errors:
                    errors.append(too_many)
                break
            if draft is not None and waiting + len(data) > ceiling:
                log.warning("unsent reports' pictures at their limit", extra={"event": "draft_pictures_full",
                                                                             "plugin": "reporting"})
                errors.append(_("We cannot take more pictures just now. You can send your report without them, "
                                "and add them when you follow it up."))
                break
            Attachment.create(draft=draft, report=report, content_type=content_type, size=len(data), data=data,
                              from_reporter=True)
            count += 1
            stored += len(data)
            waiting += len(data)
            added += 1
        if not added:  # every picture refused: the key stays unclaimed, so a reload tries again
            transaction.rollback()
    return _Added(errors, added)


def _held(draft, report) -> tuple[int, int]:
    """How many pictures the draft (or report) has, and their bytes together."""
    owner = (Attachment.draft == draft) if draft is not None else (Attachment.report == report)
    return Attachment.select(fn.COUNT(Attachment.id), fn.COALESCE(fn.SUM(Attachment.size), 0)).where(
        owner).scalar(as_tuple=True)


def _draft_pictures_bytes() -> int:
    waiting = Attachment.select(fn.COALESCE(fn.SUM(Attachment.size), 0)).where(Attachment.draft.is_null(False))
    return waiting.scalar()


# -- following up: receipt holders -----------------------------------------------------------------


@bp.route("/follow-up", methods=["GET", "POST"])
@requires(PUBLIC)
def follow_up():
    """Receipt holders: the receipt travels in the POST body only, never in an address."""
    if request.method == "GET":
        return render_template("reporting/follow_up.html", errors={})
    receipt = request.form.get("receipt", "")
    try:
        found = service.report_for_receipt(receipt, service.session_bucket())
    except service.Throttled:
        return render_template("reporting/follow_up.html", errors={"receipt": [service.throttled_message()]}), 429
    if found is None:
        return render_template("reporting/follow_up.html", errors={"receipt": [_(
            "We could not open a report with that receipt. Please check the numbers. Receipts stop working "
            "after a while, and some reports are deleted when they are no longer needed.")]}), 404
    if request.form.get("action") == "language":
        return _language_switched(found, receipt=receipt)
    notice, errors = _reporter_action(found, by_receipt=True)
    return _render_status(found, receipt=receipt, notice=notice, errors=errors, **_after_action(errors))


def _language_switched(report: Report, receipt: str | None = None):
    """The footer's switcher, which belongs to the page's one form (status.html's language_form):
    the same page in the chosen language, with everything as it was typed or chosen (_kept).
    Nothing is sent, given, stored or checked, and the one-time keys go back unclaimed: the
    message and the pictures, sent later, are added once, even if the page from before the switch
    sends them too. Pictures chosen but not added cannot be put back in their field, and are not
    added: the language button posts their names only (the form is not multipart), and the page
    names them and asks for them again. Unlike the report form's pictures step, which adds them
    to a draft where they can still be removed, here they would go to our team at once."""
    with language_switched():
        chosen = _pictures_chosen()
        notice = _("Changing the language did not add the pictures you chose (%(names)s). Please choose them "
                   "again and press “%(button)s”.", names=", ".join(chosen),
                   button=_("Add these pictures")) if chosen else None
        return _render_status(report, receipt=receipt, notice=notice, typed=_kept(),
                              form_key=once.posted_key(request.form.get("form_key")),
                              files_key=once.posted_key(request.form.get("files_key")))


def _kept() -> dict:
    """What the page's form holds as typed or chosen: drawn again after a change of language or
    an error, never lost. Only what the page itself asks for."""
    posted = request.form
    kept = {name: posted.get(name, "") for name in ("body", *service.SUPPORT_FIELDS)}
    kept["agree"] = [purpose for purpose in posted.getlist("agree") if purpose in AGREE_FIRST]
    return kept


def _after_action(errors: dict) -> dict:
    """The page's form after an action: everything as typed when it failed; when it was done, the
    part that did it empty again (the message sent, the contact details given with a yes to
    support, the tick of the purpose agreed to) and the other parts as typed, with the message's
    one-time key still unclaimed when the message was not what was sent."""
    if errors:
        return {"typed": _kept()}
    action = request.form.get("action", "")
    kept = _kept()
    if action == "message":
        return {"typed": {**kept, "body": ""}}
    if action.startswith("give:"):
        purpose = action.partition(":")[2]
        kept["agree"] = [agreed for agreed in kept["agree"] if agreed != purpose]
        if purpose == "wants_support":
            kept.update(dict.fromkeys(service.SUPPORT_FIELDS, ""))
    return {"typed": kept, "form_key": once.posted_key(request.form.get("form_key"))}


PICTURES_NAMED = 10  # pictures named on the page after a change of language; more are left unnamed


def _pictures_chosen() -> list[str]:
    """The names of pictures chosen but not added, as a change of language posts them: names
    only (a page whose form is not multipart), or files (one that is); at most a few, shortened."""
    names = [name for name in request.form.getlist("files") if name]
    names += [f.filename for f in request.files.getlist("files") if f and f.filename]
    return [name[:80] for name in names[:PICTURES_NAMED]]



def _reporter_action(report: Report, by_receipt: bool) -> tuple[str | None, dict]:
    """Handle what a reporter asked for on their status page (reply, add photos, withdraw consent)."""
    action = request.form.get("action", "view")
    if action == "message":
        body = (request.form.get("body") or "").strip()
        if not body:
            return None, {"body": [_("Please write something first.")]}
        if len(body) > MAX_MESSAGE:
            return None, {"body": [_("Please keep this under %(count)d characters (it has %(length)d).",
                                     count=MAX_MESSAGE, length=len(body))]}
        with db.atomic():  # the form's one-time key (core.once) and the message commit together
            if not once.claim(once.posted_key(request.form.get("form_key"))):
                return _("This message was already sent: we did not add it twice."), {}
            service.add_message(report, "from_reporter", body)
            if report.status == "needs_info":
                service.reporter_answered(report)
        return _("Thank you. Your message is sent; our team will read it."), {}
    if action == "upload":
        added = _store_uploads(report=report, form_key=once.posted_key(request.form.get("files_key")))
        if added.repeat:
            return _already_added(), {}
        if added.count:
            service.reporter_added_files(report)
        if added.errors:
            return None, {"files": added.errors}
        return _("Thank you. Your photos are added to your report."), {}
    if action.startswith("give:"):
        purpose = action.partition(":")[2]
        if purpose not in PURPOSES:
            return None, {}
        if purpose in AGREE_FIRST and purpose not in request.form.getlist("agree"):  # the tick of this purpose
            return None, {f"agree-{purpose}": [_("Please tick the box to say you agree, then say yes.")]}
        contact = None
        if purpose == "wants_support":
            contact, errors = _support_contact(request.form)
            if errors:
                return None, errors
        user = current_user._get_current_object() if current_user.is_authenticated and not by_receipt else None
        if service.give_consent(report, purpose, user=user, contact=contact):
            return _("Done. You said yes to: %(purpose)s.", purpose=purpose_short_labels()[purpose]), {}
        return None, {}
    if action.startswith("withdraw:"):
        purpose = action.partition(":")[2]
        if purpose in PURPOSES and service.withdraw_consent(report, purpose, by="reporter"):
            return _("Done. We will no longer use your report for: %(purpose)s.",
                     purpose=purpose_short_labels()[purpose]), {}
        return None, {}
    return None, {}


# Something shared with the police cannot always be taken back: the page asks for a tick first, and
# so does the server (the browser's "required" is not a guard).
AGREE_FIRST = ("police_intelligence", "police_report")


def _support_contact(posted) -> tuple[dict | None, dict]:
    """The safe contact details typed with a later yes to support, checked as the API checks them."""
    from marshmallow import ValidationError

    from plugins.reporting.schemas import SupportContactSchema

    raw = {name: (posted.get(name) or "").strip() or None for name in service.SUPPORT_FIELDS}
    raw["support_may_leave_message"] = {"yes": True, "no": False}.get(posted.get("support_may_leave_message"))
    try:
        return SupportContactSchema().load(raw), {}
    except ValidationError as exc:
        return None, {name: list(messages) if isinstance(messages, list) else [str(messages)]
                      for name, messages in exc.messages.items()}


def _render_status(report: Report, receipt: str | None = None, notice: str | None = None,
                   errors: dict | None = None, typed: dict | None = None, form_key: str | None = None,
                   files_key: str | None = None):
    """The reporter's page. typed: what its form holds (_kept, through an error or a change of
    language); form_key and files_key: the message's and the pictures' one-time keys, when the page
    is drawn again for the same message and pictures."""
    config = service.settings()
    return render_template(
        "reporting/status.html",
        report=report,
        receipt=receipt,
        notice=notice,
        errors=errors or {},
        typed=typed or {"agree": []},
        form_key=form_key or once.new_key(),
        files_key=files_key or once.new_key(),  # "Add these pictures" has its own: a message is not pictures
        messages=service.reporter_messages(report),
        consents=service.consent_states(report),
        file_count=Attachment.select().where(Attachment.report == report).count(),
        max_files=config["max_attachments"],
        accept=ACCEPT_ATTRIBUTE,
        statuses=STATUSES,
    ), 422 if errors else 200


# -- following up: signed-in reporters ---------------------------------------------------------------


@bp.route("/mine")
@requires(SIGNED_IN)
def mine():
    return render_template("reporting/mine.html", reports=service.reports_of(current_user))


@bp.route("/mine/<reference>", methods=["GET", "POST"])
@requires(SIGNED_IN)
def my_report(reference: str):
    found = Report.get_or_none((Report.reference == reference) & (Report.reporter == current_user.id))
    if found is None:
        abort(404)
    if request.method == "POST":
        if request.form.get("action") == "language":
            return _language_switched(found)  # drawn here, not redirected: what was typed is kept
        notice, errors = _reporter_action(found, by_receipt=False)
        # Drawn here, not redirected, as for a receipt holder: the other parts' input stays.
        return _render_status(found, notice=notice, errors=errors, **_after_action(errors))
    return _render_status(found)
