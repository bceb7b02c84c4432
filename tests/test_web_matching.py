"""The matching screen through Flask's test client, against a real sandbox registry.

A roster in French headers matches no shipped layout: the page suggests a
field per column, the clerk corrects one, checks the file with the form's
layout (a dry run the server answers), and saves it; an administrator saves
for every clerk, a clerk for their session; the next upload with the same
headers is recognised.  Bad input gets a sentence, never a traceback.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from web_support import MAPPINGS, SAMPLES, french_roster, page_config, signed_in, text, upload, wait_for

from importer.client import OdooClient
from importer.mapping import load_mapping
from importer.outcome import Entity
from importer.read import read_source
from importer.sandbox import ADMIN_LOGIN, ADMIN_PASSWORD, Sandbox
from importer.sandbox.auth import READONLY_LOGIN, READONLY_PASSWORD, REGISTRAR_LOGIN, REGISTRAR_PASSWORD
from importer.suggest import suggest_mapping
from importer.web.app import create_app
from importer.web.matching import apply_form, distinct_values, layout_key

ROWS = 238  # roster.csv's people


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    return folder


@pytest.fixture
def app(registry: Sandbox, tmp_path: Path, mappings: Path) -> Iterator[Flask]:
    app = create_app(page_config(registry, tmp_path / "work", mappings, TESTING=True))
    yield app
    app.extensions["spp_shutdown"]()


def upload_french(web: FlaskClient, name: str) -> str:
    """Upload the French roster under ``name``, leaving the page to detect its layout; the job's URL."""
    answer = upload(web, Path(name), data=french_roster().encode())
    assert answer.status_code == 302
    return answer.headers["Location"]


