"""Available flavors: for resizing an instance (GET) and for a planned create (POST) (endpoints.md 4.1-4.2, S7)."""

from __future__ import annotations

import uuid

import pytest
from gcore.types.cloud.instances.instance_flavor_detailed import (
    InstanceFlavorExtendedSerializerWithoutPrice as WithoutPrice,
)
from gcore.types.cloud.instances.instance_flavor_detailed import (
    InstanceFlavorExtendedSerializerWithPrice as WithPrice,
)
from gcore.types.cloud.instances.instance_flavor_list import InstanceFlavorList

from cloudlet.core.clock import utcnow
from cloudlet.models import images
from cloudlet.seed import load_catalog
from tests.api.instances.test_actions import (  # noqa: F401  (_delete_* is a fixture)
    _delete_instances_afterwards,
    get_instance,
    new_instance,
)
from tests.api.instances.test_create import UBUNTU, WINDOWS

PRICE_KEYS = {"currency_code", "price_per_hour", "price_per_month", "price_status"}
CATALOG = {f["id"]: f for f in load_catalog()["flavors"]}
ENABLED = {i for i, f in CATALOG.items() if not f.get("disabled")}
LINUX = {i for i in ENABLED if CATALOG[i].get("os_type", "linux") == "linux"}
WINDOWS_FLAVORS = {i for i in ENABLED if CATALOG[i].get("os_type") == "windows"}


def ids(listing: dict) -> set[str]:
    return {f["flavor_id"] for f in listing["results"]}


def check_shape(listing: dict, *, priced: bool) -> None:
    InstanceFlavorList.model_validate(listing)
    assert listing["count"] == len(listing["results"])
    for item in listing["results"]:
        if priced:
            WithPrice.model_validate(item)
            assert item["price_status"] == "show" and item["currency_code"] == "EUR"
            assert item["price_per_hour"] == CATALOG[item["flavor_id"]]["price"]
        else:
            WithoutPrice.model_validate(item)
            assert not PRICE_KEYS & set(item)
        assert item["flavor_name"] == item["flavor_id"] and item["disabled"] is False


async def private_image(runtime, project_id: int, *, min_ram: int) -> str:
    """A project image that needs more RAM than the small flavors have (the catalog has none such)."""
    image_id, now = str(uuid.uuid4()), utcnow()
    async with runtime.db.transaction() as conn:
        await conn.execute(images.insert().values(
            id=image_id, region_id=1, project_id=project_id, name="big-ram", description=None, os_distro="ubuntu",
            os_version="22.04", os_type="linux", architecture="x86_64", min_disk=5, min_ram=min_ram, size=1 << 30,
            disk_format="qcow2", visibility="private", status="active", ssh_key="allow", hw_firmware_type=None,
            display_order=None, tags=[], created_at=now, updated_at=now,
        ))
    return image_id


