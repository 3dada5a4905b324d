from __future__ import annotations

import pytest
from gcore.types.cloud.instances.instance_flavor_detailed import (
    InstanceFlavorExtendedSerializerWithoutPrice,
    InstanceFlavorExtendedSerializerWithPrice,
)

PRICE_KEYS = {"currency_code", "price_per_hour", "price_per_month", "price_status"}
WINDOWS = {"g1w-standard-2-4", "g1w-standard-4-8"}
DISABLED = "g2-standard-32-128"
SEEDED = 15


async def flavors(client, project_id, **params):
    r = await client.get(f"/cloud/v1/flavors/{project_id}/1", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestListFlavors:
    async def test_lists_enabled_flavors_without_prices(self, client, project_id):
        body = await flavors(client, project_id)
        assert body["count"] == SEEDED - 1 == len(body["results"])
        ids = [f["flavor_id"] for f in body["results"]]
        assert DISABLED not in ids and WINDOWS <= set(ids)
        for f in body["results"]:
            InstanceFlavorExtendedSerializerWithoutPrice.model_validate(f)
            assert not PRICE_KEYS & f.keys()
            assert f["flavor_name"] == f["flavor_id"] and f["disabled"] is False
        small = next(f for f in body["results"] if f["flavor_id"] == "g1-standard-2-4")
        assert small["vcpus"] == 2 and small["ram"] == 4096 and small["os_type"] == "linux"
        assert small["hardware_description"] == {"ram": "4GB", "vcpus": "2 vCPU"}

    async def test_smallest_first(self, client, project_id):
        results = (await flavors(client, project_id))["results"]
        sizes = [(f["vcpus"], f["ram"]) for f in results]
        assert sizes == sorted(sizes)

    async def test_disabled_true_adds_the_disabled_flavors(self, client, project_id):
        body = await flavors(client, project_id, disabled="true")
        assert body["count"] == SEEDED
        (big,) = [f for f in body["results"] if f["flavor_id"] == DISABLED]
        assert big["disabled"] is True
        assert (await flavors(client, project_id, disabled="false"))["count"] == SEEDED - 1

    async def test_include_prices(self, client, project_id):
        body = await flavors(client, project_id, include_prices="true")
        for f in body["results"]:
            InstanceFlavorExtendedSerializerWithPrice.model_validate(f)
            assert f["currency_code"] == "EUR" and f["price_status"] == "show"
            assert f["price_per_hour"] > 0 and f["price_per_month"] > f["price_per_hour"]
        small = next(f for f in body["results"] if f["flavor_id"] == "g1-standard-2-4")
        assert small["price_per_hour"] == pytest.approx(0.0311)

    @pytest.mark.parametrize("params, expected", [
        ({"exclude_windows": "true"}, SEEDED - 1 - len(WINDOWS)),
        ({"exclude_linux": "true"}, len(WINDOWS)),
        ({"exclude_linux": "true", "exclude_windows": "true"}, 0),
    ])
    async def test_exclude_os(self, client, project_id, params, expected):
        body = await flavors(client, project_id, **params)
        assert body["count"] == expected == len(body["results"])
        if params.get("exclude_linux"):
            assert {f["flavor_id"] for f in body["results"]} == (WINDOWS if expected else set())

    async def test_pages_count_the_total(self, client, project_id):
        everything = [f["flavor_id"] for f in (await flavors(client, project_id))["results"]]
        page = await flavors(client, project_id, limit=5, offset=10)
        assert page["count"] == len(everything)
        assert [f["flavor_id"] for f in page["results"]] == everything[10:15]

    @pytest.mark.parametrize("path, status", [("/v1/flavors/999999/1", 404), ("/v1/flavors/{p}/999", 404),
                                              ("/v1/flavors/{p}/1?limit=5000", 400),
                                              ("/v1/flavors/{p}/1?include_prices=perhaps", 400)])
    async def test_errors(self, client, project_id, path, status):
        r = await client.get(path.format(p=project_id))
        assert r.status_code == status, r.text

    async def test_sdk_lists_every_page_in_strict_mode(self, sdk):
        page = await sdk.cloud.instances.flavors.list(include_prices=True, limit=4)
        names = []
        async for flavor in page:
            names.append(flavor.flavor_id)
        assert len(names) == SEEDED - 1 == len(set(names))
