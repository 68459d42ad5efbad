"""Forms for the roster, blank paper forms and file imports."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms.validators import InputRequired, NumberRange

from participation.forms import BaseForm, SmallIntegerField

MAX_IMPORT_BYTES = 8 * 1024 * 1024 - 64 * 1024  # under MAX_CONTENT_LENGTH with room for the form


class ImportForm(BaseForm):
    """A CSV or XLSX file to import."""

    file = FileField(_l("CSV or XLSX file"), validators=[InputRequired(_l("Choose a file."))],
                     description=_l("The first row names the columns; see the template."))


class BlankFormsForm(BaseForm):
    """How many numbered blank proposal forms to print."""

    count = SmallIntegerField(_l("Number of forms"), default=20, validators=[
        InputRequired(_l("Enter how many forms to print.")),
        NumberRange(min=1, max=500, message=_l("Enter 1 to 500."))])


def read_upload(form: ImportForm) -> tuple[str, bytes] | None:
    """The uploaded file's name and bytes; None, with the reason on the form, when there is none or it is too large."""
    upload = form.file.data
    if not upload or not getattr(upload, "filename", None):
        form.file.errors.append(_("Choose a file."))
        return None
    data = upload.stream.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        form.file.errors.append(_("The file is too large for the web upload; use the command line."))
        return None
    return upload.filename, data
