"""Relationship paths, entity aliases, suggestions and warnings, pinned exactly (the survivors of a
complete mutation run of app/definitions showed these were only checked through the API)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.definitions.diagnostics import did_you_mean
from app.definitions.loader import load_project
from app.definitions.paths import PathError, entity_aliases, resolve_path


@pytest.fixture(scope="module")
def project(root: Path, catalog):
    return load_project(root, catalog)


def test_entity_aliases_are_the_names_of_many_to_one_relationships_to_it(project) -> None:
    # customers is reached as `customer` from locations, subscriptions, teams and users; its own
    # one_to_many relationships (teams, subscriptions, locations) name other entities, never it
    assert entity_aliases(project, "customers") == ["customer", "customers"]
    assert entity_aliases(project, "teams") == ["team", "teams"]  # `teams` of customers is one_to_many
    assert entity_aliases(project, "locations") == ["location", "locations"]
    assert entity_aliases(project, "devices") == ["devices"]  # only one_to_many leads to it


def test_a_path_resolves_to_its_hops_tables_and_column(project) -> None:
    activities = project.tables[("users", "activities")]
    path = resolve_path(project, activities, "team.customer.sales_region")
    assert path.dimension == "team.customer.sales_region"
    assert [(h.source, h.relationship.name, h.target) for h in path.hops] == [
        ("users", "team", "teams"),
        ("teams", "customer", "customers"),
    ]
    assert path.column == "sales_region" and path.table.name == "entity.entity_customers"
    assert path.entity == "customers" and path.cardinality == "one"
    assert path.through_key  # the activities table has no team_id: users' current table is joined for it
    assert [t.name for t in path.joined_tables] == ["entity.entity_teams", "entity.entity_customers"]


def test_an_entity_qualified_name_is_a_column_of_the_entity_itself(project) -> None:
    daily = project.tables[("customers", "daily")]
    for name in ("customer.customer_tier", "customers.customer_tier", "customer_tier"):
        path = resolve_path(project, daily, name)
        assert path.hops == () and path.column == "customer_tier" and path.table is daily
        assert path.dimension == name and not path.through_key
    own = resolve_path(project, daily, "customer.signup_date")  # not on the daily table: its current table
    assert own.through_key and own.table.name == "entity.entity_customers" and own.entity == "customers"


def test_a_relationship_named_like_an_alias_is_followed(project) -> None:
    subscriptions = project.tables[("subscriptions", "monthly")]
    path = resolve_path(project, subscriptions, "customer.customer_tier")  # `customer` is its relationship
    assert [h.relationship.name for h in path.hops] == ["customer"]
    assert path.table.name == "entity.entity_customers"


@pytest.mark.parametrize(
    ("start", "name", "message"),
    [
        (("customers", "daily"), "teams.team_type", "relationship 'teams' of 'customers' is one_to_many"),
        (("subscriptions", "monthly"), "custmer.customer_tier", "Did you mean 'customer'?"),
        (("subscriptions", "monthly"), "customer.tier", "'tier' is not a column of entity.entity_customers."),
        (("subscriptions", "monthly"), "customer.custmer_tier", "Did you mean 'customer_tier' or "),
    ],
)
def test_path_errors(project, start, name, message) -> None:
    with pytest.raises(PathError) as info:
        resolve_path(project, project.tables[start], name)
    text = str(info.value)
    assert message in text and text.endswith(".") and not text.endswith("..")


def test_a_missing_column_suggests_dimensions_and_columns_alike(project) -> None:
    with pytest.raises(PathError) as info:
        resolve_path(project, project.tables[("subscriptions", "monthly")], "customer.segment")
    assert "customer_segment" in str(info.value)  # a declared dimension
    with pytest.raises(PathError) as info:
        resolve_path(project, project.tables[("subscriptions", "monthly")], "customer.seat")
    assert "'seats'" in str(info.value)  # a column


def test_did_you_mean_rules() -> None:
    pool = ["alpha", "alphb", "alphc", "alphd", "beta"]
    assert did_you_mean("alphx", pool, allowed=False) == "Did you mean 'alphd' or 'alphc' or 'alphb'?"  # three
    assert did_you_mean("zzz", ["abc"], allowed=False) == ""  # nothing close: no guess
    # a word of three letters or more found inside a choice is suggested, up to three in all
    pool = ["customer_tier", "location_tier", "product_tier", "workspace_tier"]
    assert did_you_mean("tier", pool, allowed=False) == (
        "Did you mean 'customer_tier' or 'location_tier' or 'product_tier'?"
    )
    assert did_you_mean("ti", ["customer_tier"], allowed=False) == ""  # two letters are too few
    many = [f"c{i:02d}" for i in range(41)]
    assert did_you_mean("zz", many).endswith("c39, ....")  # forty shown, then an ellipsis
    assert did_you_mean("zz", many[:40]).endswith("c39.")


def test_a_warning_names_file_line_key_and_message(root: Path, catalog) -> None:
    project = load_project(root, catalog)  # loaded here, not from the module's fixture: mutmut's stats
    (warning,) = [w for w in project.warnings if "monthly_recurring_revenue" in w]  # see this test reach warn
    assert warning.startswith("metrics/revenue.yml:43: metrics.monthly_recurring_revenue.filters[0].value: ")
    assert warning.endswith("write \"'active'\" to be explicit")
