"""The question a paper or walk-in form asks when its business matched only one with an owner's account."""
from __future__ import annotations

from flask_babel import gettext as _

from participation.extensions import db
from participation.intake.services import OwnedBusinessMatch
from participation.models import Business


def ask_about_owner(form, match: OwnedBusinessMatch) -> dict:
    """Re-render a paper or walk-in form with the account its business matched and the choice to make.

    The confirmation is bound to this business by its id, so a later, different match asks again.
    """
    business = db.session.get(Business, match.details["business_id"])
    form.owner_business_id.data = str(business.id)
    form.owner_match.data = None
    form.form_errors.append(_("The NIB and name match only a business that has an account. Check with the "
                              "person, then choose below."))
    return {"business": business, "owner_name": business.user.name, "masked_email": business.user.masked_email}


def separate_registration_notice(business: Business) -> str:
    """What the facilitator is told after registering a business apart from an account's."""
    return _("%(business)s is registered as a separate business, without an account. The session's staff "
             "compare it with the account's business under Changes of business identity.", business=business.name)
