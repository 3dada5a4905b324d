from __future__ import annotations

import json
import uuid

import pytest
from gcore.types.cloud.instances import Image

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"
WINDOWS = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0006"
PUBLIC = 7


async def add_image(runtime, project_id, *, name, visibility="private", tags=None, architecture="x86_64"):
    """An image owned by ``project_id`` (cloudlet has no upload API yet)."""
    from cloudlet.core.clock import utcnow
    from cloudlet.models import images

    image_id = str(uuid.uuid4())
    async with runtime.db.transaction() as conn:
        await conn.execute(images.insert().values(
            id=image_id, region_id=1, project_id=project_id, name=name, description=None, os_distro="alpine",
            os_version="3.20", os_type="linux", architecture=architecture, min_disk=1, min_ram=0, size=1024,
            disk_format="qcow2", visibility=visibility, status="active", ssh_key="allow", hw_firmware_type=None,
            display_order=None, tags=tags or [], created_at=utcnow(), updated_at=utcnow(),
        ))
    return image_id


def tag(key, value):
    return {"key": key, "value": value, "read_only": False}


async def listed(client, project_id, **params):
    r = await client.get(f"/cloud/v1/images/{project_id}/1", params=params)
    assert r.status_code == 200, r.text
    return r.json()


class TestListImages:
    async def test_lists_public_images_in_the_sdk_shape(self, client, project_id):
        body = await listed(client, project_id)
        assert body["count"] == PUBLIC == len(body["results"])
        for image in body["results"]:
            Image.model_validate(image)
            assert image["tags"] == image["tags_v2"] == []
            assert image["project_id"] == project_id and image["region"] == "Luxembourg"
            assert image["price_per_hour"] is None and image["currency_code"] is None and image["price_status"] is None
        assert body["results"][0]["id"] == UBUNTU  # catalog order

    async def test_include_prices(self, client, project_id):
        body = await listed(client, project_id, include_prices="true")
        prices = {i["os_type"]: (i["price_per_hour"], i["price_per_month"]) for i in body["results"]}
        assert prices["linux"] == (0, 0)
        hourly, monthly = prices["windows"]
        assert 0 < hourly < 1 and monthly == pytest.approx(hourly * 730, abs=0.01)
        assert {(i["currency_code"], i["price_status"]) for i in body["results"]} == {("EUR", "show")}

    @pytest.mark.parametrize("params, count", [
        ({"name": "UBUNTU"}, 2), ({"name": "-x64"}, 5), ({"name": "nothing"}, 0),
        ({"os_distro": "Ubuntu"}, 2), ({"os_distro": "ubun"}, 0), ({"os_version": "22.04"}, 1),
        ({"architecture": "x86_64"}, PUBLIC), ({"architecture": "aarch64"}, 0),
        ({"visibility": "public"}, PUBLIC), ({"visibility": "shared"}, 0),
        ({"os_distro": "windows", "os_version": "2019"}, 1),
    ])
    async def test_filters(self, client, project_id, params, count):
        body = await listed(client, project_id, **params)
        assert body["count"] == count == len(body["results"])

    async def test_pages_count_the_total(self, client, project_id):
        everything = [i["id"] for i in (await listed(client, project_id))["results"]]
        page = await listed(client, project_id, limit=2, offset=3)
        assert page["count"] == PUBLIC and [i["id"] for i in page["results"]] == everything[3:5]
        assert (await listed(client, project_id, limit=2, offset=PUBLIC))["results"] == []

    async def test_private_images_only_when_asked(self, client, runtime, project_id):
        own = await add_image(runtime, project_id, name="my-golden-image")
        assert own not in {i["id"] for i in (await listed(client, project_id))["results"]}
        shown = await listed(client, project_id, private="1")
        assert shown["count"] == PUBLIC + 1 and own in {i["id"] for i in shown["results"]}
        only = await listed(client, project_id, visibility="private")
        assert [i["id"] for i in only["results"]] == [own]
        Image.model_validate(only["results"][0])

    async def test_other_projects_images_are_invisible(self, client, runtime, project_id):
        from cloudlet.projects.service import create_project

        async with runtime.db.transaction() as conn:
            other = (await create_project(conn, client_id=1, name=f"other-{uuid.uuid4().hex[:8]}")).id
        foreign = await add_image(runtime, other, name="theirs")
        assert (await listed(client, project_id, private="1"))["count"] == PUBLIC
        assert (await client.get(f"/v1/images/{project_id}/1/{foreign}")).status_code == 404
        assert (await client.get(f"/v1/images/{other}/1/{foreign}")).status_code == 200

    async def test_tag_filters(self, client, runtime, project_id):
        tagged = await add_image(runtime, project_id, name="tagged", visibility="public",
                                 tags=[tag("os", "linux"), tag("team", "web")])
        await add_image(runtime, project_id, name="other-tags", visibility="public", tags=[tag("os", "bsd")])
        cases = [
            ({"tag_key": "team"}, [tagged]),
            ({"tag_key": ["os", "team"]}, [tagged]),
            ({"tag_key": "os,team"}, [tagged]),
            ({"tag_key_value": json.dumps({"os": "linux"})}, [tagged]),
            ({"tag_key_value": "os=linux"}, [tagged]),
            ({"tag_key_value": json.dumps({"os": "windows"})}, []),
            ({"metadata_kv": json.dumps({"team": "web"})}, [tagged]),
            ({"metadata_k": json.dumps(["team"])}, [tagged]),
        ]
        for params, expected in cases:
            body = await listed(client, project_id, **params)
            assert [i["id"] for i in body["results"]] == expected, params
            assert body["count"] == len(expected)
        image = (await listed(client, project_id, tag_key="team"))["results"][0]
        assert image["tags"] == image["tags_v2"] == [tag("os", "linux"), tag("team", "web")]
        assert image["metadata"] == {"os": "linux", "team": "web"}
        assert len((await listed(client, project_id, tag_key="os"))["results"]) == 2

    @pytest.mark.parametrize("params", [{"tag_key_value": "{not json"}, {"tag_key_value": "novalue"},
                                        {"metadata_k": "{}"}, {"architecture": "arm"}, {"visibility": "all"},
                                        {"limit": 1001}])
    async def test_bad_query_is_400(self, client, project_id, params):
        r = await client.get(f"/v1/images/{project_id}/1", params=params)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"

    @pytest.mark.parametrize("path", ["/v1/images/999999/1", "/v1/images/{p}/999"])
    async def test_unknown_project_or_region_is_404(self, client, project_id, path):
        assert (await client.get(path.format(p=project_id))).status_code == 404


class TestGetImage:
    async def test_get_image(self, client, project_id):
        r = await client.get(f"/v1/images/{project_id}/1/{WINDOWS}")
        assert r.status_code == 200
        image = r.json()
        Image.model_validate(image)
        assert image["os_type"] == "windows" and image["min_ram"] == 4096 and image["ssh_key"] == "deny"
        assert image["price_per_hour"] is None
        priced = (await client.get(f"/v1/images/{project_id}/1/{WINDOWS}", params={"include_prices": "true"})).json()
        assert priced["price_per_hour"] > 0 and priced["price_status"] == "show"

    async def test_unknown_image_is_404(self, client, project_id):
        r = await client.get(f"/v1/images/{project_id}/1/{uuid.uuid4()}")
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"


class TestImagesWithSdk:
    async def test_list_and_get_in_strict_mode(self, sdk):
        page = await sdk.cloud.instances.images.list(include_prices=True, name="ubuntu")
        assert [i.name for i in page.results] == ["ubuntu-22.04-x64", "ubuntu-24.04-x64"]
        assert page.results[0].tags_v2 == []
        image = await sdk.cloud.instances.images.get(image_id=UBUNTU)
        assert image.os_distro == "ubuntu" and image.price_per_hour is None
