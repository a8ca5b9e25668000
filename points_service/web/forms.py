"""WTForms forms of the web face. Field validation here is only about shape; business
rules live in the services, whose errors are shown next to the form."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length

from ..codes import normalise_typed


class LoginForm(FlaskForm):
    login = StringField(
        _l("User name or mobile number"), filters=[normalise_typed], validators=[DataRequired(), Length(max=64)]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])


class RegistrationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    mobile = StringField(_l("Mobile number"), filters=[normalise_typed], validators=[DataRequired(), Length(max=20)])
    community = SelectField(_l("Home community"), coerce=int, validate_choice=False, validators=[DataRequired()])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=128)])
    consent = BooleanField(_l("I have read and accept the privacy notice"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=128)])
    confirm = PasswordField(_l("New password again"), validators=[DataRequired(), Length(max=128)])
