"""The report form's "not sent yet" and "Delete your answers?" pages post what their buttons need
(the step, the page, the CSRF token), from one macro."""

from __future__ import annotations

from helpers import enable
from test_reporting_common import FORM, WHAT, step


def _page(response) -> str:
    return response.get_data(as_text=True)


# -- the pages without the step's fields -----------------------------------------------------------


def test_the_resume_and_confirm_pages_post_their_page_and_step(app):
    enable(app, "reporting")
    client = app.test_client()
    step(client, WHAT, step_code="what")
    resume = _page(client.get(FORM))  # a later visit: asks first
    assert "You have a report that is not sent yet" in resume
    for hidden in ('name="step" value="when"', 'name="page" value="resume"', 'name="csrf_token"'):
        assert hidden in resume
    confirm = _page(step(client, {"page": "resume"}, action="discard", step_code="when"))
    assert "Delete your answers?" in confirm
    for hidden in ('name="step" value="when"', 'name="page" value="confirm"', 'name="csrf_token"'):
        assert hidden in confirm
    kept = _page(step(client, {"page": "confirm"}, action="discard_no", step_code="when"))
    assert "When and where" in kept
