"""WTForms fields the platform's forms share, so that one kind of question is asked one way.

CheckboxesField: "tick all that apply", one box per choice. core/templates/macros.html renders it
as a fieldset whose legend is the field's label, each box before its own label.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget


class CheckboxesField(SelectMultipleField):
    """Tick boxes for a list of choices.

    A value that is not among the choices (a page from before a choice was removed, or a forged
    request) is refused with choice_message, in the form's own words; the value is never repeated
    back, as WTForms' own message would. validate_choice=False leaves the check to the form.
    """

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def __init__(self, label=None, validators=None, choice_message=None, **kwargs):
        self.choice_message = choice_message or _l("Please choose from the options listed.")
        kwargs.setdefault("invalid_value_message", self.choice_message)  # coerce=int given "x"
        super().__init__(label, validators, **kwargs)

    def pre_validate(self, form):
        if not self.validate_choice or not self.data or self.process_errors:
            return
        allowed = {str(choice.value) for choice in self.choices or []}
        if any(str(value) not in allowed for value in self.data):
            raise ValidationError(self.choice_message)
