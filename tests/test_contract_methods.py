"""Contract: every OdooClient method against the sandbox over real HTTP.

The sandbox's own tests speak raw JSON-RPC; these go through the client, so
they pin what the importer actually relies on: the shapes each helper
returns, that every domain operator and x2many command survives the
client's argument packing, and that ``load`` creates, updates and fails as
Odoo's does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from domain_cases import FOUR_REGISTRANTS_DOMAINS

from importer.client import IMPORT_CONTEXT, ClientPool, OdooClient
from importer.sandbox import (
    ADMIN_API_KEY,
    ADMIN_UID,
    READONLY_LOGIN,
    READONLY_PASSWORD,
    READONLY_UID,
    Sandbox,
)
from tests.conftest import settings_for


def _person(client: OdooClient, name: str, **vals: Any) -> int:
    return client.create("res.partner", {"name": name, "is_registrant": True, "is_group": False, **vals})


def _group(client: OdooClient, name: str = "G") -> int:
    return client.create("res.partner", {"name": name, "is_registrant": True, "is_group": True, "kind": 1})


class SpySession(requests.Session):
    """A real session that remembers what each POST was asked to send (for wire-level assertions)."""

    def __init__(self) -> None:
        super().__init__()
        self.posts: list[dict[str, Any]] = []

    def post(self, url: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.posts.append({"url": url, **kwargs})
        return super().post(url, **kwargs)


# -- common service ------------------------------------------------------------


def test_version_needs_no_login_and_reports_odoo_17(sandbox: Sandbox, client: OdooClient) -> None:
    info = client.version()
    assert info["server_serie"] == "17.0" and info["server_version_info"][0] == 17
    assert [entry[:2] for entry in sandbox.call_log] == [("common", "version")]


def test_authenticate_returns_the_uid_for_password_and_api_key(sandbox: Sandbox) -> None:
    with OdooClient(settings_for(sandbox)) as by_password:
        assert by_password.authenticate() == ADMIN_UID
    with OdooClient(settings_for(sandbox, secret=ADMIN_API_KEY)) as by_key:
        assert by_key.authenticate() == ADMIN_UID
        assert by_key.search_count("g2p.group.kind") == 2
    with OdooClient(settings_for(sandbox, READONLY_LOGIN, READONLY_PASSWORD)) as viewer:
        assert viewer.uid == READONLY_UID


def test_first_model_call_logs_in_once_and_later_calls_reuse_the_uid(
    sandbox: Sandbox, client: OdooClient
) -> None:
    client.search_count("res.partner")
    client.search_count("res.partner")
    assert [(e[1], e[3]) for e in sandbox.call_log] == [
        ("authenticate", None),
        ("execute_kw", "search_count"),
        ("execute_kw", "search_count"),
    ]


def test_fork_shares_the_uid_but_not_the_session(sandbox: Sandbox, client: OdooClient) -> None:
    client.authenticate()
    with client.fork() as other:
        assert other._session is not client._session
        assert other.settings == client.settings
        assert other.search_count("g2p.group.kind") == 2
    assert [e[1] for e in sandbox.call_log] == ["authenticate", "execute_kw"]  # the fork did not log in


def test_a_pool_hands_each_result_over_as_it_comes_in_order(client: OdooClient) -> None:
    """The second call waits for the caller to have the first: a pool that gathered every
    result before handing any over would leave it waiting, and hand over "not yet"."""
    first_taken = threading.Event()

    def call(c: OdooClient, item: int) -> str:
        if item == 1 and not first_taken.wait(timeout=30):
            return "not yet"
        return f"{item}:{c.search_count('g2p.group.kind')}"

    with ClientPool(client, 2) as pool:
        results = pool.imap(call, [0, 1, 2])
        assert next(results) == "0:2"
        first_taken.set()
        assert list(results) == ["1:2", "2:2"]


def test_a_pool_call_that_fails_raises_in_the_caller_after_the_results_before_it(
    client: OdooClient,
) -> None:
    def call(c: OdooClient, item: int) -> int:
        if item == 1:
            raise ValueError("the second call failed")
        return item

    with ClientPool(client, 2) as pool:
        results = pool.imap(call, [0, 1, 2])
        assert next(results) == 0
        with pytest.raises(ValueError, match="second call"):
            next(results)


def _pools(client: OdooClient) -> list[Any]:
    manager = client._session.get_adapter(client.settings.url).poolmanager
    return list(manager.pools._container.values())


def test_one_session_keeps_one_connection_alive_across_calls(client: OdooClient) -> None:
    for _ in range(5):
        client.search_count("res.partner")
    [pool] = _pools(client)
    assert pool.num_requests == 6  # authenticate + 5 calls
    assert pool.num_connections == 1  # ...over one kept-alive TCP connection


def test_a_forked_client_opens_its_own_connection(client: OdooClient) -> None:
    client.search_count("res.partner")
    with client.fork() as other:
        other.search_count("res.partner")
        assert _pools(other)[0].num_connections == 1
        assert _pools(other)[0] is not _pools(client)[0]
    assert _pools(client)[0].num_requests == 2


def test_every_post_carries_the_timeouts_and_verifies_tls_by_default(sandbox: Sandbox) -> None:
    session = SpySession()
    settings = settings_for(sandbox)
    assert settings.verify_tls is True
    with OdooClient(settings, session=session) as client:
        client.search_count("res.partner")
    assert len(session.posts) == 2
    for post in session.posts:
        assert post["url"] == f"{sandbox.url}/jsonrpc"
        assert post["timeout"] == (settings.timeout.connect, settings.timeout.read)
        assert post["verify"] is True


def test_context_is_merged_into_kwargs_on_the_wire(sandbox: Sandbox) -> None:
    session = SpySession()
    with OdooClient(settings_for(sandbox), session=session) as client:
        client.execute_kw(
            "res.partner", "search_count", [[]], {"context": {"lang": "en_US"}}, context=IMPORT_CONTEXT
        )
        client.create("res.partner", {"name": "ctx"}, context=IMPORT_CONTEXT)
    kw = session.posts[1]["json"]["params"]["args"][6]
    assert kw == {"context": {"lang": "en_US", **IMPORT_CONTEXT}}
    assert session.posts[2]["json"]["params"]["args"][6] == {"context": IMPORT_CONTEXT}


# -- object service --------------------------------------------------------------


def test_create_with_a_dict_returns_an_int(client: OdooClient) -> None:
    pid = _person(client, "DOE, JANE")
    assert isinstance(pid, int)
    assert client.read("res.partner", [pid], ["name"]) == [{"id": pid, "name": "DOE, JANE"}]


def test_create_with_a_list_returns_a_list_of_ids_even_for_one(client: OdooClient) -> None:
    ids = client.create("res.partner", [{"name": f"P{i}"} for i in range(3)])
    assert isinstance(ids, list) and len(ids) == 3 and ids == sorted(ids)
    one = client.create("res.partner", [{"name": "solo"}])
    assert isinstance(one, list) and len(one) == 1


def test_write_and_unlink_return_true_and_take_any_iterable_of_ids(client: OdooClient) -> None:
    pid = _person(client, "A")
    assert client.write("res.partner", iter([pid]), {"given_name": "Ann"}) is True
    assert client.read("res.partner", (pid,), ["given_name"])[0]["given_name"] == "Ann"
    assert client.unlink("res.partner", {pid}) is True
    assert client.read("res.partner", [pid], ["name"]) == []


def test_read_formats_dates_datetimes_many2one_and_x2many_as_odoo(client: OdooClient) -> None:
    pid = _person(client, "P", birthdate="1990-05-01", gender="Female", income=12.5)
    gid = _group(client, "Household A")
    mid = client.create("g2p.group.membership", {"group": gid, "individual": pid, "start_date": "2024-01-01"})
    [person] = client.read("res.partner", [pid], ["birthdate", "gender", "income", "reg_ids", "kind"])
    assert person == {
        "id": pid,
        "birthdate": "1990-05-01",
        "gender": "Female",
        "income": 12.5,
        "reg_ids": [],
        "kind": False,
    }
    [member] = client.read("g2p.group.membership", [mid], ["group", "start_date", "kind"])
    assert member == {
        "id": mid,
        "group": [gid, "Household A"],
        "start_date": "2024-01-01 00:00:00",
        "kind": [],
    }
    [group] = client.read("res.partner", [gid], ["kind"])
    assert group["kind"] == [1, "Household"]


def test_read_without_fields_returns_every_field(client: OdooClient) -> None:
    [kind] = client.read("g2p.group.kind", [1])
    assert kind["name"] == "Household" and kind["id"] == 1 and len(kind) > 2


def test_search_honours_offset_limit_and_order(client: OdooClient) -> None:
    ids = client.create("res.partner", [{"name": n} for n in ("b", "a", "c", "a")])
    scope = [["id", "in", ids]]
    assert client.search("res.partner", scope, order="name asc, id desc") == [ids[3], ids[1], ids[0], ids[2]]
    assert client.search("res.partner", scope, order="name desc", limit=2) == [ids[2], ids[0]]
    assert client.search("res.partner", scope, offset=3, order="id") == [ids[3]]


def test_search_read_returns_only_the_asked_fields_plus_id(client: OdooClient) -> None:
    ids = client.create("res.partner", [{"name": "x1", "phone": "1"}, {"name": "x2"}])
    got = client.search_read("res.partner", [["id", "in", ids]], ["name"], order="id desc", limit=1)
    assert got == [{"id": ids[1], "name": "x2"}]
    everything = client.search_read("g2p.group.kind", [["name", "=", "Family"]])
    assert everything[0]["name"] == "Family" and "id" in everything[0]


def test_search_count_with_and_without_domain(client: OdooClient) -> None:
    assert client.search_count("g2p.group.kind") == 2
    assert client.search_count("g2p.group.kind", [["name", "=", "Family"]]) == 1


def test_fields_get_returns_type_relation_and_selection(client: OdooClient) -> None:
    got = client.fields_get("res.partner", ["gender", "kind", "reg_ids", "name"])
    assert set(got) == {"gender", "kind", "reg_ids", "name"}
    assert got["gender"]["type"] == "selection"
    assert got["gender"]["selection"] == [["Male", "Male"], ["Female", "Female"]]
    assert (got["kind"]["type"], got["kind"]["relation"]) == ("many2one", "g2p.group.kind")
    assert (got["reg_ids"]["type"], got["reg_ids"]["relation"]) == ("one2many", "g2p.reg.id")
    assert set(got["name"]) <= {
        "type",
        "relation",
        "required",
        "selection",
        "string",
        "readonly",
        "store",
        "size",
    }
    only = client.fields_get("g2p.reg.id", attributes=["required"])
    assert only["partner_id"] == {"required": True} and "value" in only


def test_name_search_finds_by_name_and_honours_limit(client: OdooClient) -> None:
    assert client.name_search("g2p.group.kind", "House") == [[1, "Household"]]
    client.create("g2p.group.kind", [{"name": f"Kind {i}"} for i in range(5)])
    assert len(client.name_search("g2p.group.kind", "Kind", limit=3)) == 3


def test_execute_kw_reaches_methods_without_a_helper(client: OdooClient) -> None:
    gid = _group(client)
    pids = [_person(client, f"P{i}") for i in range(2)]
    client.create("g2p.group.membership", [{"group": gid, "individual": p} for p in pids])
    groups = client.execute_kw(
        "g2p.group.membership", "read_group", [[["group", "=", gid]], ["group"], ["group"]]
    )
    assert groups[0]["group_count"] == 2
    assert client.execute_kw("res.partner", "exists", [[gid, 10**6]]) == [gid]


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """One sandbox for tests that only ask questions."""
    with Sandbox() as sb:
        yield sb


@pytest.mark.parametrize("operation", ["read", "create", "write", "unlink"])
def test_check_access_is_true_for_every_operation_for_admin(shared: Sandbox, operation: str) -> None:
    with OdooClient(settings_for(shared)) as client:
        assert client.check_access("res.partner", operation) is True


@pytest.mark.parametrize(
    ("operation", "allowed"), [("read", True), ("create", False), ("write", False), ("unlink", False)]
)
def test_check_access_allows_only_read_for_the_viewer(shared: Sandbox, operation: str, allowed: bool) -> None:
    with OdooClient(settings_for(shared, READONLY_LOGIN, READONLY_PASSWORD)) as viewer:
        assert viewer.check_access("g2p.group.membership", operation) is allowed


def test_check_access_on_an_unknown_model_is_false_not_an_exception(client: OdooClient) -> None:
    assert client.check_access("res.partnr", "read") is False


def test_check_access_follows_rights_changed_mid_run(sandbox: Sandbox, client: OdooClient) -> None:
    assert client.check_access("res.partner", "create") is True
    sandbox.set_readonly("admin", True)
    assert client.check_access("res.partner", "create") is False
    assert client.check_access("res.partner", "read") is True


# -- domains -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def people() -> Iterator[tuple[OdooClient, dict[str, int]]]:
    """One sandbox for the (read-only) domain cases: they only search."""
    with Sandbox() as sb, OdooClient(settings_for(sb)) as client:
        found = {
            "ann": _person(client, "Ann Lee", gender="Female", birthdate="1990-01-01", email="ann@x.org"),
            "bob": _person(client, "Bob Lee", gender="Male", birthdate="1980-06-01", income=10.0),
            "cy": _person(client, "cy", birthdate="2000-01-01", income=2.5),
            "hh": _group(client, "Lee household"),
        }
        client.create("g2p.reg.id", {"partner_id": found["ann"], "id_type": 1, "value": "1234567890"})
        client.create(
            "g2p.group.membership",
            {"group": found["hh"], "individual": found["bob"], "kind": [[4, 1]]},
        )
        yield client, found


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        *FOUR_REGISTRANTS_DOMAINS,
        ([["name", "<>", "Ann Lee"]], {"bob", "cy", "hh"}),
        ([["gender", "in", [False]]], {"cy", "hh"}),
        ([["name", "not like", "Lee"]], {"cy"}),
        ([["income", ">", 5]], {"bob"}),
        ([["is_group", "=", True]], {"hh"}),
        ([["is_group", "=", False]], {"ann", "bob", "cy"}),
        (["&", ["name", "ilike", "lee"], ["is_group", "=", False]], {"ann", "bob"}),
        (["|", "!", ["gender", "=", False], ["name", "=", "cy"]], {"ann", "bob", "cy"}),
        ([["kind.name", "=", "Household"]], {"hh"}),
        ([["kind", "=", 1]], {"hh"}),
        ([["kind", "!=", "Household"]], {"ann", "bob", "cy"}),
        ([["reg_ids.value", "=", "1234567890"]], {"ann"}),
        ([["reg_ids", "!=", False]], {"ann"}),
        ([["reg_ids", "=", False]], {"bob", "cy", "hh"}),
        ([["group_membership_ids", "!=", False]], {"hh"}),
        ([[1, "=", 1]], {"ann", "bob", "cy", "hh"}),
        ([[0, "=", 1]], set()),
    ],
)
def test_every_domain_operator_through_the_client(
    people: tuple[OdooClient, dict[str, int]], domain: list, expected: set[str]
) -> None:
    client, ids = people
    scope = [["id", "in", list(ids.values())], *domain]
    assert set(client.search("res.partner", scope)) == {ids[k] for k in expected}
    assert client.search_count("res.partner", scope) == len(expected)
    assert {r["id"] for r in client.search_read("res.partner", scope, ["name"])} == {ids[k] for k in expected}


def test_domain_on_the_related_model_by_dotted_path(people: tuple[OdooClient, dict[str, int]]) -> None:
    client, ids = people
    assert client.search_count("g2p.reg.id", [["partner_id.name", "ilike", "ann"]]) == 1
    members = client.search_read("g2p.group.membership", [["individual.name", "=", "Bob Lee"]], ["group"])
    assert [m["group"][0] for m in members] == [ids["hh"]]


# -- x2many commands ---------------------------------------------------------------


def test_many2many_commands_0_to_6_through_create_and_write(client: OdooClient) -> None:
    gid, pid = _group(client), _person(client, "P")
    spouse = client.create("g2p.group.membership.kind", {"name": "Spouse"})
    mid = client.create("g2p.group.membership", {"group": gid, "individual": pid, "kind": [(4, 1)]})

    def kinds() -> list[int]:
        return sorted(client.read("g2p.group.membership", [mid], ["kind"])[0]["kind"])

    assert kinds() == [1]
    client.write("g2p.group.membership", [mid], {"kind": [(4, spouse)]})  # 4 link
    assert kinds() == sorted([1, spouse])
    client.write("g2p.group.membership", [mid], {"kind": [(3, 1)]})  # 3 unlink
    assert kinds() == [spouse]
    client.write("g2p.group.membership", [mid], {"kind": [(6, 0, [1, spouse])]})  # 6 replace
    assert kinds() == sorted([1, spouse])
    client.write("g2p.group.membership", [mid], {"kind": [(5,)]})  # 5 clear
    assert kinds() == []
    client.write("g2p.group.membership", [mid], {"kind": [(0, 0, {"name": "Child"})]})  # 0 create
    [child] = kinds()
    client.write("g2p.group.membership", [mid], {"kind": [(1, child, {"name": "Kid"})]})  # 1 update
    assert client.read("g2p.group.membership.kind", [child], ["name"])[0]["name"] == "Kid"
    client.write("g2p.group.membership", [mid], {"kind": [(2, child)]})  # 2 delete
    assert kinds() == [] and client.read("g2p.group.membership.kind", [child]) == []
    client.write("g2p.group.membership", [mid], {"kind": [spouse]})  # bare ids: replace
    assert kinds() == [spouse]
    client.write("g2p.group.membership", [mid], {"kind": False})  # False: clear
    assert kinds() == []


def test_one2many_commands_0_to_6_through_create_and_write(client: OdooClient) -> None:
    pid = _person(client, "P", reg_ids=[(0, 0, {"id_type": 1, "value": "1234567890"})])  # 0 create

    def reg_ids() -> list[int]:
        return sorted(client.read("res.partner", [pid], ["reg_ids"])[0]["reg_ids"])

    [rid] = reg_ids()
    client.write("res.partner", [pid], {"reg_ids": [(1, rid, {"value": "0987654321"})]})  # 1 update
    assert client.read("g2p.reg.id", [rid], ["value"])[0]["value"] == "0987654321"
    client.write("res.partner", [pid], {"reg_ids": [(0, 0, {"id_type": 2, "value": "AB12345"})]})
    assert len(reg_ids()) == 2
    client.write("res.partner", [pid], {"reg_ids": [(2, rid)]})  # 2 delete
    assert client.search("g2p.reg.id", [["id", "=", rid]]) == []
    client.write("res.partner", [pid], {"reg_ids": [(5,)]})  # 5 clear (inverse required: deletes)
    assert reg_ids() == [] and client.search_count("g2p.reg.id") == 0

    other = _person(client, "Q")
    rid2 = client.create("g2p.reg.id", {"partner_id": other, "id_type": 1, "value": "1111111111"})
    client.write("res.partner", [pid], {"reg_ids": [(4, rid2)]})  # 4 link moves it here
    assert reg_ids() == [rid2]
    client.write("res.partner", [pid], {"reg_ids": [(3, rid2)]})  # 3 unlink (inverse required: deletes)
    assert reg_ids() == [] and client.search_count("g2p.reg.id") == 0

    rid3 = client.create("g2p.reg.id", {"partner_id": other, "id_type": 2, "value": "CD12345"})
    client.write("res.partner", [pid], {"reg_ids": [(6, 0, [rid3])]})  # 6 replace
    assert reg_ids() == [rid3]


def test_one2many_create_command_builds_memberships_with_the_group(client: OdooClient) -> None:
    pid = _person(client, "P")
    gid = client.create(
        "res.partner",
        {
            "name": "G",
            "is_group": True,
            "is_registrant": True,
            "group_membership_ids": [(0, 0, {"individual": pid, "kind": [(4, 1)]})],
        },
    )
    [mid] = client.read("res.partner", [gid], ["group_membership_ids"])[0]["group_membership_ids"]
    [member] = client.read("g2p.group.membership", [mid], ["individual", "kind"])
    assert member["individual"][0] == pid and member["kind"] == [1]


# -- load --------------------------------------------------------------------------

PEOPLE = ["id", "name", "gender", "birthdate", "is_registrant", "reg_ids/id_type", "reg_ids/value"]


def test_load_creates_records_and_their_external_ids(client: OdooClient) -> None:
    rows = [
        ("spp.ind_1", "DOE, JANE", "Female", "1990-05-01", "1", "National ID", "1234567890"),
        ("spp.ind_2", "DOE, JOHN", "male", "1988-01-02", "1", "", ""),
    ]
    got = client.load("res.partner", PEOPLE, rows, context=IMPORT_CONTEXT)
    assert got["messages"] == [] and len(got["ids"]) == 2
    jane, john = client.read("res.partner", got["ids"], ["gender", "reg_ids"])
    assert (jane["gender"], john["gender"]) == ("Female", "Male")
    assert len(jane["reg_ids"]) == 1 and john["reg_ids"] == []
    xids = client.search_read("ir.model.data", [["module", "=", "spp"]], ["name", "res_id"], order="name")
    assert [(x["name"], x["res_id"]) for x in xids] == [("ind_1", got["ids"][0]), ("ind_2", got["ids"][1])]


def test_load_of_an_existing_external_id_updates_without_duplicating(client: OdooClient) -> None:
    first = client.load("res.partner", ["id", "name"], [["spp.p1", "A"], ["spp.p2", "B"]])
    second = client.load("res.partner", ["id", "name"], [["spp.p2", "B2"], ["spp.p3", "C"]])
    assert second["ids"][0] == first["ids"][1]
    assert client.search_count("res.partner", [["id", "in", first["ids"] + second["ids"]]]) == 3
    assert client.read("res.partner", [first["ids"][1]], ["name"])[0]["name"] == "B2"


def test_load_memberships_by_external_ids_of_their_parents(client: OdooClient) -> None:
    client.load("res.partner", ["id", "name", "is_group", "kind"], [["spp.g1", "G1", "1", "Household"]])
    client.load("res.partner", ["id", "name"], [["spp.i1", "I1"], ["spp.i2", "I2"]])
    got = client.load(
        "g2p.group.membership",
        ["id", "group/id", "individual/id", "kind"],
        [["spp.m1", "spp.g1", "spp.i1", "Head"], ["spp.m2", "spp.g1", "spp.i2", ""]],
    )
    assert got["messages"] == [] and len(got["ids"]) == 2
    heads = client.search_count("g2p.group.membership", [["kind.name", "=", "Head"]])
    assert heads == 1


def test_load_with_a_failing_row_keeps_nothing_and_names_each_bad_row(client: OdooClient) -> None:
    rows = [
        ["spp.a", "A", "Female", "1990-01-01", "1", "", ""],
        ["spp.b", "B", "F", "1990-01-01", "1", "", ""],
        ["spp.c", "C", "Male", "31/12/1990", "1", "", ""],
        ["spp.d", "", "Male", "1990-01-01", "1", "", ""],
    ]
    got = client.load("res.partner", PEOPLE, rows)
    assert got["ids"] is False
    assert [(m["type"], m["rows"]["from"], m.get("field")) for m in got["messages"]] == [
        ("error", 1, "gender"),
        ("error", 2, "birthdate"),
        ("error", 3, None),
    ]
    assert "Contacts require a name" in got["messages"][2]["message"]
    assert client.search_count("res.partner", [["name", "in", ["A", "B", "C"]]]) == 0
    assert client.search_count("ir.model.data", [["module", "=", "spp"]]) == 0


def test_load_row_refused_by_a_server_constraint_is_a_message_not_an_exception(client: OdooClient) -> None:
    got = client.load("res.partner", PEOPLE, [["spp.a", "A", "", "", "1", "National ID", "12"]])
    assert got["ids"] is False
    assert got["messages"][0]["message"] == "The provided National ID ID '12' is invalid."


def test_load_by_the_read_only_user_returns_refusals_per_row(sandbox: Sandbox) -> None:
    with OdooClient(settings_for(sandbox, READONLY_LOGIN, READONLY_PASSWORD)) as viewer:
        got = viewer.load("res.partner", ["id", "name"], [["spp.v1", "V1"], ["spp.v2", "V2"]])
    assert got["ids"] is False
    assert got["messages"] and all(m["type"] == "error" for m in got["messages"])
    assert "You are not allowed to create" in got["messages"][0]["message"]
    with OdooClient(settings_for(sandbox)) as admin:
        assert admin.search_count("res.partner", [["name", "in", ["V1", "V2"]]]) == 0


def test_check_access_with_an_unknown_mode_is_false(sandbox: Sandbox, client: OdooClient) -> None:
    assert client.check_access("res.partner", "delete") is False
    assert sandbox.call_log[-1][-1] == "builtins.AssertionError"
