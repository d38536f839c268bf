"""The form partners and volunteers fill in to list a drop-in."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from redumbrella_dropins import _l


class DropInForm(FlaskForm):
    name = StringField(
        _l("Name of the service"),
        validators=[DataRequired(_l("Please enter a name.")), Length(max=120, message=_l("Please shorten this."))],
    )
    area = StringField(
        _l("Town or district"),
        validators=[DataRequired(_l("Please enter an area.")), Length(max=80, message=_l("Please shorten this."))],
    )
    opening_times = TextAreaField(_l("Opening times"), validators=[Length(max=500, message=_l("Please shorten this."))])
