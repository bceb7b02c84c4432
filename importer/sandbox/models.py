"""The registry's slice of an OpenSPP 17 server: models, fields and their SQL storage.

Why a table of definitions instead of classes: the sandbox answers `fields_get`,
validates values, builds SQL and reads records from the same description, so the
field types the importer discovers are exactly the ones the sandbox enforces.
Field names, types, labels and flags follow the recorded `fields_get` answers of a
real OpenSPP 17 server (the registry slice, then the wider registry: tags, phones,
relationships, bank accounts, areas; see the README's sandbox section).

A deployment adds its own fields (manual `ir.model.fields`, see `custom_fields.py`),
so each sandbox database has its own copy of the models that gained fields. `MODELS`
is a view of the models of the database the current call runs against (`using`);
outside a call it shows the shipped definitions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Field:
    """One field as `fields_get` describes it, plus how the sandbox stores it."""

    name: str
    type: str
    string: str
    relation: str | None = None
    inverse: str | None = None  # one2many: the many2one on the comodel
    rel_table: str | None = None  # many2many: link table, own column, other column
    rel_cols: tuple[str, str] | None = None
    required: bool = False
    readonly: bool = False
    store: bool = True
    computed: bool = False  # value produced by the sandbox, never written by a caller
    selection: tuple[tuple[str, str], ...] | None = None  # static selection
    dynamic_selection: str | None = None  # name of a selection computed from data
    default: object = None  # a value, or "today" / "now"
    size: int | None = None  # char: the length fields_get announces
    help: str = ""
    manual: bool = False  # a deployment's own field (ir.model.fields, state "manual")

    @property
    def column(self) -> bool:
        """Whether the field has a column in the model's own table."""
        return self.store and self.type not in ("one2many", "many2many")


@dataclass(eq=False)  # hashed by identity: per-call caches key on the model object
class Model:
    """One Odoo model of the slice."""

    name: str
    description: str
    order: str
    rec_name: str | None
    fields: dict[str, Field]
    display_sql: str | None = None  # SQL over alias t when display_name is not rec_name

    @property
    def table(self) -> str:
        return self.name.replace(".", "_")

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields.values() if f.column and f.name != "id"]


def _magic() -> list[Field]:
    """The fields every Odoo model has (as the transcript's fields_get shows them)."""
    return [
        Field("id", "integer", "ID", readonly=True),
        Field("display_name", "char", "Display Name", readonly=True, store=False, computed=True),
        Field("create_uid", "many2one", "Created by", relation="res.users", readonly=True),
        Field("create_date", "datetime", "Created on", readonly=True),
        Field("write_uid", "many2one", "Last Updated by", relation="res.users", readonly=True),
        Field("write_date", "datetime", "Last Updated on", readonly=True),
    ]


def _model(
    name: str,
    description: str,
    order: str,
    rec_name: str | None,
    fields: list[Field],
    display_sql: str | None = None,
) -> Model:
    return Model(name, description, order, rec_name, {f.name: f for f in [*fields, *_magic()]}, display_sql)


MEMBERSHIP_KIND_REL = "g2p_group_membership_g2p_group_membership_kind_rel"
TAGS_REL = "g2p_registrant_tags_res_partner_rel"
PARTNER_TYPES = (("g", "Group"), ("i", "Individual"))
# The types a deployment's own field may have in the sandbox (what the custom-fields screen offers
# for registrant fields; one2many aside).
FIELD_TYPES = tuple(
    (t, t.capitalize())
    for t in (
        "boolean",
        "char",
        "date",
        "datetime",
        "float",
        "integer",
        "many2many",
        "many2one",
        "selection",
        "text",
    )
)

