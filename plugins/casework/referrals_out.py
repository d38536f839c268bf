"""Referrals out to other services, each with the client's own consent naming what is shared.

The worker records a referral only with the client's agreement (consent_at) to share exactly what
`shared` says with that one service. Recording it is making it: a Disclosure row goes on the
client's ledger at once (who received what, under which consent), which the client sees on their
page. The client (on their page) or the worker (on the client's word) can withdraw the consent:
the referral is marked, the ledger shows it, and its printable page is no longer offered.

The printable referral is for a service that is not on the platform: it carries the case
reference, the service, what the client agreed to share and the date of the consent, and never the
client's legal name, contact details or anything the consent does not name.
"""

from __future__ import annotations

from marshmallow import fields, validate

from core.api import ApiSchema
from core.audit import record
from core.db import db, lock_row, utcnow
from plugins.casework import _l
from plugins.casework.models import Case, Disclosure, ReferralOut
from plugins.casework.sections import section
from plugins.casework.timeline import add_event

MAX_NAME = 200
MAX_SHARED = 4000
MAX_NOTE = 10_000
CONSENT = "referral_out"

SERVICE_KINDS = ("health", "sexual_health", "mental_health", "housing", "legal", "immigration", "substances",
                 "money", "counselling", "sex_worker_project", "other")
OUTCOMES = ("accepted", "waiting_list", "declined", "no_response", "client_stopped", "completed")


def service_kind_labels() -> dict:
    return {
        "health": _l("Health"),
        "sexual_health": _l("Sexual health"),
        "mental_health": _l("Mental health"),
        "housing": _l("Housing"),
        "legal": _l("Legal advice"),
        "immigration": _l("Immigration advice"),
        "substances": _l("Drugs and alcohol"),
        "money": _l("Money and benefits"),
        "counselling": _l("Counselling"),
        "sex_worker_project": _l("Another sex worker project"),
        "other": _l("Other"),
    }


def outcome_labels() -> dict:
    return {
        "accepted": _l("Accepted by the service"),
        "waiting_list": _l("On a waiting list"),
        "declined": _l("Declined by the service"),
        "no_response": _l("No response"),
        "client_stopped": _l("The client decided not to go ahead"),
        "completed": _l("Support given"),
    }


def event_labels() -> dict:
    return {
        "referral_out": _l("Referral to another service made"),
        "referral_out_outcome": _l("Outcome of a referral recorded"),
        "referral_out_withdrawn": _l("Consent to a referral withdrawn"),
    }


def _text(max_length: int, multiline: bool = False, required: bool = False):
    from core.fields import Text

    if required:
        return Text(max_length=max_length, multiline=multiline, required=True, allow_none=False)
    return Text(max_length=max_length, multiline=multiline)


class ReferralOutInSchema(ApiSchema):
    service_kind = fields.String(required=True, validate=validate.OneOf(SERVICE_KINDS),
                                 metadata={"enum": list(SERVICE_KINDS)})
    service_name = _text(MAX_NAME, required=True)
    shared = _text(MAX_SHARED, multiline=True, required=True)
    client_agreed = fields.Boolean(required=True, validate=validate.Equal(True), metadata={
        "description": "The client agreed to share exactly `shared` with this service. Must be true."})


class OutcomeInSchema(ApiSchema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES), metadata={"enum": list(OUTCOMES)})
    note = _text(MAX_NOTE, multiline=True)


def create(case: Case, actor, data: dict) -> ReferralOut:
    """Record a referral made with the client's consent; its Disclosure goes on the ledger."""
    if data.get("client_agreed") is not True:
        raise ValueError("a referral out needs the client's consent")
    now = utcnow()
    actor_id = getattr(actor, "id", actor)
    with db.atomic():
        referral = ReferralOut.create(case=case, by=actor_id, service_kind=data["service_kind"],
                                      service_name=data["service_name"], shared=data["shared"], consent_at=now,
                                      sent_at=now)
        Disclosure.create(case=case, by=actor_id, recipient=data["service_name"], what=data["shared"],
                          consent=CONSENT, referral_out=referral)
        add_event(case, "referral_out", actor, detail=referral.service_kind, row_id=referral.id)
        record("case.referral_out", target=case.target(), actor_id=actor_id)
    return referral


def set_outcome(referral: ReferralOut, actor, outcome: str, note: str | None) -> ReferralOut:
    with db.atomic():
        lock_row(ReferralOut, referral.id)
        ReferralOut.update(outcome=outcome, outcome_note=note).where(ReferralOut.id == referral.id).execute()
        add_event(referral.case, "referral_out_outcome", actor, detail=outcome, row_id=referral.id)
        record("case.referral_out_outcome", target=referral.case.target(), actor_id=getattr(actor, "id", actor))
    return ReferralOut.get_by_id(referral.id)


def withdraw(referral: ReferralOut, actor=None, by_client: bool = False) -> bool:
    """The client withdraws their consent to this referral; False when it already was."""
    with db.atomic():
        lock_row(ReferralOut, referral.id)
        current = ReferralOut.get_by_id(referral.id)
        if current.consent_withdrawn_at is not None:
            return False
        ReferralOut.update(consent_withdrawn_at=utcnow()).where(ReferralOut.id == referral.id).execute()
        add_event(current.case, "referral_out_withdrawn", None if by_client else actor,
                  detail="by_client" if by_client else "by_worker", row_id=current.id)
        record("case.referral_out_withdrawn", target=current.case.target(), actor_id=getattr(actor, "id", actor))
    return True


def of_case(case: Case) -> list[ReferralOut]:
    return list(ReferralOut.select().where(ReferralOut.case == case.id).order_by(ReferralOut.created_at.desc(),
                                                                               ReferralOut.id.desc()))


def get_for_case(case: Case, referral_id: int) -> ReferralOut | None:
    return ReferralOut.get_or_none((ReferralOut.id == referral_id) & (ReferralOut.case == case.id))


def ledger(case: Case) -> list[Disclosure]:
    """Who received what about the client, newest first (referrals out, evidence packs...)."""
    return list(Disclosure.select().where(Disclosure.case == case.id).order_by(Disclosure.created_at.desc(),
                                                                             Disclosure.id.desc()))


def consent_labels() -> dict:
    """How each ledger consent code is named to the worker and the client."""
    return {
        CONSENT: _l("Your agreement to this referral"),
        "police_evidence_pack": _l("Your agreement to give the police your evidence pack"),
        "police": _l("Your agreement to share with the police"),
    }


@section("referrals_out", order=80)
def referrals_out_section(case: Case, user) -> dict:
    return {"referrals": of_case(case), "kinds": service_kind_labels(), "outcomes": outcome_labels()}


@section("ledger", order=85)
def ledger_section(case: Case, user) -> dict:
    return {"rows": ledger(case), "consents": consent_labels()}
