"""The rules domain's errors: one tree under ``RulesError``."""

from flask_babel import lazy_gettext as _l

from ..errors import Conflict, NotFound, PointsError, ValidationError


class RulesError(PointsError):
    code = "rules_error"
    default_message = _l("The rule table could not be used.")


class InvalidRuleSet(ValidationError, RulesError):
    code = "invalid_rule_set"
    default_message = _l("The rule table is not valid.")


class NoApplicableRuleSet(Conflict, RulesError):
    code = "no_rule_set"
    default_message = _l("No published rule table applies to %(organization)s on %(date)s.")


class CategoryNotRated(ValidationError, RulesError):
    code = "category_not_rated"
    default_message = _l(
        "The rule table %(name)s (version %(version)s) has no rate for the category %(category)s and no default "
        "rate. An administrator adds a rate for it (or a default rate) in a new version of the table "
        "(rules-export %(rule_set_id)s, edit, rules-import --publish); then approve the record again."
    )


class RuleSetNotFound(NotFound, RulesError):
    code = "rule_set_not_found"
    default_message = _l("That rule table does not exist.")


class RuleSetNotEditable(Conflict, RulesError):
    code = "rule_set_not_editable"
    default_message = _l("Only a draft can be changed; version %(version)s is %(status)s. Copy it into a new draft.")


class CategoryNotFound(NotFound, RulesError):
    code = "category_not_found"
    default_message = _l("That service category does not exist.")


class DraftChanged(Conflict, RulesError):
    code = "rule_set_changed"
    default_message = _l(
        "This draft was changed since you opened it (now revision %(revision)s); nothing was saved. "
        "Open it again to see the changes, then make yours."
    )


class PublicationPending(Conflict, RulesError):
    code = "rule_set_publication_pending"
    default_message = _l(
        "A request to publish version %(version)s is waiting for review, so the draft cannot change; "
        "withdraw the request first."
    )