_BASE: dict[str, Model] = {
    m.name: m
    for m in [
        _model(
            "res.partner",
            "Contact",
            "name asc, id desc",
            "name",
            [
                Field("name", "char", "Name"),
                Field("active", "boolean", "Active", default=True),
                Field("is_registrant", "boolean", "Registrant"),
                Field("is_group", "boolean", "Group"),
                Field("given_name", "char", "Given Name"),
                Field("family_name", "char", "Family Name"),
                Field("addl_name", "char", "Additional Name"),
                Field("birthdate", "date", "Date of Birth"),
                Field("birth_place", "char", "Birth Place"),
                Field("birthdate_not_exact", "boolean", "Approximate Birthdate"),
                Field("age", "char", "Age", readonly=True, store=False, computed=True, size=50),
                Field("gender", "selection", "Gender", dynamic_selection="gender"),
                Field("kind", "many2one", "Kind", relation="g2p.group.kind"),
                Field("is_partial_group", "boolean", "Partial Group"),
                Field(
                    "reg_ids",
                    "one2many",
                    "Registrant IDs",
                    relation="g2p.reg.id",
                    inverse="partner_id",
                ),
                Field(
                    "group_membership_ids",
                    "one2many",
                    "Group Members",
                    relation="g2p.group.membership",
                    inverse="group",
                ),
                Field(
                    "individual_membership_ids",
                    "one2many",
                    "Membership to Groups",
                    relation="g2p.group.membership",
                    inverse="individual",
                ),
                Field(
                    "phone_number_ids",
                    "one2many",
                    "Phone Numbers",
                    relation="g2p.phone.number",
                    inverse="partner_id",
                ),
                Field("registration_date", "date", "Registration Date", default="today"),
                Field("phone", "char", "Phone"),
                Field("mobile", "char", "Mobile"),
                Field("email", "char", "Email"),
                Field("income", "float", "Income"),
                Field("occupation", "char", "Occupation"),
                Field("civil_status", "char", "CivilState"),
                Field("address", "text", "Address"),
                Field(
                    "z_ind_grp_num_individuals",
                    "integer",
                    "Number of individuals",
                    readonly=True,
                    computed=True,
                ),
                Field("area_id", "many2one", "Area", relation="spp.area"),
                Field("district", "many2one", "District", relation="g2p.district"),
                Field(
                    "tags_ids",
                    "many2many",
                    "Tags",
                    relation="g2p.registrant.tags",
                    rel_table=TAGS_REL,
                    rel_cols=("res_partner_id", "g2p_registrant_tags_id"),
                ),
                Field("additional_g2p_info", "json", "Additional Information"),
                Field("bank_ids", "one2many", "Banks", relation="res.partner.bank", inverse="partner_id"),
                Field(
                    "related_1_ids",
                    "one2many",
                    "Related to registrant 1",
                    relation="g2p.reg.rel",
                    inverse="source",
                ),
                Field(
                    "related_2_ids",
                    "one2many",
                    "Related to registrant 2",
                    relation="g2p.reg.rel",
                    inverse="destination",
                ),
                Field("disabled", "datetime", "Date Disabled"),
                Field("disabled_reason", "text", "Reason for Disabling"),
                Field("disabled_by", "many2one", "Disabled By", relation="res.users"),
                # Plain contact fields a registry spreadsheet may carry (Odoo's base res.partner).
                Field("ref", "char", "Reference"),
                Field("street", "char", "Street"),
                Field("street2", "char", "Street2"),
                Field("zip", "char", "Zip"),
                Field("city", "char", "City"),
                Field("country_id", "many2one", "Country", relation="res.country"),
                Field(
                    "vat",
                    "char",
                    "Tax ID",
                    help=(
                        "The Tax Identification Number. Values here will be validated based on the "
                        "country format. You can use '/' to indicate that the partner is not subject to tax."
                    ),
                ),
                Field("function", "char", "Job Position"),
                Field("website", "char", "Website Link"),
                Field(
                    "lang",
                    "selection",
                    "Language",
                    selection=(("en_US", "English (US)"),),
                    help=(
                        "All the emails and documents sent to this contact will be translated in this "
                        "language."
                    ),
                ),
                Field(
                    "is_company",
                    "boolean",
                    "Is a Company",
                    help="Check if the contact is a company, otherwise it is a person",
                ),
                Field("color", "integer", "Color Index"),
                Field("partner_latitude", "float", "Geo Latitude"),
                Field("partner_longitude", "float", "Geo Longitude"),
                Field(
                    "company_registry",
                    "char",
                    "Company ID",
                    help=(
                        "The registry number of the company. Use it if it is different from the Tax ID. "
                        "It must be unique across all partners of a same country"
                    ),
                ),
                Field("date", "date", "Date"),
                Field("additional_info", "char", "Additional info"),
                Field(
                    "employee", "boolean", "Employee", help="Check this box if this contact is an Employee."
                ),
                Field(
                    "type",
                    "selection",
                    "Address Type",
                    selection=(
                        ("contact", "Contact"),
                        ("invoice", "Invoice Address"),
                        ("delivery", "Delivery Address"),
                        ("other", "Other Address"),
                    ),
                    help=(
                        "- Contact: Use this to organize the contact details of employees of a given "
                        "company (e.g. CEO, CFO, ...).\n- Invoice Address: Preferred address for all "
                        "invoices. Selected by default when you invoice an order that belongs to this "
                        "company.\n- Delivery Address: Preferred address for all deliveries. Selected by "
                        "default when you deliver an order that belongs to this company.\n- Other: Other "
                        "address for the company (e.g. subsidiary, ...)"
                    ),
                ),
            ],
        ),
        _model(
            "gender.type",
            "Gender Type",
            "id asc",
            "code",
            [
                Field("code", "char", "Code"),
                Field("value", "char", "Value"),
                Field("active", "boolean", "Active", default=True),
            ],
        ),
        _model("g2p.group.kind", "Group Kind", "id desc", "name", [Field("name", "char", "Kind")]),
        _model(
            "g2p.group.membership.kind",
            "Group Membership Kind",
            "id desc",
            "name",
            [Field("name", "char", "Kind"), Field("is_unique", "boolean", "Unique")],
        ),
        _model(
            "g2p.group.membership",
            "Group Membership",
            "id desc",
            None,  # display name is the group's name
            [
                Field("group", "many2one", "Group", relation="res.partner", required=True),
                Field("individual", "many2one", "Individual", relation="res.partner", required=True),
                Field(
                    "kind",
                    "many2many",
                    "Kind",
                    relation="g2p.group.membership.kind",
                    rel_table=MEMBERSHIP_KIND_REL,
                    rel_cols=("g2p_group_membership_id", "g2p_group_membership_kind_id"),
                ),
                Field("start_date", "datetime", "Start Date", default="now"),
                Field("ended_date", "datetime", "Ended Date"),
                Field(
                    "status",
                    "selection",
                    "Status",
                    readonly=True,
                    computed=True,
                    selection=(("inactive", "Inactive"), ("active", " ")),
                ),
                Field("is_ended", "boolean", "Is Ended", readonly=True, computed=True),
                Field(
                    "individual_birthdate",
                    "date",
                    "Individual Birthdate",
                    readonly=True,
                    store=False,
                    computed=True,
                ),
                Field(
                    "individual_gender",
                    "selection",
                    "Individual Gender",
                    readonly=True,
                    store=False,
                    computed=True,
                    dynamic_selection="gender",
                ),
            ],
        ),
        _model(
            "g2p.id.type",
            "ID Type",
            "name asc",
            "name",
            [Field("name", "char", "Name"), Field("id_validation", "char", "Id Validation")],
        ),
        _model(
            "g2p.reg.id",
            "Registrant ID",
            "id desc",
            None,  # display name is the partner's name
            [
                Field("partner_id", "many2one", "Registrant", relation="res.partner", required=True),
                Field("id_type", "many2one", "ID Type", relation="g2p.id.type", required=True),
                Field("value", "char", "Value", size=100),
                Field("expiry_date", "date", "Expiry Date"),
                Field(
                    "id_type_as_str",
                    "char",
                    "Name",
                    readonly=True,
                    store=False,
                    computed=True,
                ),
                Field(
                    "status",
                    "selection",
                    "Status",
                    selection=(("invalid", "Invalid"), ("valid", "Valid")),
                ),
                Field("description", "char", "Description"),
            ],
        ),
        _model(
            "g2p.phone.number",
            "Phone Number",
            "id desc",
            "phone_no",
            [
                Field("partner_id", "many2one", "Registrant", relation="res.partner", required=True),
                Field("phone_no", "char", "Phone Number", required=True),
                Field("phone_sanitized", "char", "Phone Sanitized", readonly=True),
                Field("date_collected", "date", "Date Collected", default="today"),
                Field("disabled", "datetime", "Date Disabled"),
                Field("disabled_by", "many2one", "Disabled By", relation="res.users"),
                Field("country_id", "many2one", "Country", relation="res.country"),
            ],
        ),
        _model(
            "res.country",
            "Country",
            "name asc",
            "name",
            [
                Field("name", "char", "Country Name", required=True),
                Field("code", "char", "Country Code", size=2),
            ],
        ),
        _model(
            "g2p.registrant.tags",
            "Registrant Tags",
            "id asc",
            "name",
            [
                Field("name", "char", "Tags", required=True),
                Field("color", "integer", "Color"),
                Field(
                    "active",
                    "boolean",
                    "Active",
                    default=True,
                    help="Archive to hide the RegistrantTag without removing it.",
                ),
            ],
        ),
        _model(
            "g2p.relationship",
            "Registrant Relationship",
            "id desc",
            "name",
            [
                Field("name", "char", "Name"),
                Field("name_inverse", "char", "Inverse name", required=True),
                Field("bidirectional", "boolean", "Bi-directional"),
                Field("source_type", "selection", "Source partner type", selection=PARTNER_TYPES),
                Field("destination_type", "selection", "Destination partner type", selection=PARTNER_TYPES),
            ],
        ),
        _model(
            "g2p.reg.rel",
            "Registrant Relationship",
            "id desc",
            None,  # display name is the relation's name
            [
                Field("source", "many2one", "Source", relation="res.partner", required=True),
                Field("destination", "many2one", "Destination", relation="res.partner", required=True),
                Field("relation", "many2one", "Relation", relation="g2p.relationship"),
                Field("disabled", "datetime", "Date Disabled"),
                Field("disabled_by", "many2one", "Disabled By", relation="res.users"),
                Field("start_date", "datetime", "Start Date"),
                Field("end_date", "datetime", "End Date"),
                Field("relation_as_str", "char", "Name", readonly=True, store=False, computed=True),
            ],
            display_sql="(SELECT r.name FROM g2p_relationship r WHERE r.id = t.relation)",
        ),
        _model(
            "res.bank",
            "Bank",
            "name asc",
            "name",
            [
                Field("name", "char", "Name", required=True),
                Field("street", "char", "Street"),
                Field("street2", "char", "Street2"),
                Field("zip", "char", "Zip"),
                Field("city", "char", "City"),
                Field("country", "many2one", "Country", relation="res.country"),
                Field("email", "char", "Email"),
                Field("phone", "char", "Phone"),
                Field("active", "boolean", "Active", default=True),
                Field("bic", "char", "Bank Identifier Code", help="Sometimes called BIC or Swift."),
            ],
            display_sql="t.name || COALESCE(' - ' || t.bic, '')",
        ),
        _model(
            "res.partner.bank",
            "Bank Accounts",
            "sequence asc, id asc",
            "acc_number",
            [
                Field("active", "boolean", "Active", default=True),
                Field("acc_number", "char", "Account Number", required=True),
                Field("sanitized_acc_number", "char", "Sanitized Account Number", readonly=True),
                Field(
                    "acc_holder_name",
                    "char",
                    "Account Holder Name",
                    help="Account holder name, in case it is different than the name of the Account Holder",
                ),
                Field("partner_id", "many2one", "Account Holder", relation="res.partner", required=True),
                Field(
                    "allow_out_payment",
                    "boolean",
                    "Send Money",
                    help="This account can be used for outgoing payments",
                ),
                Field("bank_id", "many2one", "Bank", relation="res.bank"),
                Field("sequence", "integer", "Sequence", default=10),
                Field("iban", "char", "IBAN", readonly=True, store=False, computed=True),
                Field(
                    "acc_type",
                    "selection",
                    "Type",
                    readonly=True,
                    store=False,
                    computed=True,
                    selection=(("bank", "Normal"),),
                    help="Bank account type: Normal or IBAN. Inferred from the bank account number.",
                ),
                Field("bank_name", "char", "Name", store=False, computed=True),
                Field(
                    "bank_bic",
                    "char",
                    "Bank Identifier Code",
                    store=False,
                    computed=True,
                    help="Sometimes called BIC or Swift.",
                ),
            ],
        ),
        _model(
            "spp.area.kind",
            "Area Kind",
            "parent_path asc",
            "name",
            [
                Field("parent_id", "many2one", "Parent", relation="spp.area.kind"),
                Field("parent_path", "char", "Parent Path"),
                Field("name", "char", "Name", required=True),
                Field("complete_name", "char", "Complete Name", readonly=True, store=False, computed=True),
            ],
        ),
        _model(
            "spp.area",
            "Area",
            "parent_path asc",
            "name",
            [
                Field("parent_id", "many2one", "Parent", relation="spp.area"),
                Field("complete_name", "char", "Complete Name", readonly=True, store=False, computed=True),
                Field("name", "char", "Name", readonly=True),
                Field("draft_name", "char", "Draft Name", required=True),
                Field("parent_path", "char", "Parent Path"),
                Field("code", "char", "Code"),
                Field("altnames", "char", "Alternate Name"),
                Field("level", "integer", "Level", help="This is the area level for importing"),
                Field(
                    "area_level",
                    "integer",
                    "Area Level",
                    readonly=True,
                    store=False,
                    computed=True,
                    help="This is the main area level",
                ),
                Field(
                    "child_ids",
                    "one2many",
                    "Child",
                    relation="spp.area",
                    inverse="parent_id",
                    readonly=True,
                    store=False,
                ),
                Field("kind", "many2one", "Kind", relation="spp.area.kind"),
                Field("area_sqkm", "float", "Area (sq/km)"),
            ],
        ),
        _model("g2p.district", "District", "id desc", "name", [Field("name", "char", "Name")]),
        _model(
            "ir.model",
            "Models",
            "model asc",
            "name",
            [
                Field("name", "char", "Model Description", required=True),
                Field("model", "char", "Model", required=True),
                Field(
                    "state",
                    "selection",
                    "Type",
                    selection=(("manual", "Custom Object"), ("base", "Base Object")),
                ),
            ],
        ),
        _model(
            "ir.model.fields",
            "Fields",
            "name asc",
            "field_description",
            [
                Field("name", "char", "Field Name", required=True),
                Field("model", "char", "Model Name"),
                Field("model_id", "many2one", "Model", relation="ir.model", required=True),
                Field("field_description", "char", "Field Label", required=True),
                Field("help", "text", "Field Help"),
                Field("ttype", "selection", "Field Type", required=True, selection=FIELD_TYPES),
                Field("selection", "char", "Selection Options (Deprecated)"),
                Field("size", "integer", "Size"),
                Field("compute", "text", "Compute"),
                Field("depends", "char", "Dependencies"),
                Field("required", "boolean", "Required"),
                Field("readonly", "boolean", "Readonly"),
                Field("relation", "char", "Related Model"),
                Field("relation_table", "char", "Relation Table"),
                Field("column1", "char", "Column 1"),
                Field("column2", "char", "Column 2"),
                Field(
                    "state",
                    "selection",
                    "Type",
                    default="manual",
                    selection=(("manual", "Custom Field"), ("base", "Base Field")),
                ),
            ],
        ),
        _model(
            "ir.model.data",
            "Model Data",
            "module asc, model asc, name asc",
            None,  # display name is complete_name
            [
                Field("name", "char", "External Identifier", required=True),
                Field("module", "char", "Module", required=True),
                Field("model", "char", "Model Name", required=True),
                Field("res_id", "many2one_reference", "Record ID"),
                Field("noupdate", "boolean", "Non Updatable"),
                Field(
                    "complete_name",
                    "char",
                    "Complete ID",
                    readonly=True,
                    store=False,
                    computed=True,
                ),
            ],
        ),
    ]
}

