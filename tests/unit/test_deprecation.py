"""Deprecation inheritance and signals, on definitions alone."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from app.definitions.loader import load_texts, read_definition_files
from app.errors import Gone
from app.governance.deprecation import all_objects, metric_objects, signal

DERIVED = """\
version: 2
metrics:
  - name: arr_per_paying_customer
    calculation_method: derived
    expression: "{{ metric('arr_by_customer') }} / {{ metric('legacy_paying_customers') }}"
"""


@pytest.fixture(scope="module")
def project(root: Path, catalog):
    files = read_definition_files(root)
    files["metrics/zz_derived.yml"] = DERIVED
    return load_texts(files, catalog)


def test_a_derived_metric_over_deprecated_metrics_is_flagged(project) -> None:
    objects = {o.name: o for o in all_objects(project)}
    derived = objects["arr_per_paying_customer"]
    assert derived.inherited_from in {"arr_by_customer", "legacy_paying_customers"}
    names = {o.name for o in metric_objects(project, project.metric("arr_per_paying_customer"))}
    assert names == {"arr_by_customer", "legacy_paying_customers", "legacy.customer_facts"}


def test_signal_headers_and_gone(project) -> None:
    objs = metric_objects(project, project.metric("arr_by_customer"))
    sig = signal(project, objs, datetime(2027, 3, 30, 23, 59))
    assert sig.headers["Sunset"] == "Wed, 31 Mar 2027 00:00:00 GMT"
    assert sig.meta["days_to_sunset"] == 1
    with pytest.raises(Gone, match="use 'arr' instead"):
        signal(project, objs, datetime(2027, 3, 31, 0, 0))
    assert signal(project, objs, datetime(2027, 4, 1), enforce=False).meta["name"] == "arr_by_customer"


def test_metrics_without_deprecations_carry_no_signal(project) -> None:
    assert metric_objects(project, project.metric("mrr")) == []
    assert signal(project, [], datetime(2030, 1, 1)).headers == {}
