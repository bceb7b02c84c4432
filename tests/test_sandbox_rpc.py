"""The sandbox's model methods, domains, x2many commands, errors and users, over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from domain_cases import FOUR_REGISTRANTS_DOMAINS

from importer.sandbox import (
    ADMIN_API_KEY,
    ADMIN_LOGIN,
    ADMIN_PASSWORD,
    READONLY_LOGIN,
    READONLY_PASSWORD,
    SANDBOX_DB,
    Sandbox,
)


class Rpc:
    """Minimal JSON-RPC caller (the real client is tested against the sandbox elsewhere)."""

    def __init__(self, url: str, uid: int = 2, secret: str = ADMIN_PASSWORD) -> None:
        self.url, self.uid, self.secret = url, uid, secret
        self.http = requests.Session()

    def raw(self, service: str, method: str, *args: Any) -> dict:
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": 1,
        }
        answer = self.http.post(f"{self.url}/jsonrpc", json=body, timeout=10)
        assert answer.status_code == 200
        return answer.json()

    def __call__(self, model: str, method: str, *args: Any, **kwargs: Any) -> Any:
        got = self.raw(
            "object", "execute_kw", SANDBOX_DB, self.uid, self.secret, model, method, list(args), kwargs
        )
        if "error" in got:
            raise RpcError(got["error"]["data"]["name"], got["error"]["data"]["message"])
        return got["result"]


class RpcError(Exception):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name, self.message = name, message


@pytest.fixture()
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture()
def rpc(sb: Sandbox) -> Rpc:
    return Rpc(sb.url)


def _person(rpc: Rpc, name: str, **vals: Any) -> int:
    return rpc("res.partner", "create", {"name": name, "is_registrant": True, "is_group": False, **vals})


# -- methods -----------------------------------------------------------------


def test_create_read_returns_odoo_value_formats(rpc: Rpc) -> None:
    pid = _person(rpc, "DOE, JANE", gender="Female", birthdate="1990-05-01", income=12.5)
    gid = rpc(
        "res.partner", "create", {"name": "Doe household", "is_registrant": True, "is_group": True, "kind": 1}
    )
    mid = rpc("g2p.group.membership", "create", {"group": gid, "individual": pid, "start_date": "2024-01-01"})
    [person] = rpc(
        "res.partner",
        "read",
        [pid],
        ["name", "gender", "birthdate", "kind", "reg_ids", "phone", "income", "is_group", "age"],
    )
    assert person == {
        "id": pid,
        "name": "DOE, JANE",
        "gender": "Female",
        "birthdate": "1990-05-01",
        "kind": False,
        "reg_ids": [],
        "phone": False,
        "income": 12.5,
        "is_group": False,
        "age": person["age"],
    }
    assert person["age"].isdigit()
    [member] = rpc(
        "g2p.group.membership",
        "read",
        [mid],
        ["group", "individual", "start_date", "ended_date", "status", "kind"],
    )
    assert member["group"] == [gid, "Doe household"]
    assert member["start_date"] == "2024-01-01 00:00:00"
    assert member["ended_date"] is False and member["status"] == "active" and member["kind"] == []


def test_read_without_the_classic_load_gives_a_many2one_as_its_bare_id(rpc: Rpc) -> None:
    """As Odoo 17's ``read(load=None)``: no display name computed; an empty link is still False."""
    pid = _person(rpc, "DOE, JANE")
    gid = rpc("res.partner", "create", {"name": "Doe household", "is_registrant": True, "is_group": True})
    mid = rpc("g2p.group.membership", "create", {"group": gid, "individual": pid})
    fields = ["group", "individual", "kind"]
    [plain] = rpc("g2p.group.membership", "read", [mid], fields, load=None)
    assert plain == {"id": mid, "group": gid, "individual": pid, "kind": []}
    [named] = rpc("g2p.group.membership", "read", [mid], fields)
    assert named["group"] == [gid, "Doe household"] and named["individual"] == [pid, "DOE, JANE"]
    [person] = rpc("res.partner", "read", [pid], ["area_id"], load=None)
    assert person["area_id"] is False


