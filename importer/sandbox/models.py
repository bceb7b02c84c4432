"""The registry's slice of an OpenSPP 17 server: models, fields and their SQL storage.

Why a table of definitions instead of classes: the sandbox answers `fields_get`,
validates values, builds SQL and reads records from the same description, so the
field types the importer discovers are exactly the ones the sandbox enforces.
Field names, types, labels and flags follow the recorded `fields_get` answers of a
real OpenSPP 17 server (/work/shared/openspp17-transcript.json).
"""

from __future__ import annotations

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

    @property
    def column(self) -> bool:
        """Whether the field has a column in the model's own table."""
        return self.store and self.type not in ("one2many", "many2many")


@dataclass
class Model:
    """One Odoo model of the slice."""

    name: str
    description: str
    order: str
    rec_name: str | None
    fields: dict[str, Field]

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


def _model(name: str, description: str, order: str, rec_name: str | None, fields: list[Field]):
    return Model(name, description, order, rec_name, {f.name: f for f in [*fields, *_magic()]})


MEMBERSHIP_KIND_REL = "g2p_group_membership_g2p_group_membership_kind_rel"

MODELS: dict[str, Model] = {
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
                Field("age", "char", "Age", readonly=True, store=False, computed=True),
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
                Field("value", "char", "Value"),
                Field("expiry_date", "date", "Expiry Date"),
                Field(
                    "id_type_as_str",
                    "char",
                    "Id Type As Str",
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
    ],
    "g2p.id.type": [("g2p.reg.id", "id_type")],
    "g2p.group.kind": [],
    "g2p.group.membership.kind": [],
    "gender.type": [],
    "g2p.group.membership": [],
    "g2p.reg.id": [],
    "ir.model.data": [],
    "g2p.phone.number": [],
}