# Foreign keys a delete must respect (ON DELETE RESTRICT on the real server), as
# (model, many2one field): deleting the target while such rows remain is refused.
RESTRICTING_FKS: dict[str, list[tuple[str, str]]] = {
    "res.partner": [
        ("g2p.reg.id", "partner_id"),
        ("g2p.group.membership", "group"),
        ("g2p.group.membership", "individual"),
        ("g2p.phone.number", "partner_id"),
        ("res.partner.bank", "partner_id"),
        ("g2p.reg.rel", "source"),
        ("g2p.reg.rel", "destination"),
    ],
    "g2p.relationship": [("g2p.reg.rel", "relation")],
    "res.bank": [],
    "spp.area": [("spp.area", "parent_id")],
    "g2p.id.type": [("g2p.reg.id", "id_type")],
    "g2p.group.kind": [],
    "g2p.group.membership.kind": [],
    "gender.type": [],
    "g2p.group.membership": [],
    "g2p.reg.id": [],
    "ir.model.data": [],
    "g2p.phone.number": [],
}


_CURRENT: ContextVar[dict[str, Model] | None] = ContextVar("sandbox_models", default=None)


class _Models(Mapping[str, Model]):
    """The models of the database the current call runs against (see `using`)."""

    def _models(self) -> dict[str, Model]:
        return _CURRENT.get() or _BASE

    def __getitem__(self, name: str) -> Model:
        return self._models()[name]

    def __contains__(self, name: object) -> bool:
        return name in self._models()

    def __iter__(self) -> Iterator[str]:
        return iter(self._models())

    def __len__(self) -> int:
        return len(self._models())


MODELS: Mapping[str, Model] = _Models()
BASE_MODELS: Mapping[str, Model] = _BASE  # the shipped definitions, without any deployment's fields


@contextmanager
def using(models: dict[str, Model]) -> Iterator[None]:
    """Make `MODELS` show `models` (one database's) for the code run inside."""
    token = _CURRENT.set(models)
    try:
        yield
    finally:
        _CURRENT.reset(token)