def test_create_with_a_list_returns_a_list_of_ids(rpc: Rpc) -> None:
    ids = rpc("res.partner", "create", [{"name": f"P{i}"} for i in range(5)])
    assert len(ids) == 5 and ids == sorted(ids)
    assert rpc("res.partner", "search_count", [["id", "in", ids]]) == 5


def test_write_and_unlink_and_read_of_missing_ids(rpc: Rpc) -> None:
    pid = _person(rpc, "A")
    assert rpc("res.partner", "write", [pid], {"given_name": "Ann"}) is True
    assert rpc("res.partner", "read", [pid], ["given_name"])[0]["given_name"] == "Ann"
    assert rpc("res.partner", "unlink", [pid]) is True
    assert rpc("res.partner", "read", [pid], ["name"]) == []
    for method, args in (("write", ([pid], {"name": "x"})), ("unlink", ([pid],))):
        with pytest.raises(RpcError) as err:
            rpc("res.partner", method, *args)
        assert err.value.name == "odoo.exceptions.MissingError"


def test_search_offset_limit_order(rpc: Rpc) -> None:
    ids = rpc("res.partner", "create", [{"name": n} for n in ("b", "a", "c", "a")])
    assert rpc("res.partner", "search", [["id", "in", ids]], order="name asc, id desc") == [
        ids[3],
        ids[1],
        ids[0],
        ids[2],
    ]
    assert rpc("res.partner", "search", [["id", "in", ids]], order="name desc", limit=2) == [ids[2], ids[0]]
    assert rpc("res.partner", "search", [["id", "in", ids]], offset=3, order="id") == [ids[3]]
    got = rpc("res.partner", "search_read", [["id", "in", ids]], fields=["name"], limit=1, order="id desc")
    assert got == [{"id": ids[3], "name": "a"}]


def test_fields_get_honours_allfields_and_attributes(rpc: Rpc) -> None:
    got = rpc(
        "res.partner",
        "fields_get",
        ["gender", "kind", "reg_ids"],
        attributes=["type", "relation", "selection"],
    )
    assert got == {
        "gender": {"type": "selection", "selection": [["Male", "Male"], ["Female", "Female"]]},
        "kind": {"type": "many2one", "relation": "g2p.group.kind"},
        "reg_ids": {"type": "one2many", "relation": "g2p.reg.id"},
    }
    full = rpc("g2p.reg.id", "fields_get")
    assert full["partner_id"]["required"] is True and full["id_type_as_str"]["store"] is False


def test_gender_selection_follows_active_gender_types(rpc: Rpc) -> None:
    rpc("gender.type", "create", {"code": "Other", "value": "Other"})
    assert ["Other", "Other"] in rpc("res.partner", "fields_get", ["gender"])["gender"]["selection"]
    female = rpc("gender.type", "search", [["value", "=", "Female"]])
    rpc("gender.type", "write", female, {"active": False})
    with pytest.raises(RpcError, match=r"Wrong value for res\.partner\.gender: 'Female'"):
        _person(rpc, "X", gender="Female")


def test_name_search_read_group_and_display_names(rpc: Rpc) -> None:
    assert rpc("g2p.group.kind", "name_search", "Household", operator="=") == [[1, "Household"]]
    gid = rpc("res.partner", "create", {"name": "G", "is_group": True, "is_registrant": True})
    p1, p2 = _person(rpc, "P1"), _person(rpc, "P2")
    rpc(
        "g2p.group.membership", "create", [{"group": gid, "individual": p1}, {"group": gid, "individual": p2}]
    )
    groups = rpc("g2p.group.membership", "read_group", [["group", "=", gid]], ["group"], ["group"])
    assert groups == [
        {"group": [gid, "G"], "group_count": 2, "__domain": ["&", ["group", "=", gid], ["group", "=", gid]]}
    ]
    [m] = rpc("g2p.group.membership", "search_read", [["individual", "=", p1]], fields=["display_name"])
    assert m["display_name"] == "G"


# -- domains -----------------------------------------------------------------