class FormReader(HTMLParser):
    """The fields a browser would send from the form with ``form_id``: as the page fills them in."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside = form_id, False
        self.fields: list[tuple[str, str]] = []
        self.select: str | None = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") == "checkbox" and "checked" not in a:
                return
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self.select, self.options = a.get("name"), []
        elif tag == "option" and self.select:
            self.options.append((a.get("value", ""), "selected" in a))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select:
            chosen = [v for v, on in self.options if on] or [self.options[0][0]]
            self.fields.append((self.select, chosen[0]))
            self.select = None


def form_of(page: str, form_id: str = "match-form") -> dict[str, list[str]]:
    reader = FormReader(form_id)
    reader.feed(page)
    fields: dict[str, list[str]] = {}
    for name, value in reader.fields:
        fields.setdefault(name, []).append(value)
    assert fields, f"no form {form_id} on the page"
    return fields


def field_name(page: str, column: str) -> str:
    """The form name of the select for one column of the file."""
    match = re.search(r'for="(t\d+-c\d+)">Registry field for the column “' + re.escape(column) + "”", page)
    assert match, f"no field list for {column}"
    return match.group(1)


def unmatched(web: FlaskClient, name: str = "registre.csv") -> tuple[str, str]:
    job_url = upload_french(web, name)
    assert wait_for(web, job_url)["state"] == "failed"
    return job_url, text(web.get(job_url))


def test_an_upload_no_layout_fits_opens_the_matching_screen_with_a_suggestion_per_column(app: Flask) -> None:
    web = app.test_client()
    signed_in(web)
    _job_url, page = unmatched(web)
    assert "do not match any layout we know" in page
    assert 'id="matching"' in page and 'id="mismatch"' in page  # the layouts to choose stay below
    form = form_of(page)
    assert form[field_name(page, "Sexe")] == ["individual|gender"]
    assert form[field_name(page, "Nº de ménage")] == ["group|key"]
    assert form[field_name(page, "Appeler au")] == [""]  # nothing suggested: left out until the clerk says
    assert form[field_name(page, "Pièce")] == ["individual|id:National ID"]  # by the ID type's pattern
    assert form["date_order"] == ["day-first"]
    # the list holds the registry's fields with their labels and types, per entity, and its ID types
    assert '<optgroup label="People">' in page and '<optgroup label="Households">' in page
    assert "Date of Birth (birthdate) · date" in page or "Birthdate · date" in page
    assert 'value="individual|id:National ID"' in page
    # coded values, each with the server value it is taken to mean
    sexe = field_name(page, "Sexe")
    values = {k: v for k, v in form.items() if k.startswith(sexe + "-v")}
    assert sorted(v[0] for v in values.values()) == ["Female", "Female", "Male", "Male"]
    assert "<code>female</code>" in page
    assert "Registry field for the column “Appeler au”" in page  # a label for every list


def check_with(web: FlaskClient, job_url: str, page: str, **changes: str) -> object:
    form = form_of(page)
    for name, value in changes.items():
        form[name] = [value]
    return web.post(job_url + "/match", data=form)


def test_the_corrected_form_makes_a_mapping_the_loader_reads_and_the_dry_run_uses(app: Flask) -> None:
    web = app.test_client()
    signed_in(web)
    job_url, page = unmatched(web)
    answer = check_with(
        web,
        job_url,
        page,
        **{field_name(page, "Appeler au"): "individual|phone", "name": "Registre FR", "action": "check"},
    )
    assert answer.status_code == 302, text(answer)
    check_url = answer.headers["Location"]
    assert check_url != job_url and wait_for(web, check_url)["state"] == "done"
    report = text(web.get(check_url))
    assert f"All {ROWS} rows are ready to import." in report
    assert 'id="save-layout"' in report and "Registre FR" in report
    job = next(j for j in app.extensions["spp_sessions"].all_jobs() if j.matched_from)
    mapping = load_mapping(job.mapping.path)
    individual = mapping.entities[Entity.INDIVIDUAL]
    assert individual.ids == {"National ID": "Pièce"}
    assert individual.key == "Code membre" and individual.fields["phone"].column == "Appeler au"
    # the screen keeps the clerk's choices when they come back to it
    again = text(web.get(job_url))
    assert form_of(again)[field_name(again, "Appeler au")] == ["individual|phone"]
    assert "The mapping file these choices make" in again and "phone: Appeler au" in again


#: (what the clerk changes on the form, what the page says)
BAD_CHOICES = [
    ({"Appeler au": "individual|password"}, "'Appeler au': choose a field from the list"),
    ({"Prénom": "individual|family_name"}, "'Prénom' and 'Nom' are both set to person: family_name"),
    ({"Code membre": ""}, "choose the column that identifies each person"),
    ({"name": "../../etc/passwd"}, "A layout's name is letters, digits"),
    ({"name": ""}, "Give the layout a name"),
    ({"date_order": "backwards"}, "Choose how dates are written"),
    ({"entities": []}, "Tick what the file holds"),
    ({"entities": ["individual", "membership"]}, "is not ticked as holding households"),
    ({"Sexe-v0": "Martian"}, "choose what 'M' means from the list"),
]


def test_choices_that_cannot_make_a_layout_are_told_in_words(app: Flask) -> None:
    web = app.test_client()
    signed_in(web)
    job_url, page = unmatched(web)  # one upload, every bad form posted to its screen in turn
    for change, said in BAD_CHOICES:
        form = form_of(page)
        for key, value in change.items():
            if key == "entities":
                form["t0-entities"] = value
            elif key in ("name", "date_order"):
                form[key] = [value]
            elif key.endswith("-v0"):
                form[field_name(page, key[:-3]) + "-v0"] = [value]
            else:
                form[field_name(page, key)] = [value]
        form["action"] = ["check"]
        answer = web.post(job_url + "/match", data=form)
        assert answer.status_code == 400, change
        shown = text(answer)
        assert 'id="match-problems"' in shown and said in shown, (change, shown[:2000])
        assert "Traceback" not in shown
    assert len(app.extensions["spp_sessions"].all_jobs()) == 1  # no run was started


def save(web: FlaskClient, job_url: str, page: str, name: str, **extra: str) -> object:
    changes = {field_name(page, "Appeler au"): "individual|phone", "name": name, "action": "save"}
    return check_with(web, job_url, page, **changes, **extra)


def test_an_administrator_saves_for_every_clerk_and_the_next_upload_is_recognised(
    app: Flask, mappings: Path
) -> None:
    web = app.test_client()
    signed_in(web)
    job_url, page = unmatched(web)
    answer = save(web, job_url, page, "Registre des ménages")
    assert answer.status_code == 303
    assert "saved for every clerk" in text(web.get("/"))
    saved = mappings / "registre_des_m_nages.yaml"
    assert saved.is_file() and load_mapping(saved).name == "Registre des ménages"
    other = app.test_client()  # another clerk, another session: the layout is theirs too
    signed_in(other, REGISTRAR_LOGIN, REGISTRAR_PASSWORD)
    assert "Registre des ménages" in text(other.get("/"))
    check_url = upload_french(other, "registre-juin.csv")
    assert wait_for(other, check_url)["state"] == "done"
    report = text(other.get(check_url))
    assert "Registre des ménages" in report and "recognised from the column headers" in report
    assert "ready to import" in report


def test_a_clerk_saves_for_their_session_only(app: Flask, mappings: Path) -> None:
    before = sorted(p.name for p in mappings.iterdir())
    web = app.test_client()
    signed_in(web, REGISTRAR_LOGIN, REGISTRAR_PASSWORD)
    job_url, page = unmatched(web)
    assert "saved for your session only" in page
    answer = save(web, job_url, page, "Mon registre")
    assert answer.status_code == 303
    assert "saved for your session" in text(web.get("/"))
    assert sorted(p.name for p in mappings.iterdir()) == before  # nothing for everyone
    check_url = upload_french(web, "registre.csv")
    assert wait_for(web, check_url)["state"] == "done"
    assert "recognised from the column headers" in text(web.get(check_url))
    other = app.test_client()
    signed_in(other)
    assert "Mon registre" not in text(other.get("/"))
    _url, elsewhere = unmatched(other)
    assert 'id="matching"' in elsewhere  # another clerk's session does not know it


def test_a_shipped_layout_is_never_overwritten_by_accident(app: Flask, mappings: Path) -> None:
    shipped = (mappings / "roster.yaml").read_text(encoding="utf-8")
    web = app.test_client()
    signed_in(web)
    job_url, page = unmatched(web)
    refused = save(web, job_url, page, "roster")
    assert refused.status_code == 400 and "exists already for every clerk" in text(refused)
    assert (mappings / "roster.yaml").read_text(encoding="utf-8") == shipped
    clerk = app.test_client()
    signed_in(clerk, REGISTRAR_LOGIN, REGISTRAR_PASSWORD)
    url2, page2 = unmatched(clerk)
    refused = save(clerk, url2, page2, "roster", replace="yes")  # a clerk may not, even when asking
    assert refused.status_code == 400 and "a layout every clerk uses" in text(refused)
    assert (mappings / "roster.yaml").read_text(encoding="utf-8") == shipped
    replaced = save(web, job_url, page, "roster", replace="yes")  # the administrator, knowingly
    assert replaced.status_code == 303
    assert "Appeler au" in (mappings / "roster.yaml").read_text(encoding="utf-8")


def test_the_matching_forms_need_their_csrf_token(app: Flask) -> None:
    web = app.test_client()
    signed_in(web)
    job_url, page = unmatched(web)
    form = form_of(page)
    form.pop("csrf_token")
    answer = web.post(job_url + "/match", data={**form, "action": "check"})
    assert answer.status_code == 400 and "This form had expired" in text(answer)
    answer = web.post(job_url + "/save-layout", data={"name": "x"})
    assert answer.status_code == 400 and "This form had expired" in text(answer)


def test_who_may_save_for_everyone_is_the_registrys_settings_right(registry: Sandbox) -> None:
    from conftest import settings_for

    rights = {}
    for login, password in (
        (ADMIN_LOGIN, ADMIN_PASSWORD),
        (REGISTRAR_LOGIN, REGISTRAR_PASSWORD),
        (READONLY_LOGIN, READONLY_PASSWORD),
    ):
        with OdooClient(settings_for(registry, login=login, secret=password)) as client:
            client.authenticate()
            rights[login] = client.check_access("ir.model.fields", "write")
    assert rights == {ADMIN_LOGIN: True, REGISTRAR_LOGIN: False, READONLY_LOGIN: False}


def test_a_column_made_coded_on_the_screen_gets_its_values_guessed(tmp_path: Path) -> None:
    source = tmp_path / "liste.csv"
    rows = "Code,Prénom,Nom,Q7\n1,Ana,Lopes,Femme\n2,Rui,Lopes,Homme\n3,Eva,Sá,F\n"
    source.write_text(rows, encoding="utf-8")
    tables = read_source(source)
    base = suggest_mapping(tables, name="liste")
    [q7] = _at(base, "Q7")
    base.tables[0].columns[q7].entity = base.tables[0].columns[q7].target = None
    form = FakeForm({f"t0-c{q7}": "individual|gender"})
    applied, _problems = apply_form(base, form, login="ana", codes=distinct_values(tables))
    col = applied.tables[0].columns[q7]
    assert (col.entity, col.target, col.confidence) == ("individual", "gender", "chosen")
    assert {v.value: v.target for v in col.values} == {"Femme": "Female", "Homme": "Male", "F": "Female"}


class FakeForm(dict):
    def getlist(self, key: str) -> list[str]:
        value = self.get(key)
        return [] if value is None else value if isinstance(value, list) else [value]


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "x" * 61, "a\\b", "con\x00"])
def test_a_layout_name_cannot_reach_outside_its_folder(name: str) -> None:
    key, why = layout_key(name)
    assert why and not key


def test_a_layout_name_in_any_script_gets_a_safe_file_name() -> None:
    key, why = layout_key("名簿 2024")
    assert why is None and re.fullmatch(r"[a-z0-9_]+", key)


def test_the_field_lists_hold_the_registrys_own_fields_and_id_types(tmp_path: Path) -> None:
    from importer.catalog import PARTNER, Catalog
    from importer.web.matching import field_groups

    catalog = Catalog(
        online=True,
        id_types={"Passport": (1, None), "National ID": (2, None)},
        fields={
            PARTNER: {
                "birthdate": {"type": "date", "string": "Date of Birth"},
                "x_cst_indv_disability_level": {
                    "type": "selection",
                    "string": "Disability level",
                    "selection": [["none", "None"], ["severe", "Severe"]],
                },
                "x_cst_grp_water_source": {"type": "char", "string": "Water source"},
                "x_cst_indv_score": {"type": "float", "string": "Score", "readonly": True},
            }
        },
    )
    source = tmp_path / "liste.csv"
    source.write_text("Code,Prénom,Nom,Handicap\n1,Ana,Lopes,severe\n", encoding="utf-8")
    base = suggest_mapping(read_source(source), catalog, name="liste")
    groups = {g.label: {o.value: (o.label, o.kind) for o in g.options} for g in field_groups(catalog, base)}
    people, households = groups["People"], groups["Households"]
    assert people["individual|birthdate"] == ("Date of Birth (birthdate)", "date")
    assert people["individual|x_cst_indv_disability_level"] == (
        "Disability level (x_cst_indv_disability_level)",
        "from a list, this registry's own field",
    )
    assert "individual|x_cst_indv_score" not in people  # computed by the server: no column feeds it
    assert "individual|x_cst_grp_water_source" not in people and "group|x_cst_grp_water_source" in households
    assert set(groups["A person's ID numbers"]) == {
        f"individual|{what}:{id_type}" for what in ("id", "expiry") for id_type in ("Passport", "National ID")
    }
    [handicap] = _at(base, "Handicap")
    form = FakeForm({f"t0-c{handicap}": "individual|x_cst_indv_disability_level"})
    applied, problems = apply_form(base, form, login="ana", groups=field_groups(catalog, base))
    assert not [p for p in problems if "Handicap" in p]
    assert applied.tables[0].columns[handicap].target == "x_cst_indv_disability_level"
    assert "x_cst_indv_disability_level: Handicap" in applied.to_yaml()


def test_a_bank_account_chosen_on_the_screen_makes_one_account_with_its_bank(tmp_path: Path) -> None:
    """The screen lists a person's bank account; the bank alone is refused in words, the pair is written."""
    from importer.web.matching import build_layout

    base, groups = _liste(tmp_path, "Code,Prénom,Nom,Q1,Q2\n1,Ana,Lopes,0012-34,Rural Bank\n")
    banks = next(g for g in groups if g.label == "A person's bank account")
    assert [o.value for o in banks.options] == ["individual|bank:account", "individual|bank:bank"]
    q1, q2 = _at(base, "Q1", "Q2")
    _, problems = apply_form(
        base, FakeForm({f"t0-c{q2}": "individual|bank:bank"}), login="ana", groups=groups
    )
    said = "'Q2' is set to person: bank of that account: choose the column holding the account number too"
    assert any(said in p for p in problems), problems
    form = FakeForm({f"t0-c{q1}": "individual|bank:account", f"t0-c{q2}": "individual|bank:bank"})
    applied, problems = apply_form(base, form, login="ana", groups=groups)
    assert not problems, problems
    layout = build_layout(applied, "Liste", "ana", tmp_path / "layouts")
    people = layout.mapping.entities[Entity.INDIVIDUAL]
    assert [(b.account, b.bank) for b in people.banks] == [("Q1", "Q2")]


