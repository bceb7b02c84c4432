"""Contract: every Odoo error the sandbox gives reaches the caller as the right exception class.

Callers catch by meaning (``ValidationError`` for a refused row,
``AuthenticationError`` for a bad login, ...), so the mapping from Odoo's
``data.name`` to the client's tree is pinned here, case by case, together
with the promise that application errors are never retried, that every
OpenG2P constraint arrives with the server's wording, and that no secret
ever leaks into an exception, a repr or an audit record.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from importer import errors
from importer.client import CallRecord, OdooClient
from importer.sandbox import ADMIN_API_KEY, READONLY_LOGIN, READONLY_PASSWORD, Sandbox
from importer.settings import ConnectionSettings, Secret
from tests.conftest import settings_for


def _person(client: OdooClient, name: str = "P", **vals: Any) -> int:
    return client.create("res.partner", {"name": name, "is_registrant": True, "is_group": False, **vals})


def _group(client: OdooClient, name: str = "G") -> int:
    return client.create("res.partner", {"name": name, "is_registrant": True, "is_group": True, "kind": 1})


def _object_calls(sandbox: Sandbox, method: str) -> list[str]:
    """Outcomes of the object calls to `method` the sandbox saw, in order."""
    return [e[-1] for e in sandbox.call_log if e[0] == "object" and e[3] == method]


@pytest.fixture(scope="module")
def _shared() -> Iterator[tuple[Sandbox, OdooClient]]:
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        yield sb, client


@pytest.fixture
def shared(_shared: tuple[Sandbox, OdooClient]) -> tuple[Sandbox, OdooClient]:
    """One sandbox for calls the server refuses (they change nothing); a clean call log each test."""
    _shared[0].clear_call_log()
    return _shared


# -- error classes -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "method", "args", "cls", "name", "message"),
    [
        (
            "res.partnr",
            "search",
            [[]],
            errors.UserError,
            "odoo.exceptions.UserError",
            "Object res.partnr doesn't exist",
        ),
        (
            "res.partner",
            "frobnicate",
            [],
            errors.ServerError,
            "builtins.AttributeError",
            "The method 'frobnicate' does not exist on the model 'res.partner'",
        ),
        (
            "res.partner",
            "_private",
            [],
            errors.AccessError,
            "odoo.exceptions.AccessError",
            "Private methods (such as _private) cannot be called remotely.",
        ),
        (
            "res.partner",
            "create",
            [{"name": "x", "reg_id": "1"}],
            errors.ServerError,
            "builtins.ValueError",
            "Invalid field 'reg_id' on model 'res.partner'",
        ),
        (
            "res.partner",
            "create",
            [{"name": "x", "gender": 2}],
            errors.ServerError,
            "builtins.ValueError",
            "Wrong value for res.partner.gender: 2",
        ),
        (
            "res.partner",
            "create",
            [{"name": "x", "birthdate": "01/05/1990"}],
            errors.ServerError,
            "builtins.ValueError",
            "time data '01/05/1990' does not match format '%Y-%m-%d'",
        ),
        (
            "res.partner",
            "search",
            [[["no_such_field", "=", 1]]],
            errors.ServerError,
            "builtins.ValueError",
            "Invalid field res.partner.no_such_field in leaf ('no_such_field', '=', 1)",
        ),
        (
            "res.partner",
            "search",
            [[["name", "~", "x"]]],
            errors.ServerError,
            "builtins.ValueError",
            None,
        ),
        (
            "res.partner",
            "load",
            [["id", "name", "reg_id"], [["x", "X", "1"]]],
            errors.ServerError,
            "builtins.KeyError",
            None,
        ),
        (
            "res.partner",
            "create",
            [{"is_registrant": True}],
            errors.ValidationError,
            "odoo.exceptions.ValidationError",
            "The operation cannot be completed: Contacts require a name",
        ),
        (
            "res.partner",
            "write",
            [[10**6], {"name": "x"}],
            errors.MissingRecord,
            "odoo.exceptions.MissingError",
            None,
        ),
        (
            "res.partner",
            "unlink",
            [[10**6]],
            errors.MissingRecord,
            "odoo.exceptions.MissingError",
            None,
        ),
    ],
)
def test_each_odoo_error_becomes_its_class_and_is_sent_once(
    shared: tuple[Sandbox, OdooClient],
    model: str,
    method: str,
    args: list,
    cls: type[errors.OdooError],
    name: str,
    message: str | None,
) -> None:
    sandbox, client = shared
    with pytest.raises(cls) as caught:
        client.execute_kw(model, method, args)
    err = caught.value
    assert type(err) is cls and isinstance(err, errors.OdooError)
    assert (err.name, err.model, err.method) == (name, model, method)
    if message is not None:
        assert err.server_message == message
    assert str(err).endswith(f"({model}.{method})")
    assert "Traceback" not in str(err)  # the server's debug text is dropped
    # An application error would fail the same way again: never retried.
    assert _object_calls(sandbox, method) == [name]


def test_a_refused_login_is_an_authentication_error_naming_login_and_database(sandbox: Sandbox) -> None:
    client = OdooClient(settings_for(sandbox, secret="wrong-secret"))
    with client, pytest.raises(errors.AuthenticationError) as caught:
        client.search_count("res.partner")
    assert caught.value.name == "odoo.exceptions.AccessDenied"
    assert "'admin'" in str(caught.value) and "'openspp'" in str(caught.value)
    assert [e[1] for e in sandbox.call_log] == ["authenticate"]  # not retried, nothing else sent


def test_unknown_login_is_refused_like_a_wrong_password(sandbox: Sandbox) -> None:
    client = OdooClient(settings_for(sandbox, login="nobody", secret="x"))
    with client, pytest.raises(errors.AuthenticationError):
        client.authenticate()


def test_a_password_changed_mid_run_gives_access_denied_on_the_next_call(
    sandbox: Sandbox, client: OdooClient
) -> None:
    assert client.search_count("res.partner") >= 0
    sandbox.set_password("admin", "rotated")
    with pytest.raises(errors.AuthenticationError) as caught:
        client.search_count("res.partner")
    assert caught.value.name == "odoo.exceptions.AccessDenied"
    assert caught.value.server_message == "Access Denied"
    assert _object_calls(sandbox, "search_count") == ["ok", "odoo.exceptions.AccessDenied"]


def test_an_unknown_database_is_a_server_error_not_a_login_refusal(sandbox: Sandbox) -> None:
    settings = settings_for(sandbox).with_overrides(db="nodb")
    with OdooClient(settings) as client, pytest.raises(errors.ServerError) as caught:
        client.authenticate()
    assert caught.value.name == "psycopg2.OperationalError"
    assert 'database "nodb" does not exist' in caught.value.server_message
    assert len(sandbox.call_log) == 1


@pytest.mark.parametrize(
    ("method", "args", "verb"),
    [
        ("create", lambda pid: [{"name": "x"}], "create"),
        ("write", lambda pid: [[pid], {"name": "y"}], "modify"),
        ("unlink", lambda pid: [[pid]], "delete"),
    ],
)
def test_the_read_only_user_gets_access_error_on_every_write(
    sandbox: Sandbox, method: str, args: Any, verb: str
) -> None:
    with OdooClient(settings_for(sandbox)) as admin:
        pid = _person(admin, "target")
    with OdooClient(settings_for(sandbox, READONLY_LOGIN, READONLY_PASSWORD)) as viewer:
        assert viewer.read("res.partner", [pid], ["name"]) == [{"id": pid, "name": "target"}]
        with pytest.raises(errors.AccessError) as caught:
            viewer.execute_kw("res.partner", method, args(pid))
    assert f"You are not allowed to {verb}" in caught.value.server_message
    assert _object_calls(sandbox, method)[-1] == "odoo.exceptions.AccessError"
    with OdooClient(settings_for(sandbox)) as admin:
        assert admin.read("res.partner", [pid], ["name"]) == [{"id": pid, "name": "target"}]


def test_rights_taken_away_mid_run_give_access_error_then_work_again(
    sandbox: Sandbox, client: OdooClient
) -> None:
    _person(client, "before")
    sandbox.set_readonly("admin", True)
    with pytest.raises(errors.AccessError):
        _person(client, "during")
    sandbox.set_readonly("admin", False)
    assert _person(client, "after")
    assert client.search_count("res.partner", [["name", "=", "during"]]) == 0


def test_a_failed_call_leaves_nothing_behind(client: OdooClient) -> None:
    before = client.search_count("res.partner")
    with pytest.raises(errors.ServerError):
        client.create("res.partner", [{"name": "ok"}, {"name": "bad", "gender": "F"}])
    with pytest.raises(errors.ValidationError):
        _person(client, "P", reg_ids=[(0, 0, {"id_type": 1, "value": "not-ten-digits"})])
    assert client.search_count("res.partner") == before
    assert client.search_count("g2p.reg.id") == 0


def test_the_observer_records_the_error_class_and_no_arguments(sandbox: Sandbox) -> None:
    seen: list[CallRecord] = []
    with OdooClient(settings_for(sandbox), observer=seen.append) as client:
        client.create("res.partner", [{"name": "a"}, {"name": "b"}])
        with pytest.raises(errors.ValidationError):
            client.create("res.partner", {"given_name": "nameless"})
    assert [(r.service, r.model, r.method, r.rows, r.outcome, r.error_name, r.attempt) for r in seen] == [
        ("common", None, "authenticate", 0, "ok", None, 1),
        ("object", "res.partner", "create", 2, "ok", None, 1),
        ("object", "res.partner", "create", 1, "error", "odoo.exceptions.ValidationError", 1),
    ]
    assert all(r.duration_s >= 0 for r in seen)
    assert not any("nameless" in repr(r) for r in seen)


# -- constraints -----------------------------------------------------------------------


def _refused(call: Any, *args: Any, **kwargs: Any) -> errors.ValidationError:
    with pytest.raises(errors.ValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.name == "odoo.exceptions.ValidationError"
    return caught.value


def test_registration_date_in_the_future_is_refused(client: OdooClient) -> None:
    tomorrow = (date.today() + timedelta(days=1)).isoformat()
    err = _refused(_person, client, "X", registration_date=tomorrow)
    assert err.server_message == "Registration date must be less than the current date."


def test_registration_date_before_birth_is_refused(client: OdooClient) -> None:
    err = _refused(
        client.create,
        "res.partner",
        {"name": "X", "birthdate": "2000-01-01", "registration_date": "1999-01-01"},
    )
    assert err.server_message == "Registration date must be later than the birth date."


def test_same_individual_twice_in_a_group_is_refused(client: OdooClient) -> None:
    gid, pid = _group(client), _person(client)
    client.create("g2p.group.membership", {"group": gid, "individual": pid})
    err = _refused(client.create, "g2p.group.membership", {"group": gid, "individual": pid})
    assert (
        err.server_message == "Duplication of Member is not allowed"
    )  # the client strips the trailing space


def test_membership_ending_before_it_starts_is_refused(client: OdooClient) -> None:
    gid, pid = _group(client), _person(client)
    vals = {"group": gid, "individual": pid, "start_date": "2024-02-01", "ended_date": "2024-01-01"}
    err = _refused(client.create, "g2p.group.membership", vals)
    assert err.server_message == "End Date cannot be earlier than Start Date"


def test_second_id_of_one_type_is_refused(client: OdooClient) -> None:
    pid = _person(client)
    client.create("g2p.reg.id", {"partner_id": pid, "id_type": 1, "value": "1234567890"})
    err = _refused(client.create, "g2p.reg.id", {"partner_id": pid, "id_type": 1, "value": "0987654321"})
    assert err.server_message == "ID Type must be unique."


def test_id_value_not_matching_its_types_regex_is_refused(client: OdooClient) -> None:
    err = _refused(client.create, "g2p.reg.id", {"partner_id": _person(client), "id_type": 2, "value": "no!"})
    assert err.server_message == "The provided Passport ID 'no!' is invalid."


def test_id_without_a_type_is_refused_as_a_missing_mandatory_field(client: OdooClient) -> None:
    err = _refused(client.create, "g2p.reg.id", {"partner_id": _person(client), "value": "x"})
    assert "a mandatory field is not set" in err.server_message and "(id_type)" in err.server_message


def test_after_a_second_head_any_write_to_the_group_fails(client: OdooClient) -> None:
    gid, a, b = _group(client), _person(client, "A"), _person(client, "B")
    for pid in (a, b):  # accepted over RPC, as on the real server
        client.create("g2p.group.membership", {"group": gid, "individual": pid, "kind": [(4, 1)]})
    for target in (a, gid):
        err = _refused(client.write, "res.partner", [target], {"given_name": "x"})
        assert err.server_message == "Only one Head is allowed per group"


def test_registrant_with_ids_or_memberships_cannot_be_deleted(client: OdooClient) -> None:
    pid = _person(client, reg_ids=[(0, 0, {"id_type": 1, "value": "1234567890"})])
    err = _refused(client.unlink, "res.partner", [pid])
    assert "Constraint: g2p_reg_id_partner_id_fkey" in err.server_message
    client.unlink("g2p.reg.id", client.search("g2p.reg.id", [["partner_id", "=", pid]]))
    gid = _group(client)
    client.create("g2p.group.membership", {"group": gid, "individual": pid})
    assert "g2p_group_membership_group_fkey" in _refused(client.unlink, "res.partner", [gid]).server_message
    client.unlink("g2p.group.membership", client.search("g2p.group.membership", [["group", "=", gid]]))
    assert client.unlink("res.partner", [pid, gid]) is True


@pytest.mark.parametrize(
    ("model", "method", "args", "message"),
    [
        ("g2p.id.type", "create", [{"name": "national id"}], "Id type already exists"),
        ("gender.type", "create", [{"value": "X"}], "Gender type should not empty."),
        ("g2p.group.kind", "create", [{"name": "HOUSEHOLD"}], "kind already exists"),
        ("g2p.group.membership.kind", "write", [[1], {"name": "Boss"}], "Can't edit default kinds"),
        ("g2p.group.membership.kind", "unlink", [[1]], "Can't delete default kinds"),
    ],
)
def test_lookup_rules_are_refused_with_the_servers_words(
    shared: tuple[Sandbox, OdooClient], model: str, method: str, args: list, message: str
) -> None:
    client = shared[1]
    assert _refused(client.execute_kw, model, method, args).server_message == message


def test_many2one_to_a_missing_record_is_refused(client: OdooClient) -> None:
    err = _refused(client.create, "res.partner", {"name": "G", "kind": 999})
    assert "res_partner_kind_fkey" in err.server_message


def test_inactive_gender_type_is_no_longer_accepted(client: OdooClient) -> None:
    female = client.search("gender.type", [["value", "=", "Female"]])
    client.write("gender.type", female, {"active": False})
    assert ["Female", "Female"] not in client.fields_get("res.partner", ["gender"])["gender"]["selection"]
    with pytest.raises(errors.ServerError, match=r"Wrong value for res\.partner\.gender: 'Female'"):
        _person(client, gender="Female")


def test_a_bare_server_has_no_gender_types_so_every_gender_is_refused() -> None:
    with Sandbox(bare=True) as sb, OdooClient(settings_for(sb)) as client:
        assert client.fields_get("res.partner", ["gender"])["gender"]["selection"] == []
        assert client.search_count("g2p.id.type") == 0
        with pytest.raises(errors.ServerError):
            _person(client, gender="Male")


# -- secrets -------------------------------------------------------------------------

PASSWORD = "Pw-contract-9f3kQ"


def _all_text(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), repr(exc.args), repr(vars(exc)), *traceback.format_exception(exc)])


def test_secret_never_shows_in_repr_or_str() -> None:
    secret = Secret(ADMIN_API_KEY)
    settings = ConnectionSettings(url="http://127.0.0.1:1", db="openspp", login="admin", secret=ADMIN_API_KEY)
    client = OdooClient(settings)
    try:
        for shown in (repr(secret), str(secret), f"{secret}", repr(settings), str(settings), repr(client)):
            assert ADMIN_API_KEY not in shown
        assert "***" in repr(settings) and settings.describe() == "admin@openspp on http://127.0.0.1:1"
        assert settings.secret.reveal() == ADMIN_API_KEY  # kept, only hidden
        assert repr(Secret("")) == "Secret('')" and not Secret("")
    finally:
        client.close()


def test_no_exception_or_audit_record_carries_the_password_or_api_key(sandbox: Sandbox) -> None:
    sandbox.set_password("admin", PASSWORD)
    sandbox.set_api_key("admin", ADMIN_API_KEY)
    caught: list[BaseException] = []
    records: list[CallRecord] = []
    for secret in (PASSWORD, ADMIN_API_KEY):
        with OdooClient(settings_for(sandbox, secret=secret), observer=records.append) as client:
            for call in (
                lambda c=client: c.create("res.partner", {"given_name": "x"}),
                lambda c=client: c.execute_kw("res.partnr", "search", [[]]),
                lambda c=client: c.execute_kw("res.partner", "frobnicate"),
                lambda c=client: c.write("res.partner", [10**6], {"name": "x"}),
                lambda c=client: c.load("res.partner", ["nope"], [["x"]]),
            ):
                with pytest.raises(errors.OdooError) as err:
                    call()
                caught.append(err.value)
    sandbox.set_password("admin", "other")
    for secret in (PASSWORD, ADMIN_API_KEY):
        with OdooClient(settings_for(sandbox, secret=secret)) as client:
            with pytest.raises(errors.AuthenticationError) as err:
                client.authenticate()
            caught.append(err.value)
    with OdooClient(settings_for(sandbox, secret=PASSWORD).with_overrides(db="nodb")) as client:
        with pytest.raises(errors.ServerError) as err:
            client.authenticate()
        caught.append(err.value)
    assert len(caught) == 13
    for exc in caught:
        text = _all_text(exc)
        assert PASSWORD not in text and ADMIN_API_KEY not in text, type(exc).__name__
    assert records and not any(PASSWORD in repr(r) or ADMIN_API_KEY in repr(r) for r in records)
