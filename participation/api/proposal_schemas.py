"""Marshmallow schemas of the token paths: proposals as their owner or the session's staff see them."""
from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from participation.api.schemas import UtcDateTime, codes
from participation.models import ProposalSource, ProposalStatus

MAX_TEXT = 20_000  # far above the form's own limits, which name the field with their message


class StrictInteger(ma.fields.Integer):
    """A JSON number that is a whole number; `true`, `"15000000"` and `1.5` are refused."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, error_messages={
            "invalid": _l("Enter a whole number, as a JSON number without separators.")}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictNumber(ma.fields.Float):
    """A JSON number (whole or with decimals); `true`, `"1,5"` and NaN are refused."""

    def __init__(self, **kwargs):
        super().__init__(allow_nan=False, error_messages={
            "invalid": _l("Enter a number, as a JSON number such as 20 or 1.5."),
            "special": _l("Enter a number, as a JSON number such as 20 or 1.5.")}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)


class StrictString(ma.fields.String):
    """A JSON string of bounded length (the form then applies its own limits and messages)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("invalid", _l("Enter text, as a JSON string."))
        super().__init__(validate=ma.validate.Length(max=MAX_TEXT, error=_l("The text is too long.")), **kwargs)


class NamedSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    name = ma.fields.String(required=True)


class ProposalSessionSchema(ma.Schema):
    id = ma.fields.Integer(required=True)
    title = ma.fields.String(required=True)
    status = ma.fields.String(required=True, attribute="status.value")


class AttachmentSchema(ma.Schema):
    """What is said of an attached file; its content is never served by the API."""

    name = ma.fields.String(required=True, attribute="attachment_name")
    type = ma.fields.String(required=True, attribute="attachment_type")
    size = ma.fields.Integer(required=True, attribute="attachment_size")


class Attachment(ma.fields.Nested):
    def get_value(self, obj, attr, accessor=None, default=ma.missing):
        return obj if obj.attachment_id is not None else None


class ProposalSchema(ma.Schema):
    """A proposal with its status and fields (unset numbers of a draft are null)."""

    id = ma.fields.Integer(required=True)
    session = ma.fields.Nested(ProposalSessionSchema, required=True, attribute="themed_session")
    business = ma.fields.Nested(NamedSchema, required=True)
    receipt_number = ma.fields.String(required=True, allow_none=True,
                                      metadata={"description": "Given when first submitted; null for a draft"})
    status = ma.fields.String(required=True, attribute="status.value", validate=codes(ProposalStatus))
    source = ma.fields.String(required=True, attribute="source.value", validate=codes(ProposalSource))
    title = ma.fields.String(required=True)
    problem = ma.fields.String(required=True)
    description = ma.fields.String(required=True)
    category = ma.fields.Nested(NamedSchema, required=True, allow_none=True)
    estimated_cost = ma.fields.Integer(required=True, allow_none=True, metadata={"description": "Whole Rupiah"})
    beneficiaries = ma.fields.Integer(required=True, allow_none=True)
    jobs_created = ma.fields.Integer(required=True, allow_none=True)
    volume = ma.fields.Float(required=True, allow_none=True,
                             metadata={"description": "How much the cost buys (SIPD's volume), e.g. 20"})
    satuan = ma.fields.String(required=True, metadata={"description": "The unit of the volume, e.g. paket"})
    kelurahan = ma.fields.String(required=True)
    kecamatan = ma.fields.String(required=True)
    kelurahan_code = ma.fields.String(required=True, allow_none=True)
    attachment = Attachment(AttachmentSchema, required=True, allow_none=True)
    created_at = UtcDateTime(required=True)
    updated_at = UtcDateTime(required=True)
    submitted_at = UtcDateTime(required=True, allow_none=True)


class NewProposalSchema(ma.Schema):
    """A new proposal, as the web form takes it: a draft needs only a title, `submitted` everything.

    Types are checked here (a number where text belongs, or text where a whole number belongs,
    is a 422 naming the field); the content then goes through the web form's own checks, with
    the same messages. With CITY_CODE set, the place is `kelurahan_code` (the Kemendagri code)
    instead of `kelurahan` and `kecamatan`; left out, the business's own place is used.
    """

    class Meta:
        unknown = ma.RAISE

    error_messages = {"unknown": _l("This field is not part of a proposal.")}

    title = StrictString(required=True, error_messages={"required": _l("Enter a title.")}, metadata={"description": "5 to 200 characters"})
    problem = StrictString(load_default=None, allow_none=True)
    description = StrictString(load_default=None, allow_none=True)
    category_id = StrictInteger(load_default=None, allow_none=True,
                                metadata={"description": "One of the session's categories (GET /sessions/{id})"})
    estimated_cost = StrictInteger(load_default=None, allow_none=True, metadata={"description": "Whole Rupiah"})
    beneficiaries = StrictInteger(load_default=None, allow_none=True)
    jobs_created = StrictInteger(load_default=None, allow_none=True)
    volume = StrictNumber(load_default=None, allow_none=True,
                          metadata={"description": "How much the cost buys, above 0 with at most two decimals"})
    satuan = StrictString(load_default=None, allow_none=True, metadata={"description": "At most 50 characters"})
    kelurahan = StrictString(load_default=None, allow_none=True)
    kecamatan = StrictString(load_default=None, allow_none=True)
    kelurahan_code = StrictString(load_default=None, allow_none=True)
    status = ma.fields.String(load_default=ProposalStatus.DRAFT.value,
                              validate=ma.validate.OneOf([ProposalStatus.DRAFT.value, ProposalStatus.SUBMITTED.value],
                                                         error=_l("Use \"draft\" or \"submitted\".")),
                              error_messages={"invalid": _l("Enter text, as a JSON string.")},
                              metadata={"description": "`draft` (the default) saves it; `submitted` submits it at once"})