def test_an_id_expiry_is_chosen_with_its_number_or_refused_in_words(tmp_path: Path) -> None:
    """The expiry of an ID goes beside its number under ids:; alone it would be dropped, so it is refused."""
    from importer.web.matching import build_layout

    base, groups = _liste(tmp_path, "Code,Prénom,Nom,Q1,Q2\n1,Ana,Lopes,P123,31/12/2030\n")
    q1, q2 = _at(base, "Q1", "Q2")
    alone = FakeForm({f"t0-c{q2}": "individual|expiry:National ID"})
    _, problems = apply_form(base, alone, login="ana", groups=groups)
    said = "'Q2' is set to expiry of ID: National ID: choose the column holding the National ID number"
    assert any(said in p for p in problems), problems
    form = FakeForm({f"t0-c{q1}": "individual|id:National ID", f"t0-c{q2}": "individual|expiry:National ID"})
    applied, problems = apply_form(base, form, login="ana", groups=groups)
    assert not problems, problems
    people = build_layout(applied, "Liste", "ana", tmp_path / "layouts").mapping.entities[Entity.INDIVIDUAL]
    assert people.ids == {"National ID": "Q1"} and people.id_expiry == {"National ID": "Q2"}


def test_every_suggested_field_of_the_enrollment_workbook_is_on_the_screen_and_makes_its_layout(
    tmp_path: Path,
) -> None:
    """IDs with expiry, accounts, a relationships sheet: the screen can show each guess, keeping
    them all makes the layout, and a relationship without its related person is refused in words."""
    from importer.web.matching import build_layout, field_groups, option_value

    base = suggest_mapping(read_source(SAMPLES / "enrollment.xlsx"), name="enrollment")
    groups = field_groups(None, base)
    listed = {o.value for g in groups for o in g.options}
    placed = {option_value(c.entity, c.target) for t in base.tables for c in t.columns if c.placed}
    assert placed <= listed, placed - listed
    assert {"individual|expiry:Passport", "individual|bank:account", "relationship|destination"} <= placed
    applied, problems = apply_form(base, FakeForm({}), login="ana", groups=groups)
    assert not problems, problems
    mapping = build_layout(applied, "Enrollment", "ana", tmp_path / "layouts").mapping
    assert mapping.entities[Entity.RELATIONSHIP].rel_destination == "Related person ID"
    i = next(n for n, t in enumerate(base.tables) if t.role == "relationships")
    j = next(n for n, c in enumerate(base.tables[i].columns) if c.column == "Related person ID")
    _, problems = apply_form(base, FakeForm({f"t{i}-c{j}": ""}), login="ana", groups=groups)
    assert any("choose the column holding the key of the related person" in p for p in problems), problems