class TestResizeFlavors:
    async def test_every_other_enabled_flavor_of_the_same_os(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.get(f"/cloud/v1/instances/{project_id}/1/{instance_id}/available_flavors")
        assert r.status_code == 200, r.text
        check_shape(r.json(), priced=False)
        assert ids(r.json()) == LINUX - {"g1-standard-2-4"}

    async def test_include_prices(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.get(f"/v1/instances/{project_id}/1/{instance_id}/available_flavors",
                             params={"include_prices": "true"})
        assert r.status_code == 200, r.text
        check_shape(r.json(), priced=True)

    async def test_windows_instance_gets_windows_flavors(self, client, project_id):
        instance_id = await new_instance(client, project_id, flavor="g1w-standard-2-4",
                                         volumes=[{"source": "image", "image_id": WINDOWS, "size": 40}])
        r = await client.get(f"/v1/instances/{project_id}/1/{instance_id}/available_flavors")
        assert ids(r.json()) == WINDOWS_FLAVORS - {"g1w-standard-2-4"}

    async def test_image_min_ram_rules_out_small_flavors(self, client, project_id, runtime):
        image_id = await private_image(runtime, project_id, min_ram=8192)
        instance_id = await new_instance(client, project_id, flavor="g1-standard-2-8",
                                         volumes=[{"source": "image", "image_id": image_id, "size": 10}])
        listed = ids((await client.get(f"/v1/instances/{project_id}/1/{instance_id}/available_flavors")).json())
        assert listed == {i for i in LINUX if CATALOG[i]["ram"] >= 8192} - {"g1-standard-2-8"}
        r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/changeflavor",
                              json={"flavor_id": "g1-standard-2-4"})
        assert r.status_code == 400 and "8192" in r.json()["message"]

    async def test_every_listed_flavor_is_a_valid_resize_target(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        listed = (await client.get(f"/v1/instances/{project_id}/1/{instance_id}/available_flavors")).json()
        for flavor_id in sorted(ids(listed)):
            r = await client.post(f"/v1/instances/{project_id}/1/{instance_id}/changeflavor",
                                  json={"flavor_id": flavor_id})
            assert r.status_code == 200, (flavor_id, r.text)
            assert (await get_instance(client, project_id, instance_id))["flavor"]["flavor_id"] == flavor_id

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.get(f"/v1/instances/{project_id}/1/00000000-0000-0000-0000-000000000000/available_flavors")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_unknown_project_is_404(self, client):
        r = await client.get("/v1/instances/999999/1/00000000-0000-0000-0000-000000000000/available_flavors")
        assert r.status_code == 404


class TestCreateFlavors:
    async def post(self, client, project_id, volumes, **params):
        return await client.post(f"/cloud/v1/instances/{project_id}/1/available_flavors", json={"volumes": volumes},
                                 params=params)

    async def test_linux_image_gets_enabled_linux_flavors(self, client, project_id):
        r = await self.post(client, project_id, [{"source": "image", "image_id": UBUNTU, "size": 10}])
        assert r.status_code == 200, r.text
        check_shape(r.json(), priced=False)
        assert ids(r.json()) == LINUX

    async def test_windows_image_gets_windows_flavors(self, client, project_id):
        r = await self.post(client, project_id, [{"source": "image", "image_id": WINDOWS}], include_prices="true")
        assert r.status_code == 200, r.text
        check_shape(r.json(), priced=True)
        assert ids(r.json()) == WINDOWS_FLAVORS

    async def test_image_min_ram_rules_out_small_flavors(self, client, project_id, runtime):
        image_id = await private_image(runtime, project_id, min_ram=8192)
        r = await self.post(client, project_id, [{"source": "image", "image_id": image_id}])
        assert ids(r.json()) == {i for i in LINUX if CATALOG[i]["ram"] >= 8192}

    async def test_the_boot_volume_decides(self, client, project_id):
        volumes = [{"source": "new-volume", "size": 10}, {"source": "image", "image_id": WINDOWS, "size": 50},
                   {"source": "image", "image_id": UBUNTU, "boot_index": 0}]
        assert ids((await self.post(client, project_id, volumes)).json()) == LINUX
        assert ids((await self.post(client, project_id, volumes[:2])).json()) == WINDOWS_FLAVORS

    async def test_existing_bootable_volume(self, client, project_id):
        from tests.api.instances.test_create import create

        task = await create(client, project_id)
        (boot,) = task["created_resources"]["volumes"]
        await client.delete(f"/v1/instances/{project_id}/1/{task['created_resources']['instances'][0]}")
        r = await self.post(client, project_id, [{"source": "existing-volume", "volume_id": boot}])
        assert r.status_code == 200, r.text
        assert ids(r.json()) == LINUX

    @pytest.mark.parametrize(
        "volumes, status",
        [
            ([], 400),
            ([{"source": "new-volume", "size": 10}], 400),
            ([{"source": "image"}], 400),
            ([{"source": "image", "image_id": "00000000-0000-0000-0000-000000000000"}], 404),
            ([{"source": "image", "image_id": WINDOWS, "size": 20}], 400),
            ([{"source": "existing-volume", "volume_id": "00000000-0000-0000-0000-000000000000"}], 404),
            ([{"source": "snapshot", "snapshot_id": "s", "size": 10}], 400),
            ([{"source": "floppy"}], 400),
        ],
    )
    async def test_bad_volumes(self, client, project_id, volumes, status):
        r = await self.post(client, project_id, volumes)
        assert r.status_code == status, r.text
        assert r.json()["exception_class"] == ("NotFoundError" if status == 404 else "ValidationError")

    async def test_missing_body_is_400(self, client, project_id):
        r = await client.post(f"/v1/instances/{project_id}/1/available_flavors", json={})
        assert r.status_code == 400

    async def test_unknown_project_is_404(self, client):
        r = await self.post(client, 999999, [{"source": "image", "image_id": UBUNTU}])
        assert r.status_code == 404