@pytest.fixture()
def people(rpc: Rpc) -> dict[str, int]:
    return {
        "ann": _person(rpc, "Ann Lee", gender="Female", birthdate="1990-01-01", email="ann@x.org"),
        "bob": _person(rpc, "Bob Lee", gender="Male", birthdate="1980-06-01"),
        "cy": _person(rpc, "cy", birthdate="2000-01-01"),
        "hh": rpc(
            "res.partner",
            "create",
            {"name": "Lee household", "is_group": True, "is_registrant": True, "kind": 1},
        ),
    }


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        *FOUR_REGISTRANTS_DOMAINS,
        (["&", ["is_group", "=", True], ["kind.name", "=", "Household"]], {"hh"}),
    ],
)
def test_domain_operators(rpc: Rpc, people: dict[str, int], domain: list, expected: set[str]) -> None:
    ids = set(rpc("res.partner", "search", [["id", "in", list(people.values())], *domain]))
    assert ids == {people[k] for k in expected}


def test_dotted_path_through_one2many(rpc: Rpc, people: dict[str, int]) -> None:
    rpc("g2p.reg.id", "create", {"partner_id": people["ann"], "id_type": 1, "value": "1234567890"})
    assert rpc("res.partner", "search", [["reg_ids.value", "=", "1234567890"]]) == [people["ann"]]
    assert rpc("g2p.reg.id", "search_count", [["partner_id.name", "ilike", "ann"]]) == 1


def test_bad_domain_field_is_a_value_error_with_odoo_wording(rpc: Rpc) -> None:
    with pytest.raises(RpcError) as err:
        rpc("res.partner", "search", [["no_such_field", "=", 1]])
    assert err.value.name == "builtins.ValueError"
    assert err.value.message == "Invalid field res.partner.no_such_field in leaf ('no_such_field', '=', 1)"


# -- x2many commands ---------------------------------------------------------


def test_many2many_commands(rpc: Rpc) -> None:
    gid = rpc("res.partner", "create", {"name": "G", "is_group": True, "is_registrant": True})
    pid = _person(rpc, "P")
    other = rpc("g2p.group.membership.kind", "create", {"name": "Spouse"})
    mid = rpc("g2p.group.membership", "create", {"group": gid, "individual": pid, "kind": [[4, 1]]})

    def kinds() -> list[int]:
        return sorted(rpc("g2p.group.membership", "read", [mid], ["kind"])[0]["kind"])

    assert kinds() == [1]
    rpc("g2p.group.membership", "write", [mid], {"kind": [[4, other]]})
    assert kinds() == sorted([1, other])
    rpc("g2p.group.membership", "write", [mid], {"kind": [[3, 1]]})
    assert kinds() == [other]
    rpc("g2p.group.membership", "write", [mid], {"kind": [[6, 0, [1, other]]]})
    assert kinds() == sorted([1, other])
    rpc("g2p.group.membership", "write", [mid], {"kind": [[5]]})
    assert kinds() == []
    rpc("g2p.group.membership", "write", [mid], {"kind": [[0, 0, {"name": "Child"}]]})
    [new] = kinds()
    assert rpc("g2p.group.membership.kind", "read", [new], ["name"])[0]["name"] == "Child"
    rpc("g2p.group.membership", "write", [mid], {"kind": [[1, new, {"name": "Kid"}]]})
    assert rpc("g2p.group.membership.kind", "read", [new], ["name"])[0]["name"] == "Kid"
    rpc("g2p.group.membership", "write", [mid], {"kind": [[2, new]]})
    assert kinds() == [] and rpc("g2p.group.membership.kind", "read", [new], ["name"]) == []


def test_one2many_commands(rpc: Rpc) -> None:
    pid = _person(rpc, "P", reg_ids=[[0, 0, {"id_type": 1, "value": "1234567890"}]])
    [rid] = rpc("res.partner", "read", [pid], ["reg_ids"])[0]["reg_ids"]
    rpc("res.partner", "write", [pid], {"reg_ids": [[1, rid, {"value": "0987654321"}]]})
    assert rpc("g2p.reg.id", "read", [rid], ["value"])[0]["value"] == "0987654321"
    rpc("res.partner", "write", [pid], {"reg_ids": [[0, 0, {"id_type": 2, "value": "AB12345"}]]})
    assert len(rpc("res.partner", "read", [pid], ["reg_ids"])[0]["reg_ids"]) == 2
    rpc("res.partner", "write", [pid], {"reg_ids": [[2, rid]]})
    assert rpc("g2p.reg.id", "search", [["id", "=", rid]]) == []
    rpc("res.partner", "write", [pid], {"reg_ids": [[5]]})
    assert rpc("res.partner", "read", [pid], ["reg_ids"])[0]["reg_ids"] == []
    gid = rpc(
        "res.partner",
        "create",
        {
            "name": "G",
            "is_group": True,
            "is_registrant": True,
            "group_membership_ids": [[0, 0, {"individual": pid, "kind": [[4, 1]]}]],
        },
    )
    [mid] = rpc("res.partner", "read", [gid], ["group_membership_ids"])[0]["group_membership_ids"]
    assert rpc("g2p.group.membership", "read", [mid], ["individual"])[0]["individual"][0] == pid