def test_phone_numbers_chosen_on_the_screen_become_records_and_a_lone_date_is_refused(tmp_path: Path) -> None:
    """The screen lists a person's phone numbers as records; the collection date alone is refused in words."""
    from importer.web.matching import build_layout

    base, groups = _liste(
        tmp_path, "Code,Prénom,Nom,Q1,Q2,Q3\n1,Ana,Lopes,0917 555 0101,0917 555 0102,15/03/2024\n"
    )
    phones = next(g for g in groups if g.label == "A person's phone numbers")
    assert [o.value for o in phones.options] == ["individual|phone:number", "individual|phone:collected"]
    q1, q2, q3 = _at(base, "Q1", "Q2", "Q3")
    alone = FakeForm({f"t0-c{q3}": "individual|phone:collected"})
    _, problems = apply_form(base, alone, login="ana", groups=groups)
    said = (
        "'Q3' is set to person: date the phone number was collected: choose the column holding a phone number"
    )
    assert any(said in p for p in problems), problems
    form = FakeForm(
        {
            f"t0-c{q1}": "individual|phone:number",
            f"t0-c{q2}": "individual|phone:number",
            f"t0-c{q3}": "individual|phone:collected",
        }
    )
    applied, problems = apply_form(base, form, login="ana", groups=groups)
    assert not problems, problems
    people = build_layout(applied, "Liste", "ana", tmp_path / "layouts").mapping.entities[Entity.INDIVIDUAL]
    assert [(p.column, p.collected) for p in people.phones] == [("Q1", "Q3"), ("Q2", None)]


