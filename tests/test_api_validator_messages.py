"""marshmallow's validators speak the reader's language too (core.api._translated): a choice not
offered, a number out of range, a text or a list too long, in API answers, the report form and the
settings pages, never "Must be one of: phone, text, ..." in English with internal codes."""

from __future__ import annotations

import pytest
from marshmallow import fields, validate

from core.api import ApiSchema


class Sample(ApiSchema):
    way = fields.String(validate=validate.OneOf(("phone", "text")))
    own = fields.String(validate=validate.OneOf(("a", "b"), error="Custom words stay."))
    days = fields.Integer(validate=validate.Range(min=1, max=30))
    name = fields.String(validate=validate.Length(max=5))
    names = fields.List(fields.String(), validate=validate.Length(max=2))


BAD = {"way": "pigeon", "own": "c", "days": 99, "name": "x" * 6, "names": ["a", "b", "c"]}


@pytest.mark.parametrize(("language", "expected"), [
    ("en", {"way": "Please choose one of the listed answers.", "days": "Please give a number from 1 to 30.",
            "name": "Please keep this to 5 characters or fewer.", "names": "Please give at most 2."}),
    ("es", {"way": "Elige una de las respuestas de la lista.", "days": "Pon un número de 1 a 30.",
            "name": "Usa como máximo 5 caracteres.", "names": "Pon como máximo 2."}),
])
def test_validator_messages_are_in_the_readers_language(app, language, expected):
    with app.test_request_context(headers={"Accept-Language": language}):
        errors = Sample().validate(BAD)
    assert {key: errors[key] for key in expected} == {key: [text] for key, text in expected.items()}
    assert errors["own"] == ["Custom words stay."]  # a schema's own message is kept as written
    assert "pigeon" not in str(errors) and "phone" not in str(errors)


def test_two_requests_in_two_languages_do_not_share_messages(app):
    """Validators are replaced on each schema instance, never changed on the class."""
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert Sample().validate({"days": 0})["days"] == ["Pon un número de 1 a 30."]
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert Sample().validate({"days": 0})["days"] == ["Please give a number from 1 to 30."]