def test_a_failed_call_leaves_nothing_behind(rpc: Rpc) -> None:
    before = rpc("res.partner", "search_count", [])
    with pytest.raises(RpcError):
        rpc("res.partner", "create", [{"name": "ok"}, {"name": "bad", "gender": "F"}])
    with pytest.raises(RpcError):
        _person(rpc, "P", reg_ids=[[0, 0, {"id_type": 1, "value": "not-ten-digits"}]])
    assert rpc("res.partner", "search_count", []) == before
    assert rpc("g2p.reg.id", "search_count", []) == 0


# -- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "method", "args", "name", "message"),
    [
        ("res.partnr", "search", [[]], "odoo.exceptions.UserError", "Object res.partnr doesn't exist"),
        (
            "res.partner",
            "frobnicate",
            [],
            "builtins.AttributeError",
            "The method 'frobnicate' does not exist on the model 'res.partner'",
        ),
        (
            "res.partner",
            "_private",
            [],
            "odoo.exceptions.AccessError",
            "Private methods (such as _private) cannot be called remotely.",
        ),
        (
            "res.partner",
            "create",
            [{"name": "x", "reg_id": "1"}],
            "builtins.ValueError",
            "Invalid field 'reg_id' on model 'res.partner'",
        ),
        (
            "res.partner",
            "create",
            [{"name": "x", "gender": 2}],
            "builtins.ValueError",
            "Wrong value for res.partner.gender: 2",
        ),
        (
            "res.partner",
            "create",
            [{"name": "x", "birthdate": "01/05/1990"}],
            "builtins.ValueError",
            "time data '01/05/1990' does not match format '%Y-%m-%d'",
        ),
        (
            "res.partner",
            "search_read",
            [[], ["nope"]],
            "builtins.ValueError",
            "Invalid field 'nope' on model 'res.partner'",
        ),
        (
            "res.partner",
            "create",
            [{"is_registrant": True}],
            "odoo.exceptions.ValidationError",
            "The operation cannot be completed: Contacts require a name",
        ),
        (
            "g2p.reg.id",
            "create",
            [{"partner_id": 999, "id_type": 1}],
            "odoo.exceptions.ValidationError",
            None,
        ),
    ],
)
def test_errors_have_the_real_servers_class_and_wording(
    rpc: Rpc, model: str, method: str, args: list, name: str, message: str | None
) -> None:
    with pytest.raises(RpcError) as err:
        rpc(model, method, *args)
    assert err.value.name == name
    if message is not None:
        assert err.value.message == message


def test_error_payload_shape(rpc: Rpc) -> None:
    got = rpc.raw(
        "object", "execute_kw", SANDBOX_DB, 2, ADMIN_PASSWORD, "res.partner", "create", [{"x": 1}], {}
    )
    assert got["jsonrpc"] == "2.0" and got["id"] == 1
    assert got["error"]["code"] == 200 and got["error"]["message"] == "Odoo Server Error"
    assert set(got["error"]["data"]) == {"name", "debug", "message", "arguments", "context"}


# -- users -------------------------------------------------------------------


