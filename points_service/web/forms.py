"""WTForms forms of the web face, and the checks of numbers and dates typed into any form.
Field validation here is only about shape; business rules live in the services, whose
errors are shown next to the form."""

from datetime import datetime, time, timedelta

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange
from wtforms.validators import ValidationError as FieldError

from ..codes import normalise_typed
from ..errors import ValidationError
from ..inputs import EARLIEST_TIME, LATEST_TIME, MAX_ID


class LoginForm(FlaskForm):
    login = StringField(
        _l("User name or mobile number"), filters=[normalise_typed], validators=[DataRequired(), Length(max=64)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


class RegistrationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    mobile = StringField(_l("Mobile number"), filters=[normalise_typed], validators=[DataRequired(), Length(max=20)])
    community = SelectField(
        _l("Home community"),
        coerce=int,
        validate_choice=False,
        validators=[DataRequired(), NumberRange(min=1, max=MAX_ID)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    consent = BooleanField(_l("I have read and accept the privacy notice"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=128)])


class ResetPasswordForm(FlaskForm):
    login = StringField(_l("Mobile number or member number"), validators=[DataRequired(), Length(max=40)])
    code = StringField(
        _l("One-time code"), validators=[DataRequired(), Length(max=20)], render_kw={"autocomplete": "one-time-code"}
    )
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=128)])


def within_calendar(form, field):
    """A WTForms validator: a date or time from ``EARLIEST_TIME`` up to ``LATEST_TIME``
    (a year 1 or 1900 is a slip of the keyboard, and cannot be converted to UTC)."""
    value = field.data
    if value is None:
        return
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    if not EARLIEST_TIME <= moment < LATEST_TIME:
        raise FieldError(
            gettext(
                "Enter a date from %(first)s to %(last)s.",
                first=EARLIEST_TIME.date().isoformat(),
                last=(LATEST_TIME - timedelta(days=1)).date().isoformat(),
            )
        )


def whole_number(values, name, label, *, required=True, default=None, minimum=1, maximum=MAX_ID):
    """The whole number in form or query field ``name`` (``default`` when it is empty and not ``required``).

    Digits only (full-width digits too): ``1.5`` is refused rather than cut to 1, and a
    number outside ``minimum``..``maximum`` (an id the database cannot hold) never gets
    further. A ``ValidationError`` names the field by its ``label``."""
    text = (values.get(name) or "").strip()
    if not text and not required:
        return default
    if text.isdecimal() and len(text) <= len(str(maximum)):
        number = int(text)
        if minimum <= number <= maximum:
            return number
    raise ValidationError(
        _l("%(label)s must be a whole number from %(minimum)s to %(maximum)s."),
        label=label,
        minimum=minimum,
        maximum=maximum,
        details={"field": name},
    )
