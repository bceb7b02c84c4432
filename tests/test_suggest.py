"""`mapping suggest`: the shipped layouts, renamed, shuffled and translated, are matched back to their sense.

Each layout is rebuilt here from the shipped samples with French, Spanish or
Portuguese headers (and values), in another column order; the suggested
mapping must give every column the field the shipped mapping gives the
original column, and validate the file with the same outcome.  The judge is
the mapping's meaning (entity, field, column), not its text.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from conftest import MAPPINGS, SAMPLES, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from importer.cli import main
from importer.mapping import Mapping, bind, load_mapping
from importer.outcome import Entity, ImportFailure
from importer.pipeline import ImportOptions, run_import
from importer.read import read_source
from importer.suggest import HIGH, LOW, MEDIUM, suggest_mapping

ROSTER_FR = {
    "household_id": "Nº de ménage",
    "household_name": "Nom du ménage",
    "household_kind": "Type de ménage",
    "person_id": "Identifiant individu",
    "given_name": "Prénom",
    "family_name": "Nom",
    "sex": "Sexe",
    "date_of_birth": "Date de naissance",
    "relationship": "Lien de parenté",
    "national_id": "Carte d'identité",
    "phone": "Téléphone",
}
ROSTER_ES = {
    "household_id": "Código de hogar",
    "household_name": "Nombre del hogar",
    "household_kind": "Tipo de hogar",
    "person_id": "Nº de persona",
    "given_name": "Nombre",
    "family_name": "Apellido",
    "sex": "Sexo",
    "date_of_birth": "Fecha de nacimento",  # sic: a typo, matched fuzzily
    "relationship": "Parentesco",
    "national_id": "Cédula de identidad",
    "phone": "Teléfono",
}
ROSTER_ES_VALUES = {
    "sex": {"M": "Hombre", "F": "Mujer", "male": "Masc.", "female": "Fem."},
    "relationship": {
        "head": "Jefe de hogar",
        "spouse": "Cónyuge",
        "child": "Hijo",
        "parent": "Padre",
        "other relative": "Otro pariente",
    },
    "household_kind": {"Household": "Hogar", "Family": "Familia"},
}
WORKBOOK_PT = {
    "Individuals": (
        "Indivíduos",
        {
            "Person ID": "Código da pessoa",
            "First name": "Primeiro nome",
            "Middle name": "Nome do meio",
            "Last name": "Apelido",
            "Gender": "Sexo",
            "Date of birth": "Data de nascimento",
            "Place of birth": "Local de nascimento",
            "Registered on": "Data de registo",
            "Phone": "Telefone",
            "Email": "E-mail",
            "Monthly income": "Renda mensal",
            "Occupation": "Profissão",
            "National ID": "Bilhete de identidade",
        },
    ),
    "Groups": (
        "Agregados",
        {
            "Group ID": "Código do agregado",
            "Group name": "Nome do agregado",
            "Kind": "Tipo",
            "Registered on": "Data de registo",
            "Phone": "Telefone",
            "Address": "Endereço",
        },
    ),
    "Memberships": (
        "Composição",
        {
            "Group ID": "Código do agregado",
            "Person ID": "Código da pessoa",
            "Role": "Parentesco",
            "Member since": "Membro desde",
            "Left on": "Data de saída",
        },
    ),
}
WORKBOOK_PT_VALUES = {
    "Gender": {"M": "Masculino", "F": "Feminino"},
    "Role": {"head": "Chefe de família", "member": "Membro"},
    "Kind": {"Household": "Agregado familiar", "Family": "Família"},
}
FILES_FR = {
    "households.csv": (
        "menages.csv",
        {"hh_code": "Code ménage", "hh_name": "Nom du ménage", "hh_type": "Type", "village": "Village"},
    ),
    "individuals.csv": (
        "personnes.csv",
        {
            "member_code": "Code membre",
            "first_name": "Prénom",
            "surname": "Nom de famille",
            "gender": "Sexe",
            "dob": "Date de naissance",
            "mobile": "Portable",
            "nid": "NIN",
        },
    ),
    "memberships.csv": (
        "liens.csv",
        {"hh_code": "Code ménage", "member_code": "Code membre", "role": "Rôle", "joined": "Date d'entrée"},
    ),
}
FILES_FR_VALUES = {
    "gender": {"M": "H", "F": "F", "male": "Homme", "female": "Femme"},
    "role": {"HEAD": "Chef de ménage", "MEMBER": "Membre"},
}


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    columns = list(frame.columns)
    random.Random(seed).shuffle(columns)
    return frame[columns]


def _translated(frame: pd.DataFrame, headers: dict[str, str], values: dict[str, dict[str, str]], seed: int):
    frame = frame.copy()
    for column, table in values.items():
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v, t=table: t.get(v, v))
    return _shuffled(frame.rename(columns=headers), seed)


def _write(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, encoding="utf-8")


def _sheet(path: Path) -> pd.DataFrame:
    [table] = read_source(path)
    return table.frame


def roster_fr(tmp_path: Path) -> tuple[list[Path], dict[str, str]]:
    out = tmp_path / "registre.csv"
    _write(_translated(_sheet(SAMPLES / "roster.csv"), ROSTER_FR, {}, 1), out)
    return [out], ROSTER_FR | {"roster.csv": "registre.csv"}


def roster_es_xlsx(tmp_path: Path) -> tuple[list[Path], dict[str, str]]:
    out = tmp_path / "padron.xlsx"
    frame = _translated(_sheet(SAMPLES / "roster.xlsx"), ROSTER_ES, ROSTER_ES_VALUES, 2)
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        frame.to_excel(writer, sheet_name="Padrón", index=False)
    return [out], ROSTER_ES | {sheet: "Padrón" for sheet in ("Roster", "People")}


def workbook_pt(
    tmp_path: Path, source: Path = SAMPLES / "workbook.xlsx"
) -> tuple[list[Path], dict[str, str]]:
    out = tmp_path / "cadastro.xlsx"
    renames: dict[str, str] = {}
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        for i, table in enumerate(read_source(source)):
            sheet, headers = WORKBOOK_PT[table.sheet]
            frame = _translated(table.frame, headers, WORKBOOK_PT_VALUES, 3 + i)
            frame.to_excel(writer, sheet_name=sheet, index=False)
            renames |= {f"{table.sheet}:{k}": v for k, v in headers.items()} | {table.sheet: sheet}
    return [out], renames


def files_fr(tmp_path: Path) -> tuple[list[Path], dict[str, str]]:
    outs = []
    renames: dict[str, str] = {}
    for i, (name, (new, headers)) in enumerate(FILES_FR.items()):
        out = tmp_path / new
        _write(_translated(_sheet(SAMPLES / name), headers, FILES_FR_VALUES, 5 + i), out)
        outs.append(out)
        renames |= {f"{name}:{k}": v for k, v in headers.items()} | {name: new}
    return outs, renames


LAYOUTS = {
    "roster.csv in French": (roster_fr, "roster.csv", "roster.yaml"),
    "roster.xlsx in Spanish": (roster_es_xlsx, "roster.xlsx", "roster.yaml"),
    "workbook.xlsx in Portuguese": (workbook_pt, "workbook.xlsx", "workbook.yaml"),
    "three CSV files in French": (
        files_fr,
        "households.csv individuals.csv memberships.csv",
        "csv-files.yaml",
    ),
}


def meaning(mapping: Mapping, tables, rename=lambda table, column: column) -> set[tuple[str, ...]]:
    """What a mapping says, as (entity, role, field, table, column) facts: no YAML text, no comments."""
    bound = {b.spec.entity: b.table for b in bind(mapping, tables)}
    facts: set[tuple[str, ...]] = set()
    for entity, spec in mapping.entities.items():
        table = bound[entity]
        where = table.sheet or table.path.name
        said = [("key", "", spec.key), ("group", "", spec.group), ("individual", "", spec.individual)]
        said += [("field", name, f.column) for name, f in spec.fields.items()]
        said += [("id", id_type, column) for id_type, column in spec.ids.items()]
        for role, name, column in said:
            if column:
                facts.add((entity.value, role, name, rename(where, where), rename(where, column)))
    return facts


def _renamer(renames: dict[str, str]):
    def rename(table: str, column: str) -> str:
        return renames.get(f"{table}:{column}") or renames.get(column, column)

    return rename


def _suggest_to(tmp_path: Path, files: list[Path]) -> tuple[Path, object]:
    tables = [t for f in files for t in read_source(f)]
    suggestion = suggest_mapping(tables)
    path = tmp_path / "suggested.yaml"
    path.write_text(suggestion.to_yaml(), encoding="utf-8")
    return path, suggestion


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_translated_shuffled_layout_is_matched_back_to_the_shipped_mapping(
    tmp_path: Path, layout: str
) -> None:
    build, originals, shipped = LAYOUTS[layout]
    files, renames = build(tmp_path)
    path, suggestion = _suggest_to(tmp_path, files)

    original_tables = [t for name in originals.split() for t in read_source(SAMPLES / name)]
    expected = meaning(load_mapping(MAPPINGS / shipped), original_tables, _renamer(renames))
    got = meaning(load_mapping(path), [t for f in files for t in read_source(f)])
    assert got == expected
    assert suggestion.unplaced() == []
    assert suggestion.questions == []


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_suggested_mapping_validates_the_file_as_the_shipped_one_does(
    tmp_path: Path, layout: str
) -> None:
    build, originals, shipped = LAYOUTS[layout]
    files, _ = build(tmp_path)
    path, _ = _suggest_to(tmp_path, files)
    ours = run_import(files, ImportOptions(mapping=path, mode="validate", write_files=False)).report
    theirs = run_import(
        [SAMPLES / n for n in originals.split()],
        ImportOptions(mapping=MAPPINGS / shipped, mode="validate", write_files=False),
    ).report
    assert ours.rows["status"].value_counts().to_dict() == theirs.rows["status"].value_counts().to_dict()
    assert sorted(ours.problems["code"]) == sorted(theirs.problems["code"])
    assert set(ours.rows["status"]) == {"valid"}


def test_the_broken_workbook_translated_gives_the_same_problems_on_the_same_cells(tmp_path: Path) -> None:
    files, renames = workbook_pt(tmp_path, SAMPLES / "workbook_broken.xlsx")
    path, suggestion = _suggest_to(tmp_path, files)
    ours = run_import(files, ImportOptions(mapping=path, mode="validate", write_files=False)).report.problems
    theirs = run_import(
        [SAMPLES / "workbook_broken.xlsx"],
        ImportOptions(mapping=MAPPINGS / "workbook.yaml", mode="validate", write_files=False),
    ).report.problems
    rename = _renamer(renames)

    def cells(frame: pd.DataFrame, translate: bool) -> list[tuple]:
        return sorted(
            (
                r.code,
                rename(r.sheet, r.sheet) if translate else r.sheet,
                r.row,
                rename(r.sheet, r.column) if translate else r.column,
            )
            for r in frame.itertuples()
        )

    assert cells(ours, False) == cells(theirs, True)
    # The typo "Femal" is offered as a question, not written as an alias that would hide it.
    gender = next(c for t in suggestion.tables for c in t.columns if c.target == "gender")
    femal = next(v for v in gender.values if v.value == "Femal")
    assert (femal.target, femal.confidence) == ("Female", LOW)
    assert any("Femal" in q.text for q in suggestion.questions)
    # The key with a duplicate and an empty cell is still the key, but marked low.
    key = next(
        c
        for t in suggestion.tables
        for c in t.columns
        if c.column == "Código da pessoa" and t.role == "people"
    )
    assert (key.target, key.confidence) == ("key", LOW)


def _csv(tmp_path: Path, text: str, name: str = "people.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


AMBIGUOUS = (
    "Nº de ménage,Prénom,Apellido,Sexo,Date,Téléphone,Phone,Remarques\n"
    "H1,Ana,Ramos,Mujer,12/03/2024,0917 555 0101,0917 555 0101,voisine\n"
    "H1,Ben,Ramos,Hombre,12/03/2024,,,\n"
    "H2,Cleo,Diaz,F,15/03/2024,,0917 555 0102,\n"
)


def test_ambiguous_columns_become_questions_not_guesses(tmp_path: Path) -> None:
    path = _csv(tmp_path, AMBIGUOUS)
    suggestion = suggest_mapping(read_source(path))
    [table] = suggestion.tables
    by_column = {c.column: c for c in table.columns}
    date = by_column["Date"]
    assert not date.placed
    assert {c.target for c in date.candidates} == {"birthdate", "registration_date", "start_date"}
    assert any("'Date'" in q.text and "birthdate" in q.text for q in suggestion.questions)
    # Two columns equally like the phone: both kept, as the person's phone number records.
    assert by_column["Téléphone"].target == by_column["Phone"].target == "phone:number"
    assert not any("'Téléphone' and 'Phone'" in q.text for q in suggestion.questions)
    # What nothing matches is listed, with why.
    assert (
        "people.csv",
        "Remarques",
        "no registry field matches the header 'Remarques'",
    ) in suggestion.unplaced()
    # No person key: asked, never invented from a column that is not unique.
    assert table.column("individual", "key") is None
    assert any("identifies each person" in q.text for q in suggestion.questions)
    text = suggestion.to_yaml()
    assert "# ?: Date  # question: one of person: birthdate, registrant: registration_date" in text
    # The same, as data for the web page.
    data = json.loads(json.dumps(suggestion.to_dict()))
    [columns] = [t["columns"] for t in data["tables"]]
    sexo = next(c for c in columns if c["column"] == "Sexo")
    assert {v["value"]: v["target"] for v in sexo["values"]} == {
        "Mujer": "Female",
        "Hombre": "Male",
        "F": "Female",
    }
    assert "#   people.csv 'Remarques': no registry field matches" in text
    # ... and offered, commented, as the person's additional information.
    assert "#   remarques: Remarques" in text.split("# Columns not read")[0]


def test_coded_values_in_four_languages_are_aliased_and_typos_only_asked(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "ID,Nº ménage,Prénom,Nom,Sexe,Lien\n"
        "1,H1,A,X,Mujer,Jefe de hogar\n2,H1,B,X,Fem.,Conjoint\n3,H1,C,X,Feminino,filho\n"
        "4,H2,D,X,H,chef\n5,H2,E,X,Homme,Membre\n6,H3,F,X,Femal,Head\n7,H3,G,X,Masculino,cousin\n",
    )
    suggestion = suggest_mapping(read_source(path))
    [table] = suggestion.tables
    gender = {v.value: (v.target, v.confidence) for v in table.column("individual", "gender").values}
    assert gender == {
        "Mujer": ("Female", HIGH),
        "Fem.": ("Female", MEDIUM),
        "Feminino": ("Female", HIGH),
        "H": ("Male", HIGH),
        "Homme": ("Male", HIGH),
        "Masculino": ("Male", HIGH),
        "Femal": ("Female", LOW),
    }
    kinds = {v.value: (v.target, v.confidence) for v in table.column("membership", "kind").values}
    assert kinds["Jefe de hogar"] == ("Head", HIGH) and kinds["chef"] == ("Head", HIGH)
    assert kinds["Conjoint"] == ("", HIGH) and kinds["filho"] == ("", HIGH)
    assert kinds["Head"] == ("Head", HIGH)
    assert kinds["cousin"][0] is None  # not placed: asked
    mapping = load_mapping(_write_yaml(tmp_path, suggestion))
    assert mapping.values["gender"] == {
        "Mujer": "Female",
        "Fem.": "Female",
        "Feminino": "Female",
        "H": "Male",
        "Homme": "Male",
        "Masculino": "Male",
    }
    assert mapping.values["membership.kind"]["Jefe de hogar"] == "Head"
    assert "cousin" not in mapping.values["membership.kind"]


def _write_yaml(tmp_path: Path, suggestion) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(suggestion.to_yaml(), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("dates", "order", "confidence"),
    [
        (["26/03/1950", "01/02/2003"], "day-first", HIGH),
        (["03/26/1950", "01/02/2003"], "month-first", HIGH),
        (["1950-03-26", "2003-02-01"], "iso", HIGH),
        (["01/02/1950", "03/04/2003"], "day-first", LOW),
    ],
)
def test_the_date_order_is_read_from_the_values(tmp_path: Path, dates, order, confidence) -> None:
    rows = "".join(f"P{i},A,B,{d}\n" for i, d in enumerate(dates))
    suggestion = suggest_mapping(read_source(_csv(tmp_path, "person_id,first_name,last_name,dob\n" + rows)))
    assert (suggestion.date_order, suggestion.date_order_confidence) == (order, confidence)
    assert suggestion.entity_table(Entity.GROUP) is None  # no household column: no households asked for
    assert (confidence == LOW) == any("no date shows its order" in q.text for q in suggestion.questions)


def test_an_id_column_is_found_by_its_header_or_nothing_else(tmp_path: Path) -> None:
    path = _csv(tmp_path, "pid,given,surname,Numéro CNI,Passeport\nP1,A,B,1234567890,AB123456\n")
    suggestion = suggest_mapping(read_source(path))
    [table] = suggestion.tables
    ids = {c.column: c.target for c in table.columns if c.target and c.target.startswith("id:")}
    assert ids == {"Numéro CNI": "id:National ID", "Passeport": "id:Passport"}
    assert load_mapping(_write_yaml(tmp_path, suggestion)).entities.__len__() == 1


def test_the_cli_writes_a_mapping_the_loader_reads_and_validate_accepts(tmp_path: Path, capsys) -> None:
    files, _ = files_fr(tmp_path)
    out = tmp_path / "new.yaml"
    code = main(["mapping", "suggest", *map(str, files), "-o", str(out), "--offline"])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Code ménage" in printed and "household key" in printed and "Questions: 0" in printed
    mapping = load_mapping(out)
    assert mapping.entities.keys() == {e for e in load_mapping(MAPPINGS / "csv-files.yaml").entities}
    args = ["validate", "--mapping", str(out), *map(str, files), "--out", str(tmp_path / "r")]
    assert main(args) == 0
    # A second run does not replace the mapping (perhaps corrected by hand since) unless asked.
    before = out.read_text(encoding="utf-8") + "# corrected by hand\n"
    out.write_text(before, encoding="utf-8")
    assert main(["mapping", "suggest", *map(str, files), "-o", str(out), "--offline"]) == 2
    assert "exists" in capsys.readouterr().err and out.read_text(encoding="utf-8") == before
    assert main(["mapping", "suggest", *map(str, files), "-o", str(out), "--offline", "--force"]) == 0
    assert "# corrected by hand" not in out.read_text(encoding="utf-8")


def test_the_cli_prints_the_mapping_when_no_output_is_given(tmp_path: Path, capsys) -> None:
    [path], _ = roster_fr(tmp_path)
    assert main(["mapping", "suggest", str(path), "--offline"]) == 0
    printed = capsys.readouterr().out
    assert "entities:" in printed and "key: Nº de ménage" in printed.replace('"', "")


def test_the_cli_refuses_an_unreadable_file_in_words(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "x.csv"
    bad.write_bytes(b"")
    assert main(["mapping", "suggest", str(bad), "--offline"]) == 2
    assert "x.csv is empty" in capsys.readouterr().err


def test_with_the_server_its_own_fields_and_id_patterns_are_matched_and_the_file_imports(
    tmp_path: Path, sandbox, client, settings
) -> None:
    from importer.catalog import fetch_catalog

    model = client.search("ir.model", [["model", "=", "res.partner"]])[0]
    client.create(
        "ir.model.fields",
        {
            "name": "x_cst_indv_disability_level",
            "field_description": "Disability Level",
            "ttype": "integer",
            "model_id": model,
            "state": "manual",
        },
    )
    path = _csv(
        tmp_path,
        "Nº de ménage,Nom du ménage,Code membre,Prénom,Nom,Sexe,Disability level,Pièce\n"
        "H1,Ramos,P1,Ana,Ramos,Femme,2,1156998806\nH1,Ramos,P2,Ben,Ramos,Homme,0,5438728103\n",
    )
    suggestion = suggest_mapping(read_source(path), fetch_catalog(client))
    [table] = suggestion.tables
    level = next(c for c in table.columns if c.column == "Disability level")
    assert (level.entity, level.target, level.confidence) == (
        "individual",
        "x_cst_indv_disability_level",
        HIGH,
    )
    piece = next(c for c in table.columns if c.column == "Pièce")
    assert (piece.target, piece.confidence) == ("id:National ID", MEDIUM)
    assert "pattern of the ID type 'National ID'" in piece.reason
    assert suggestion.allowed["gender"] == ["Male", "Female"] and suggestion.online
    mapping = _write_yaml(tmp_path, suggestion)
    result = run_import([path], ImportOptions(mapping=mapping, out_dir=tmp_path / "r"), settings)
    assert result.exit_code == 0, result.report.problems.to_dict("records")
    people = client.search_read(
        "res.partner",
        [["is_registrant", "=", True], ["is_group", "=", False]],
        ["given_name", "gender", "x_cst_indv_disability_level", "reg_ids"],
    )
    assert sorted((p["given_name"], p["gender"], p["x_cst_indv_disability_level"]) for p in people) == [
        ("Ana", "Female", 2),
        ("Ben", "Male", 0),
    ]
    ids = client.search_read("g2p.reg.id", [], ["value"])
    assert sorted(i["value"] for i in ids) == ["1156998806", "5438728103"]


def test_a_column_whose_values_show_another_date_order_gets_its_own(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        "pid,hh,first_name,last_name,dob,member since\n"
        "P1,H1,A,B,26/03/1950,01/15/2024\nP2,H1,C,D,01/02/2003,01/16/2024\n",
    )
    suggestion = suggest_mapping(read_source(path))
    assert suggestion.date_order == "day-first"
    mapping = load_mapping(_write_yaml(tmp_path, suggestion))
    since = mapping.entities[Entity.MEMBERSHIP].fields["start_date"]
    assert (since.column, since.date_order) == ("member since", "month-first")
    assert mapping.entities[Entity.INDIVIDUAL].fields["birthdate"].date_order == "day-first"
    # "hh" names the household but not what of it: its coded values make it the key, marked low.
    assert mapping.entities[Entity.GROUP].key == "hh"
    assert suggestion.entity_table(Entity.GROUP).column("group", "key").confidence == LOW
    assert any("no column for the household's name" in q.text for q in suggestion.questions)


BANKED = (
    "Household ID,Household name,Person ID,Given name,Family name,Sex,Area code,Bank account,Bank\n"
    "H1,Ramos,P1,Ana,Ramos,F,R1-D2,0012-3456-78,Rural Bank\n"
    "H1,Ramos,P2,Ben,Ramos,M,R1-D2,,\n"
)


def test_a_bank_account_and_its_bank_become_one_account_and_the_area_code_the_area(
    tmp_path: Path,
) -> None:
    """An account number is an account, not an ID whose pattern it happens to fit; its bank goes with it."""
    suggestion = suggest_mapping(read_source(_csv(tmp_path, BANKED)))
    [table] = suggestion.tables
    placed = {c.column: (c.entity, c.target, c.confidence) for c in table.columns}
    assert placed["Bank account"] == ("individual", "bank:account", HIGH)
    assert placed["Bank"] == ("individual", "bank:bank", HIGH)
    assert placed["Area code"] == ("individual", "area_id", HIGH)
    people = load_mapping(_write_yaml(tmp_path, suggestion)).entities[Entity.INDIVIDUAL]
    assert [(b.account, b.bank) for b in people.banks] == [("Bank account", "Bank")]
    assert people.fields["area_id"].column == "Area code"


@pytest.mark.parametrize("header", ["N° de compte", "Nº de compte", "Numéro de compte", "Cuenta bancaria"])
def test_an_account_number_is_found_however_a_clerk_heads_it(tmp_path: Path, header: str) -> None:
    path = _csv(tmp_path, f"Person ID,Given name,Family name,{header}\nP1,Ana,Ramos,0012\n")
    [table] = suggest_mapping(read_source(path)).tables
    assert (table.columns[-1].target, table.columns[-1].confidence) == ("bank:account", HIGH)


def test_a_bank_with_no_account_beside_it_and_accounts_on_a_households_sheet_are_left_out(
    tmp_path: Path,
) -> None:
    people = _csv(tmp_path, "Person ID,Given name,Family name,Bank\nP1,Ana,Ramos,Rural Bank\n")
    [table] = suggest_mapping(read_source(people)).tables
    bank = next(c for c in table.columns if c.column == "Bank")
    assert not bank.placed and "no column beside it holds the account number" in bank.reason
    households = _csv(
        tmp_path, "Household ID,Household name,Bank account\nH1,Ramos,0012-3456-78\n", "households.csv"
    )
    suggestion = suggest_mapping(read_source(households))
    [table] = suggestion.tables
    account = next(c for c in table.columns if c.column == "Bank account")
    assert not account.placed and "only people carry bank accounts" in account.reason
    assert "bank_accounts" not in suggestion.to_yaml().split("# Columns not read")[0]


def test_with_the_server_the_account_lands_at_its_bank_and_the_person_in_the_area(
    tmp_path: Path,
) -> None:
    """The suggested mapping imports: the server holds the account at the named bank and the area."""
    from importer.catalog import PARTNER, fetch_catalog
    from importer.client import OdooClient
    from importer.sandbox import Sandbox

    path = _csv(tmp_path, BANKED)
    with Sandbox(preset="enrollment") as sb, OdooClient(settings_for(sb)) as client:
        catalog = fetch_catalog(client)
        suggestion = suggest_mapping(read_source(path), catalog)
        result = run_import(
            [path],
            ImportOptions(mapping=_write_yaml(tmp_path, suggestion), out_dir=tmp_path / "r"),
            settings_for(sb),
        )
        assert result.exit_code == 0, result.report.problems.to_dict("records")
        [ana] = client.search_read("res.partner", [["given_name", "=", "Ana"]], ["area_id", "bank_ids"])
        assert ana["area_id"][1].startswith("R1-D2")
        [account] = client.search_read(
            "res.partner.bank", [["partner_id", "=", ana["id"]]], ["acc_number", "bank_id"]
        )
        assert account["acc_number"] == "0012-3456-78" and account["bank_id"][1].startswith("Rural Bank")
        [ben] = client.search_read("res.partner", [["given_name", "=", "Ben"]], ["bank_ids"])
        assert ben["bank_ids"] == []
        # A server without OpenSPP's areas: the column is left out, with the reason, not guessed.
        without = dict(catalog.fields[PARTNER])
        without.pop("area_id")
        catalog.fields[PARTNER] = without
        [table] = suggest_mapping(read_source(path), catalog).tables
        area = next(c for c in table.columns if c.column == "Area code")
        assert not area.placed and "this server has no areas" in area.reason


def test_the_enrollment_workbook_suggested_with_the_server_finds_the_shipped_mappings_problems(
    tmp_path: Path,
) -> None:
    """IDs with their expiry, two accounts, two phones, areas, tags, custom fields and a relationships
    sheet: the suggestion reads them as the shipped layout does, so a dry run names the same bad
    cells, but for Occupation (the shipped layout writes it to a 30-character custom field)."""
    from importer.catalog import fetch_catalog
    from importer.client import OdooClient
    from importer.sandbox import Sandbox

    workbook = SAMPLES / "enrollment.xlsx"
    with Sandbox(preset="enrollment") as sb, OdooClient(settings_for(sb)) as client:
        suggestion = suggest_mapping(read_source(workbook), fetch_catalog(client))
        mapping = _write_yaml(tmp_path, suggestion)
        people = load_mapping(mapping).entities[Entity.INDIVIDUAL]
        assert people.id_expiry == {"Passport": "Passport expiry"}
        assert [(b.account, b.bank) for b in people.banks] == [
            ("Account no", "Bank"),
            ("Savings account", None),
        ]
        # Two phone columns: the person's phone number records, as the shipped layout writes them.
        assert [p.column for p in people.phones] == ["Mobile", "Other phone"]
        assert people.additional_info == {}  # School name, Livestock: offered commented, not written
        assert "#   school_name: School name" in suggestion.to_yaml()
        households = load_mapping(mapping).entities[Entity.GROUP]
        assert households.fields["kind"].column == "Type"  # not Odoo's own contact "Type"
        links = load_mapping(mapping).entities[Entity.RELATIONSHIP]
        assert (links.source.sheet, links.rel_source, links.rel_destination) == (
            "Relationships",
            "Person ID",
            "Related person ID",
        )
        assert {f: links.fields[f].column for f in links.fields} == {
            "relation": "Relationship",
            "start_date": "Since",
        }

        def bad_cells(layout: Path) -> set[tuple[str, int, str]]:
            options = ImportOptions(mapping=layout, mode="dry-run", out_dir=None, write_files=False)
            problems = run_import([workbook], options, settings_for(sb)).report.problems
            return {(p.sheet, int(p.row), p.column) for p in problems.itertuples() if p.severity == "error"}

        suggested, shipped = bad_cells(mapping), bad_cells(MAPPINGS / "enrollment.yaml")
    assert any(sheet == "Relationships" for sheet, _, _ in suggested)
    assert suggested <= shipped and shipped - suggested == {("Individuals", 28, "Occupation")}


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Passport expiry", "expiry:Passport"),
        ("Date d'expiration du passeport", "expiry:Passport"),
        ("National ID valid until", "expiry:National ID"),
        ("Passport date", None),  # a date, but nothing says it is when the passport expires
    ],
)
def test_an_ids_expiry_is_read_from_its_header_beside_the_id(tmp_path: Path, header: str, target) -> None:
    text = (
        f"Person ID,Given name,Family name,Passport no,National ID,{header}\nP1,Ana,Ramos,P1,12,31/12/2030\n"
    )
    [table] = suggest_mapping(read_source(_csv(tmp_path, text))).tables
    col = table.columns[-1]
    assert col.target == target, col.reason


def test_a_relationships_table_without_their_type_is_left_out_and_the_mapping_still_loads(
    tmp_path: Path,
) -> None:
    people = _csv(tmp_path, "Person ID,Given name,Family name\nP1,Ana,Ramos\nP2,Ben,Ramos\n")
    links = _csv(tmp_path, "Person ID,Related person ID\nP1,P2\n", "links.csv")
    suggestion = suggest_mapping(read_source(people) + read_source(links))
    table = next(t for t in suggestion.tables if t.role == "relationships")
    assert table.entities == [] and all(not c.placed for c in table.columns)
    assert "says what each relationship is" in table.columns[1].reason
    assert Entity.RELATIONSHIP not in load_mapping(_write_yaml(tmp_path, suggestion)).entities


#: Why a suggested mapping may not load yet: what only a person can answer (a question says so).
ANSWERABLE = ("needs a 'key' column", "needs given_name and family_name", "names no entity")


def _headers() -> list[str]:
    """Headers clerks write, as the vocabulary knows them (every concept), plus a few it does not."""
    from importer.suggest_words import PHRASES, WEAK

    return sorted({p.title() for p in (*PHRASES, *WEAK)} | {"Remarks", "Q7", "Date", "Livestock"})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    tables=st.lists(
        st.lists(st.sampled_from(_headers()), min_size=1, max_size=8, unique_by=str.casefold),
        min_size=1,
        max_size=3,
    ),
    cells=st.sampled_from(["P1", "12", "31/12/2030", "Spouse", "F", "0917 555 0101", ""]),
)
def test_whatever_the_headers_the_suggested_mapping_loads(tmp_path: Path, tables, cells: str) -> None:
    """A suggested mapping loads, or is refused only for what the suggestion asks a person (a key, a
    name column, any entity at all): a guess that cannot be written is left out instead."""
    sources = []
    for n, headers in enumerate(tables):
        frame = pd.DataFrame([[cells] * len(headers), [f"{cells}2"] * len(headers)], columns=headers)
        path = tmp_path / f"t{n}.csv"
        frame.to_csv(path, index=False)
        sources += read_source(path)
    suggestion = suggest_mapping(sources)
    path = _write_yaml(tmp_path, suggestion)
    try:
        load_mapping(path)
    except ImportFailure as exc:  # only for what a person must answer, and the suggestion asks it
        assert suggestion.questions and any(w in exc.message for w in ANSWERABLE), exc.message


def test_a_related_persons_key_on_the_persons_own_row_leaves_the_people_table_whole(tmp_path: Path) -> None:
    """A people sheet with a "Related person ID" column is still the people: only that column is left out."""
    path = _csv(
        tmp_path, "Person ID,Given name,Family name,Related person ID\nP1,Ana,Ramos,P2\nP2,Ben,Ramos,P1\n"
    )
    [table] = suggest_mapping(read_source(path)).tables
    assert table.role == "people" and table.entities == ["individual"]
    related = next(c for c in table.columns if c.column == "Related person ID")
    assert not related.placed and "put relationships on a sheet of their own" in related.reason
    assert table.column("individual", "given_name") is not None


PHONED = (
    "Household ID,Household name,Person ID,Given name,Family name,Mobile,Other phone,Phone 3,Date collected\n"
    "H1,Ramos,P1,Ana,Ramos,+63 917 555 0101,+63 2 555 0102,+63 917 555 0103,15/03/2024\n"
    "H1,Ramos,P2,Ben,Ramos,+63 917 555 0201,,,\n"
)


def test_several_phone_columns_become_phone_records_with_the_date_beside_the_first(tmp_path: Path) -> None:
    """Three phone columns would leave one out as fields (phone, mobile): as records none is."""
    suggestion = suggest_mapping(read_source(_csv(tmp_path, PHONED)))
    [table] = suggestion.tables
    placed = {c.column: (c.entity, c.target) for c in table.columns}
    for column in ("Mobile", "Other phone", "Phone 3"):
        assert placed[column] == ("individual", "phone:number"), column
    assert placed["Date collected"] == ("individual", "phone:collected")
    people = load_mapping(_write_yaml(tmp_path, suggestion)).entities[Entity.INDIVIDUAL]
    assert [(p.column, p.collected) for p in people.phones] == [
        ("Mobile", "Date collected"),
        ("Other phone", None),
        ("Phone 3", None),
    ]
    assert "phone" not in people.fields and "mobile" not in people.fields


def test_a_lone_phone_stays_a_field_and_a_lone_collection_date_is_left_out(tmp_path: Path) -> None:
    one = _csv(tmp_path, "Person ID,Given name,Family name,Phone\nP1,Ana,Ramos,0917 555 0101\n")
    people = load_mapping(_write_yaml(tmp_path, suggest_mapping(read_source(one)))).entities
    assert people[Entity.INDIVIDUAL].fields["phone"].column == "Phone"
    assert people[Entity.INDIVIDUAL].phones == ()
    dated = _csv(
        tmp_path, "Person ID,Given name,Family name,Date collected\nP1,Ana,Ramos,15/03/2024\n", "d.csv"
    )
    [table] = suggest_mapping(read_source(dated)).tables
    when = next(c for c in table.columns if c.column == "Date collected")
    assert not when.placed and "no column beside it holds a phone number" in when.reason
    # Phones on a households sheet are the household's own fields: records are for people.
    households = _csv(
        tmp_path, "Household ID,Household name,Phone,Mobile\nH1,Ramos,02 555 0102,0917 555 0101\n", "h.csv"
    )
    [table] = suggest_mapping(read_source(households)).tables
    assert {c.column: c.target for c in table.columns if c.placed}.keys() >= {"Phone", "Mobile"}
    assert all(not (c.target or "").startswith("phone:") for c in table.columns)


def test_with_the_server_each_suggested_phone_column_is_a_number_of_the_person(tmp_path: Path) -> None:
    """Read back from the server: every phone cell a number of its person, the date on the first."""
    from importer.client import OdooClient
    from importer.sandbox import Sandbox

    path = _csv(tmp_path, PHONED)
    with Sandbox(preset="enrollment") as sb, OdooClient(settings_for(sb)) as client:
        from importer.catalog import fetch_catalog

        suggestion = suggest_mapping(read_source(path), fetch_catalog(client))
        result = run_import(
            [path],
            ImportOptions(mapping=_write_yaml(tmp_path, suggestion), out_dir=tmp_path / "r"),
            settings_for(sb),
        )
        assert result.exit_code == 0, result.report.problems.to_dict("records")
        numbers, dates = {}, {}
        for name in ("Ana", "Ben"):
            [person] = client.search_read("res.partner", [["given_name", "=", name]], ["phone"])
            found = client.search_read(
                "g2p.phone.number", [["partner_id", "=", person["id"]]], ["phone_no", "date_collected"]
            )
            numbers[name] = sorted(n["phone_no"] for n in found)
            dates.update({n["phone_no"]: n["date_collected"] for n in found})
        assert numbers == {
            "Ana": ["+63 2 555 0102", "+63 917 555 0101", "+63 917 555 0103"],
            "Ben": ["+63 917 555 0201"],
        }
        assert dates["+63 917 555 0101"] == "2024-03-15"  # the others: the server's own default
        assert dates["+63 917 555 0103"] != "2024-03-15"


def test_a_column_no_field_matches_is_offered_as_additional_information_and_kept_once_uncommented(
    tmp_path: Path,
) -> None:
    """Nothing is written that nobody asked for: the spare columns are commented lines; uncommented,
    the server holds them in the person's additional information (read back)."""
    from importer.client import OdooClient
    from importer.sandbox import Sandbox

    path = _csv(
        tmp_path,
        "Person ID,Given name,Family name,School name,Livestock,Livestock!\n"
        "P1,Ana,Ramos,San Isidro,3 goats,x\n",
    )
    suggestion = suggest_mapping(read_source(path))
    text = suggestion.to_yaml()
    assert "    # additional_info:  # columns no field matches" in text
    for line in (
        "#   school_name: School name",
        "#   livestock: Livestock",
        '#   livestock_2: "Livestock!"',
    ):
        assert line in text, text
    people = load_mapping(_write_yaml(tmp_path, suggestion)).entities[Entity.INDIVIDUAL]
    assert people.additional_info == {}  # commented: not read
    kept = text.replace("    # additional_info:", "    additional_info:")
    kept = kept.replace("    #   school_name: School name", "      school_name: School name")
    kept = kept.replace("    #   livestock: Livestock", "      livestock: Livestock")
    mapping = tmp_path / "kept.yaml"
    mapping.write_text(kept, encoding="utf-8")
    assert load_mapping(mapping).entities[Entity.INDIVIDUAL].additional_info == {
        "school_name": "School name",
        "livestock": "Livestock",
    }
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        result = run_import([path], ImportOptions(mapping=mapping, out_dir=tmp_path / "r"), settings_for(sb))
        assert result.exit_code == 0, result.report.problems.to_dict("records")
        [ana] = client.search_read("res.partner", [["given_name", "=", "Ana"]], ["additional_g2p_info"])
        info = ana["additional_g2p_info"]
        assert (json.loads(info) if isinstance(info, str) else info) == {
            "school_name": "San Isidro",
            "livestock": "3 goats",
        }