def test_authenticate_with_password_or_api_key(rpc: Rpc) -> None:
    assert rpc.raw("common", "authenticate", SANDBOX_DB, ADMIN_LOGIN, ADMIN_PASSWORD, {})["result"] == 2
    assert rpc.raw("common", "authenticate", SANDBOX_DB, ADMIN_LOGIN, ADMIN_API_KEY, {})["result"] == 2
    assert rpc.raw("common", "authenticate", SANDBOX_DB, ADMIN_LOGIN, "wrong", {})["result"] is False
    assert rpc.raw("common", "authenticate", SANDBOX_DB, "nobody", "x", {})["result"] is False
    wrong_db = rpc.raw("common", "authenticate", "nodb", ADMIN_LOGIN, ADMIN_PASSWORD, {})
    assert wrong_db["error"]["data"]["name"] == "psycopg2.OperationalError"
    assert Rpc(rpc.url, 2, ADMIN_API_KEY)("res.partner", "search_count", []) >= 0


def test_bad_credentials_are_access_denied(rpc: Rpc) -> None:
    with pytest.raises(RpcError) as err:
        Rpc(rpc.url, 2, "wrong")("res.partner", "search_count", [])
    assert (err.value.name, err.value.message) == ("odoo.exceptions.AccessDenied", "Access Denied")


def test_readonly_user_reads_but_cannot_write(sb: Sandbox, rpc: Rpc) -> None:
    uid = rpc.raw("common", "authenticate", SANDBOX_DB, READONLY_LOGIN, READONLY_PASSWORD, {})["result"]
    viewer = Rpc(sb.url, uid, READONLY_PASSWORD)
    pid = _person(rpc, "P")
    assert viewer("res.partner", "search_read", [["id", "=", pid]], fields=["name"]) == [
        {"id": pid, "name": "P"}
    ]
    assert viewer("res.partner", "fields_get", ["name"], attributes=["type"]) == {"name": {"type": "char"}}
    for method, args in (
        ("create", ({"name": "x"},)),
        ("write", ([pid], {"name": "y"})),
        ("unlink", ([pid],)),
    ):
        with pytest.raises(RpcError) as err:
            viewer("res.partner", method, *args)
        assert err.value.name == "odoo.exceptions.AccessError"
        assert (
            "You are not allowed to" in err.value.message and "'Contact' (res.partner)" in err.value.message
        )
    loaded = viewer("res.partner", "load", ["name"], [["x"]])
    assert loaded["ids"] is False and "You are not allowed to create" in loaded["messages"][0]["message"]
    assert viewer("res.partner", "check_access_rights", "create", False) is False


def test_changed_password_refuses_old_password_and_api_key(sb: Sandbox, rpc: Rpc) -> None:
    assert rpc("res.partner", "search_count", []) >= 0
    sb.set_password(ADMIN_LOGIN, "new-secret")
    for old in (ADMIN_PASSWORD, ADMIN_API_KEY):
        with pytest.raises(RpcError, match="AccessDenied"):
            Rpc(sb.url, 2, old)("res.partner", "search_count", [])
    assert Rpc(sb.url, 2, "new-secret")("res.partner", "search_count", []) >= 0


def test_user_losing_rights_mid_run(sb: Sandbox, rpc: Rpc) -> None:
    _person(rpc, "before")
    sb.set_readonly(ADMIN_LOGIN, True)
    with pytest.raises(RpcError, match="AccessError"):
        _person(rpc, "after")
    sb.set_readonly(ADMIN_LOGIN, False)
    assert _person(rpc, "again")


def test_version_endpoints(sb: Sandbox, rpc: Rpc) -> None:
    assert rpc.raw("common", "version")["result"]["server_serie"] == "17.0"
    got = requests.get(f"{sb.url}/web/webclient/version_info", timeout=5).json()
    assert got["result"]["server_version_info"][0] == 17
    posted = requests.post(
        f"{sb.url}/web/webclient/version_info", json={"jsonrpc": "2.0", "id": 7, "params": {}}, timeout=5
    )
    assert posted.json()["id"] == 7 and posted.json()["result"]["protocol_version"] == 1


def test_call_log_records_outcomes(sb: Sandbox, rpc: Rpc) -> None:
    rpc("res.partner", "search_count", [])
    with pytest.raises(RpcError):
        rpc("res.partner", "create", {"bogus": 1})
    assert sb.call_log[-2:] == [
        ("object", "execute_kw", "res.partner", "search_count", "ok"),
        ("object", "execute_kw", "res.partner", "create", "builtins.ValueError"),
    ]
