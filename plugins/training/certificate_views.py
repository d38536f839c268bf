"""Certificates in the browser (blueprint "training_certificates", under /training/).

Learners (training.learn), their own certificates only (anyone else's is a 404):
/training/certificates                       the list, with what each one's status is
/training/certificates/<id>                  one certificate: enter the name (the first time), then
                                             the printable page, the PDF and the signed file
/training/certificates/<id>/print            the printable page (the browser prints it)
/training/certificates/<id>/certificate.pdf  the PDF, with a QR code to the public page
/training/certificates/<id>/certificate.json the signed file ({payload, signature}) to check offline

Trainers (training.manage): /training/certificates/issued lists issued certificates and opens any
of them; POST /training/certificates/<id>/revoke revokes one with a reason.

Anyone, without signing in: /training/verify (a form) and /training/verify/<code>. An unknown code,
a malformed one and one still waiting for its name get the same 404 page; lookups are counted per
address (a keyed hash) and minute, and over the setting verify_per_minute the answer is 429.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_login import current_user

from core.permissions import PUBLIC, requires, user_has
from plugins.training import _, certificates
from plugins.training.models import Certificate

bp = Blueprint("training_certificates", __name__, url_prefix="/training")

LEARN, MANAGE = "training.learn", "training.manage"
PAGE_SIZE = 50


def status_labels() -> dict[str, str]:
    return {certificates.VALID: _("Valid"), certificates.EXPIRED: _("Expired"),
            certificates.REVOKED: _("Revoked")}


def status_sentence(certificate) -> str:
    status = certificates.status_of(certificate)
    if status == certificates.REVOKED:
        return _("This certificate was revoked on %(date)s. It is no longer valid.",
                 date=format_date(certificate.revoked_at.date(), "long"))
    if status == certificates.EXPIRED:
        return _("This certificate expired on %(date)s.", date=format_date(certificate.expires_on, "long"))
    return _("This certificate is valid.")


def _settings() -> dict:
    from core.settings import plugin_settings

    return plugin_settings("training")


def _is_trainer() -> bool:
    return user_has(current_app, current_user, MANAGE)


def _mine_or_404(certificate_id: int) -> Certificate:
    """The certificate, for its learner or a trainer; a 404 for anyone else, as if it were not there."""
    certificate = Certificate.get_or_none(Certificate.id == certificate_id)
    if certificate is None:
        abort(404)
    if certificate.user_id != current_user.id and not _is_trainer():
        abort(404)
    return certificate


def _signed_or_back(certificate):
    if not certificate.signature:
        return redirect(url_for(".certificate", certificate_id=certificate.id))
    return None


def _fields(certificate) -> dict:
    return json.loads(certificate.payload) if certificate.payload else {}


# -- the learner's pages ------------------------------------------------------------------------------


@bp.route("/certificates")
@requires(LEARN)
def mine():
    rows = list(Certificate.select().where(Certificate.user == current_user.id)
                .order_by(Certificate.issued_on.desc(), Certificate.id.desc()))
    return render_template("training/certificates/mine.html", rows=rows, status_of=certificates.status_of,
                           labels=status_labels())


@bp.route("/certificates/<int:certificate_id>", methods=["GET", "POST"])
@requires(LEARN)
def certificate(certificate_id: int):
    cert = _mine_or_404(certificate_id)
    error, typed = None, None
    if request.method == "POST":
        if cert.user_id != current_user.id:
            abort(404)  # only the learner names their certificate
        typed = request.form.get("learner_name", "")
        try:
            cert = certificates.set_name(cert, typed, current_user.id)
        except certificates.CertificateError as problem:
            error = str(problem)
        else:
            flash(_("Your certificate is ready."), "success")
            return redirect(url_for(".certificate", certificate_id=cert.id))
    suggested = typed if typed is not None else (current_user.working_name or "")
    questionnaire = None
    if cert.user_id == current_user.id and cert.enrolment_id:
        from plugins.training.feedback_views import pending_for
        from plugins.training.models import Enrolment

        enrolment = Enrolment.get_or_none(Enrolment.id == cert.enrolment_id)
        if enrolment is not None and "after" in pending_for(enrolment):
            questionnaire = url_for("training_feedback.answer", course_id=enrolment.course_id, kind="after")
    return render_template("training/certificates/certificate.html", cert=cert, fields=_fields(cert),
                           status=certificates.status_of(cert), labels=status_labels(),
                           sentence=status_sentence(cert) if cert.signature else "", error=error,
                           suggested=suggested, is_owner=cert.user_id == current_user.id,
                           is_trainer=_is_trainer(), questionnaire=questionnaire), (422 if error else 200)


@bp.route("/certificates/<int:certificate_id>/print")
@requires(LEARN)
def printable(certificate_id: int):
    cert = _mine_or_404(certificate_id)
    back = _signed_or_back(cert)
    if back is not None:
        return back
    import segno  # only this page and the PDF draw a QR code: not loaded by every process

    qr = segno.make(_fields(cert)["verify_url"], error="m").svg_data_uri(scale=4, border=2)
    return render_template("training/certificates/print.html", cert=cert, fields=_fields(cert), qr=qr,
                           sentence=status_sentence(cert), status=certificates.status_of(cert))


@bp.route("/certificates/<int:certificate_id>/certificate.pdf")
@requires(LEARN)
def pdf(certificate_id: int):
    cert = _mine_or_404(certificate_id)
    back = _signed_or_back(cert)
    if back is not None:
        return back
    from plugins.training.certificate_pdf import render

    status = certificates.status_of(cert)
    data = render(cert, status_text="" if status == certificates.VALID else status_sentence(cert))
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="certificate-{cert.code}.pdf"'})


@bp.route("/certificates/<int:certificate_id>/certificate.json")
@requires(LEARN)
def signed_file(certificate_id: int):
    cert = _mine_or_404(certificate_id)
    back = _signed_or_back(cert)
    if back is not None:
        return back
    return Response(certificates.document(cert), mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="certificate-{cert.code}.json"'})


# -- trainers ----------------------------------------------------------------------------------------


@bp.route("/certificates/issued")
@requires(MANAGE)
def issued():
    page = max(1, min(request.args.get("page", 1, type=int) or 1, 100_000))
    query = Certificate.select().order_by(Certificate.id.desc())
    total = query.count()
    rows = list(query.paginate(page, PAGE_SIZE))
    return render_template("training/certificates/issued.html", rows=rows, page=page, total=total,
                           pages=max(1, -(-total // PAGE_SIZE)), status_of=certificates.status_of,
                           labels=status_labels())


@bp.route("/certificates/<int:certificate_id>/revoke", methods=["POST"])
@requires(MANAGE)
def revoke(certificate_id: int):
    cert = Certificate.get_or_none(Certificate.id == certificate_id)
    if cert is None:
        abort(404)
    try:
        certificates.revoke(cert, request.form.get("reason", ""), current_user.id)
    except certificates.CertificateError as problem:
        flash(str(problem), "error")
    else:
        flash(_("The certificate is revoked. Its public page now says so."), "success")
    return redirect(url_for(".certificate", certificate_id=cert.id))


# -- the public verification page ----------------------------------------------------------------------


def lookup(code_text: str | None):
    """Count the lookup, then find the certificate. Raises certificates.Throttled."""
    certificates.count_lookup(request.remote_addr, int(_settings().get("verify_per_minute") or 30))
    return certificates.find(code_text)


def _throttled_page():
    response = render_template("training/certificates/verify.html", outcome="throttled")
    return response, 429, {"Retry-After": "60"}


@bp.route("/verify")
@requires(PUBLIC)
def verify():
    if "code" not in request.args:
        return render_template("training/certificates/verify.html", outcome=None)
    return _verify(request.args.get("code", ""))


@bp.route("/verify/<path:code>")
@requires(PUBLIC)
def verify_code(code: str):
    return _verify(code)


def _verify(code_text: str):
    try:
        cert = lookup(code_text)
    except certificates.Throttled:
        return _throttled_page()
    if cert is None:
        return render_template("training/certificates/verify.html", outcome="unknown"), 404
    view = certificates.public_view(cert)
    return render_template("training/certificates/verify.html", outcome="found", cert=cert,
                           fields=view["certificate"], status=view["status"], labels=status_labels(),
                           sentence=status_sentence(cert), signature=view["signature"])