def test_an_expiry_or_a_collection_date_alone_sets_the_mappings_date_order(tmp_path: Path) -> None:
    """A file whose only dates are an ID's expiry reads them in their order (else each one is refused)."""
    text = "Person ID,Given name,Family name,Passport no,Passport expiry\nP1,Ana,Ramos,P1,31/12/2030\n"
    assert suggest_mapping(read_source(_csv(tmp_path, text))).date_order == "day-first"
    text = "Person ID,Given name,Family name,Mobile,Date collected\nP1,Ana,Ramos,0917 555 0101,2024-03-15\n"
    assert suggest_mapping(read_source(_csv(tmp_path, text, "p.csv"))).date_order == "iso"


def test_a_relationships_sheet_in_french_gets_the_servers_types_and_imports(tmp_path: Path) -> None:
    """Épouse, Enfant, Père, Frère: each the server's type (by name or inverse name), written in
    values:, so the suggested mapping imports every relationship (read back from the server)."""
    from importer.catalog import suggestion_catalog
    from importer.client import OdooClient
    from importer.sandbox import Sandbox

    people = _csv(
        tmp_path,
        "Identifiant individu,Prénom,Nom\nI1,Awa,Diallo\nI2,Moussa,Diallo\nI3,Fatou,Diallo\nI4,Ali,Diallo\n",
        "individus.csv",
    )
    links = _csv(
        tmp_path,
        "Identifiant individu,Identifiant individu lié,Lien\n"
        "I1,I2,Épouse\nI3,I1,Enfant\nI2,I3,Père\nI4,I3,frère\n",
        "liens.csv",
    )
    with Sandbox(preset="enrollment") as sb, OdooClient(settings_for(sb)) as client:
        suggestion = suggest_mapping(read_source(people) + read_source(links), suggestion_catalog(client))
        lien = next(c for t in suggestion.tables for c in t.columns if c.column == "Lien")
        assert (lien.entity, lien.target) == ("relationship", "relation"), lien.reason
        assert {v.value: v.target for v in lien.values} == {
            "Épouse": "Spouse",
            "Enfant": "Child",
            "Père": "Parent",
            "frère": "Sibling",
        }
        text = suggestion.to_yaml()
        assert "relationship.relation:" in text and "relationship.relation: [" not in text  # no allowed list
        result = run_import(
            [people, links],
            ImportOptions(mapping=_write_yaml(tmp_path, suggestion), out_dir=tmp_path / "r"),
            settings_for(sb),
        )
        assert result.exit_code == 0, result.report.problems.to_dict("records")
        names = {p["id"]: p["given_name"] for p in client.search_read("res.partner", [], ["given_name"])}
        held = {
            (names[r["source"][0]], r["relation"][1], names[r["destination"][0]])
            for r in client.search_read("g2p.reg.rel", [], ["source", "destination", "relation"])
        }
    assert held == {
        ("Awa", "Spouse", "Moussa"),  # a two-way type: its ends in their keys' order (I1, I2)
        ("Awa", "Parent", "Fatou"),  # "Fatou Enfant Awa": Fatou is Awa's child
        ("Moussa", "Parent", "Fatou"),
        ("Fatou", "Sibling", "Ali"),  # I3 before I4
    }, held
