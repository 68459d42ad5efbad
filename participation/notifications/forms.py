"""The preferences form on the account page: one choice per kind of message that has choices."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField
from wtforms.validators import InputRequired

from participation.forms import BaseForm, select_choices
from participation.models import NotificationMode
from participation.notifications.preferences import modes_of
from participation.notifications.registry import preferable


class _PreferencesForm(BaseForm):
    kinds: tuple[str, ...] = ()

    def modes(self) -> dict[str, NotificationMode]:
        return {name: NotificationMode(self[name].data) for name in self.kinds}


def preferences_form(user, formdata=None) -> _PreferencesForm:
    """The form for `user`'s kinds (owners' or staff's), filled with their current choices;
    `formdata` None: not bound to the request (the account page shown after another form)."""
    kinds = preferable(staff=user.role.is_staff)

    class PreferencesForm(_PreferencesForm):
        pass

    for registered in kinds:
        setattr(PreferencesForm, registered.name, RadioField(
            registered.label, choices=select_choices([(mode.value, mode.label) for mode in registered.choices]),
            validators=[InputRequired(_l("Choose how you get these messages."))]))
    PreferencesForm.kinds = tuple(registered.name for registered in kinds)
    current = {name: mode.value for name, mode in modes_of(user).items()}
    if formdata is None:
        return PreferencesForm(formdata=None, data=current)
    return PreferencesForm(formdata=formdata)