def test_columns_chosen_as_additional_information_are_kept_under_their_names(tmp_path: Path) -> None:
    from importer.web.matching import build_layout

    base, groups = _liste(tmp_path, "Code,Prénom,Nom,École,Bétail\n1,Ana,Lopes,San Isidro,3 chèvres\n")
    people = next(g for g in groups if g.label == "People")
    assert "individual|info" in [o.value for o in people.options]
    school, cattle = _at(base, "École", "Bétail")
    form = FakeForm({f"t0-c{school}": "individual|info", f"t0-c{cattle}": "individual|info"})
    applied, problems = apply_form(base, form, login="ana", groups=groups)
    assert not problems, problems
    mapping = build_layout(applied, "Liste", "ana", tmp_path / "layouts").mapping
    assert mapping.entities[Entity.INDIVIDUAL].additional_info == {"ecole": "École", "betail": "Bétail"}


def _at(suggestion, *columns: str) -> list[int]:
    """Where each named column is in the first table (the form names a column by its place)."""
    names = [c.column for c in suggestion.tables[0].columns]
    return [names.index(column) for column in columns]


def _liste(tmp_path: Path, text: str):
    """A clerk's file nobody has described, its suggestion, and the screen's lists of fields."""
    from importer.web.matching import field_groups

    source = tmp_path / "liste.csv"
    source.write_text(text, encoding="utf-8")
    base = suggest_mapping(read_source(source), name="liste")
    return base, field_groups(None, base)
