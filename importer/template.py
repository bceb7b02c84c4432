"""Empty workbooks for clerks: the mapping's columns, a note on each header, dropdowns of valid codes.

A template that already offers the server's current genders and kinds in
dropdowns prevents most "Femal" errors before they are typed.  Without a
server (``--offline``) the mapping's own lists are used.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from importer.catalog import Catalog, fetch_catalog, offline_catalog
from importer.client import OdooClient
from importer.errors import SppError
from importer.mapping import SHEET_ENTITIES, EntitySpec, Mapping, load_mapping
from importer.outcome import Entity, ImportFailure
from importer.settings import ConnectionSettings

ROWS_WITH_DROPDOWNS = 5000
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")

NOTES = {
    "text": "Free text.",
    "date": "A date ({order}).",
    "phone": "A phone number; keep leading zeros (the cell is text).",
    "email": "An e-mail address.",
    "number": "A number, e.g. 1250.50.",
    "bool": "yes or no.",
}


def _date_hint(order: str) -> str:
    return {"iso": "YYYY-MM-DD", "day-first": "DD/MM/YYYY", "month-first": "MM/DD/YYYY"}[order]


def _choices(entity: Entity, field: str, catalog: Catalog, mapping: Mapping) -> list[str]:
    if entity is Entity.INDIVIDUAL and field == "gender":
        return list(catalog.genders)
    if entity is Entity.GROUP and field == "kind":
        return list(catalog.group_kinds)
    if entity is Entity.REG_ID and field == "id_type":  # an IDs sheet: the server's ID types
        return list(catalog.id_types)
    if entity is Entity.MEMBERSHIP and field == "kind":
        aliases = [
            a
            for a, t in mapping.value_map(entity, "kind").items()
            if t == "" or t in catalog.membership_kinds
        ]
        return list(dict.fromkeys([*catalog.membership_kinds, *aliases]))
    return []


def _column_notes(spec: EntitySpec, mapping: Mapping) -> dict[str, str]:
    """Header text -> what belongs in that column, for the clerk."""
    notes: dict[str, str] = {}
    what = spec.entity.value
    if spec.key:
        notes[spec.key] = f"The {what}'s own identifier: unique, never reused, never changed."
    if spec.group:
        notes[spec.group] = "The household's identifier, as in the households' list."
    if spec.individual:
        notes[spec.individual] = "The person's identifier, as in the people's list."
    for name, fspec in spec.fields.items():
        if fspec.column is None:
            continue
        kind = mapping.registry_field(spec.entity, name).kind.cell
        text = NOTES.get(kind, "Pick a value from the list.")
        if kind == "date":
            text = text.format(order=_date_hint(fspec.date_order or mapping.date_order))
        notes.setdefault(fspec.column, f"{name.replace('_', ' ').capitalize()}: {text}")
    for id_type, column in spec.ids.items():
        notes[column] = f"{id_type} number, exactly as on the document (kept as text)."
    date_hint = _date_hint(mapping.date_order)
    for id_type, column in spec.id_expiry.items():
        notes[column] = f"When the {id_type} expires: a date, {date_hint}."
    for phone in spec.phones:
        notes[phone.column] = "A phone number: digits, spaces allowed, + first for abroad."
        if phone.collected:
            notes[phone.collected] = f"When that phone number was collected: a date, {date_hint}."
    for bank in spec.banks:
        notes[bank.account] = "A bank account number, exactly as the bank writes it."
        if bank.bank:
            notes[bank.bank] = "The bank of that account: its BIC (e.g. RURLPHMM) or its name."
    for key, column in spec.additional_info.items():
        notes[column] = f"Additional information kept under '{key}'."
    return notes


def write_template(
    mapping_path: str | Path | Mapping, output: str | Path, settings: ConnectionSettings | None
) -> Path:
    """Write an empty workbook with one sheet per table the mapping reads."""
    mapping = mapping_path if isinstance(mapping_path, Mapping) else load_mapping(mapping_path)
    if settings is None:
        catalog = offline_catalog(mapping)
    else:
        try:
            with OdooClient(settings) as client:
                client.authenticate()
                catalog = fetch_catalog(client)
        except SppError as exc:
            raise ImportFailure(f"cannot read the server's lists for the template: {exc}") from None
    sheets: dict[str, list[tuple[EntitySpec, str]]] = {}
    for entity in SHEET_ENTITIES:
        spec = mapping.entities.get(entity)
        if spec is None:
            continue
        title = spec.source.sheet or (spec.source.file or mapping.name).replace("*", "").removesuffix(".csv")
        sheets.setdefault(title[:31] or "Sheet", []).append((spec, title))
    book = Workbook()
    book.remove(book.active)
    for title, specs in sheets.items():
        ws = book.create_sheet(title)
        headers: list[str] = []
        notes: dict[str, str] = {}
        dropdowns: dict[str, list[str]] = {}
        for spec, _ in specs:
            for column in spec.columns():
                if column not in headers:
                    headers.append(column)
            for column, note in _column_notes(spec, mapping).items():
                notes.setdefault(column, note)
            for name, fspec in spec.fields.items():
                options = _choices(spec.entity, name, catalog, mapping)
                if fspec.column and options:
                    dropdowns[fspec.column] = options
        for i, header in enumerate(headers, start=1):
            cell = ws.cell(row=1, column=i, value=header)
            cell.font = Font(bold=True)
            cell.fill = HEADER_FILL
            if header in notes:
                cell.comment = Comment(notes[header], "spp-import", width=260, height=90)
            letter = get_column_letter(i)
            ws.column_dimensions[letter].width = max(14, len(header) + 4)
            # Every data cell is text, so IDs and phone numbers keep their leading zeros.
            for row in range(2, 52):
                ws.cell(row=row, column=i).number_format = "@"
            if header in dropdowns:
                listing = '"' + ",".join(v.replace('"', "") for v in dropdowns[header]) + '"'
                dv = DataValidation(type="list", formula1=listing, allow_blank=True, showDropDown=False)
                dv.error = f"Choose one of: {', '.join(dropdowns[header])}"
                dv.errorTitle = "Not a known value"
                dv.add(f"{letter}2:{letter}{ROWS_WITH_DROPDOWNS}")
                ws.add_data_validation(dv)
        ws.freeze_panes = "A2"
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    book.save(output)
    return output
