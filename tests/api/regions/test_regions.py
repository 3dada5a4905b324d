from __future__ import annotations

import datetime as dt

import pytest
from gcore.types.cloud import Region

EXTERNAL_NETWORK = "5d2e2e8c-2f1a-4c5b-8b1e-0e7c3a9f0001"


@pytest.fixture
async def second_region(runtime):
    """A second, newer region without an external network, removed after the test."""
    from cloudlet.models import regions

    async with runtime.db.transaction() as conn:
        await conn.execute(regions.insert().values(id=77, display_name="Amsterdam", slug="amsterdam-1", country="NL",
                                                   zone="EMEA", state="ACTIVE",
                                                   created_at=dt.datetime(2099, 1, 1)))
    yield 77
    async with runtime.db.transaction() as conn:
        await conn.execute(regions.delete().where(regions.c.id == 77))


class TestListRegions:
    async def test_lists_the_seeded_region_in_the_sdk_shape(self, client):
        r = await client.get("/cloud/v1/regions")
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == 1
        (region,) = body["results"]
        Region.model_validate(region)
        assert region["id"] == 1 and region["display_name"] == "Luxembourg" and region["slug"] == "luxembourg-1"
        assert region["external_network_id"] == EXTERNAL_NETWORK
        assert region["available_volume_types"] is None
        assert region["access_level"] == "core" and region["endpoint_type"] == "public"
        assert region["has_basic_vm"] is True and region["has_k8s"] is False
        assert region["created_on"] == region["created_at"]

    async def test_show_volume_types_fills_the_list(self, client):
        (region,) = (await client.get("/v1/regions", params={"show_volume_types": "true"})).json()["results"]
        assert "standard" in region["available_volume_types"]
        Region.model_validate(region)

    @pytest.mark.parametrize("name, count", [("Luxembourg", 1), ("lUXEMBOURG", 1), ("Luxem", 0), ("nowhere", 0)])
    async def test_display_name_is_a_case_insensitive_exact_match(self, client, name, count):
        body = (await client.get("/v1/regions", params={"display_name": name})).json()
        assert body["count"] == count and len(body["results"]) == count

    async def test_no_region_offers_containers_or_inference(self, client):
        for product in ("containers", "inference"):
            body = (await client.get("/v1/regions", params={"product": product})).json()
            assert body == {"count": 0, "results": []}

    async def test_order_and_pages_with_two_regions(self, client, second_region):
        newest_first = (await client.get("/v1/regions")).json()
        assert newest_first["count"] == 2
        assert [r["id"] for r in newest_first["results"]] == [second_region, 1]
        by_name = (await client.get("/v1/regions", params={"order_by": "display_name.asc"})).json()
        assert [r["display_name"] for r in by_name["results"]] == ["Amsterdam", "Luxembourg"]
        page = (await client.get("/v1/regions", params={"order_by": "display_name.asc", "limit": 1,
                                                        "offset": 1})).json()
        assert page["count"] == 2 and [r["id"] for r in page["results"]] == [1]
        other = newest_first["results"][0]
        Region.model_validate(other)
        assert other["external_network_id"] is None and other["coordinates"]["latitude"]

    @pytest.mark.parametrize("params", [{"limit": 1001}, {"limit": -1}, {"offset": -1}, {"product": "gpus"},
                                        {"order_by": "name.asc"}, {"show_volume_types": "maybe"}])
    async def test_bad_query_is_400(self, client, params):
        r = await client.get("/v1/regions", params=params)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"

    async def test_needs_an_api_key(self, client):
        r = await client.get("/v1/regions", headers={"Authorization": ""})
        assert r.status_code == 401


class TestGetRegion:
    async def test_get_region(self, client):
        r = await client.get("/v1/regions/1")
        assert r.status_code == 200
        region = r.json()
        Region.model_validate(region)
        assert region["external_network_id"] == EXTERNAL_NETWORK and region["available_volume_types"] is None
        shown = (await client.get("/cloud/v1/regions/1", params={"show_volume_types": True})).json()
        assert shown["available_volume_types"] and set(shown["available_volume_types"]) >= {"standard", "ssd_hiiops"}

    async def test_unknown_region_is_404(self, client):
        r = await client.get("/v1/regions/999")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"


class TestRegionsWithSdk:
    async def test_list_and_get_in_strict_mode(self, sdk):
        page = await sdk.cloud.regions.list(show_volume_types=True)
        assert [r.id for r in page.results] == [1]
        assert page.results[0].available_volume_types
        region = await sdk.cloud.regions.get(region_id=1)
        assert region.external_network_id == EXTERNAL_NETWORK and region.zone == "EMEA"
