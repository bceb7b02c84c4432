"""Domain cases asked of the same four registrants by the sandbox's tests and the client's contract tests.

``test_sandbox_rpc.py`` sends them as raw JSON-RPC, ``test_contract_methods.py``
through ``OdooClient``: the same operators must give the same records either
way.  Each file creates Ann Lee (Female, born 1990-01-01, ann@x.org), Bob Lee
(Male, born 1980-06-01), cy (born 2000-01-01) and the Lee household (kind
Household), and adds its own cases after these.
"""

from __future__ import annotations

#: (domain, the registrants it finds: "ann", "bob", "cy", "hh")
FOUR_REGISTRANTS_DOMAINS: list[tuple[list, set[str]]] = [
    ([["name", "=", "Ann Lee"]], {"ann"}),
    ([["name", "!=", "Ann Lee"]], {"bob", "cy", "hh"}),
    ([["gender", "=", False]], {"cy", "hh"}),
    ([["gender", "!=", False]], {"ann", "bob"}),
    ([["gender", "in", ["Male", "Female"]]], {"ann", "bob"}),
    ([["gender", "not in", ["Male"]]], {"ann", "cy", "hh"}),
    ([["name", "like", "Lee"]], {"ann", "bob", "hh"}),
    ([["name", "like", "lee"]], set()),
    ([["name", "ilike", "lee"]], {"ann", "bob", "hh"}),
    ([["name", "not ilike", "lee"]], {"cy"}),
    ([["name", "=like", "%Lee"]], {"ann", "bob"}),
    ([["name", "=ilike", "CY"]], {"cy"}),
    ([["birthdate", "<", "1990-01-01"]], {"bob"}),
    ([["birthdate", "<=", "1990-01-01"]], {"ann", "bob"}),
    ([["birthdate", ">", "1990-01-01"]], {"cy"}),
    ([["birthdate", ">=", "1990-01-01"]], {"ann", "cy"}),
    (["|", ["name", "=", "cy"], ["gender", "=", "Male"]], {"bob", "cy"}),
    (["!", ["name", "ilike", "lee"]], {"cy"}),
    ([["name", "ilike", "lee"], ["is_group", "=", False]], {"ann", "bob"}),  # implicit AND
    ([["kind", "=", "Household"]], {"hh"}),  # many2one compared by display name
    ([["email", "=ilike", "ANN@x.org"]], {"ann"}),
]
