"""The official SDK, unchanged and strict, against ``cloudlet serve`` (instant profile)."""

from __future__ import annotations

import time
import uuid

import gcore
import pytest
from gcore import Gcore

UBUNTU = "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create(sdk: Gcore, name: str, **kwargs):
    return sdk.cloud.instances.create_and_poll(
        flavor="g1-standard-1-2",
        interfaces=[{"type": "external"}],
        volumes=[{"source": "image", "image_id": UBUNTU, "size": 10, "boot_index": 0}],
        name=name,
        **kwargs,
    )


class TestInstanceLifecycleThroughSdk:
    def test_create_and_poll_returns_the_active_instance_quickly(self, sdk: Gcore):
        name = unique("sdk")
        started = time.monotonic()
        instance = create(sdk, name, tags={"team": "qa"})
        assert time.monotonic() - started < 1.0, "instant profile: the first poll must already see FINISHED"
        assert instance.name == name
        assert instance.status == "ACTIVE" and instance.vm_state == "active"
        assert instance.flavor.flavor_id == "g1-standard-1-2"
        assert [(t.key, t.value, t.read_only) for t in instance.tags] == [("team", "qa", False)]
        assert "public" in instance.addresses
        assert len(instance.volumes) == 1

    def test_get_update_and_delete_and_poll(self, sdk: Gcore):
        instance = create(sdk, unique("upd"))
        got = sdk.cloud.instances.get(instance.id)
        assert got.id == instance.id
        renamed = sdk.cloud.instances.update(instance.id, name="renamed-vm", tags={"env": "prod"})
        assert renamed.name == "renamed-vm"
        assert {t.key: t.value for t in renamed.tags} == {"env": "prod"}
        cleared = sdk.cloud.instances.update(instance.id, tags={"env": None})
        assert cleared.tags == []
        boot_volume = got.volumes[0].id
        sdk.cloud.instances.delete_and_poll(instance.id, volumes=boot_volume)
        with pytest.raises(gcore.NotFoundError):
            sdk.cloud.instances.get(instance.id)

    def test_list_auto_paginates_with_total_count(self, sdk: Gcore):
        prefix = unique("page")
        created = {create(sdk, f"{prefix}-{n}").id for n in range(5)}
        page = sdk.cloud.instances.list(name=prefix, limit=2)
        seen = [i.id for i in page]  # iterating follows the next pages by offset
        assert len(seen) == 5 and set(seen) == created

    def test_list_filters(self, sdk: Gcore):
        name = unique("filt")
        instance = create(sdk, name)
        assert [i.id for i in sdk.cloud.instances.list(name=name, status="ACTIVE")] == [instance.id]
        assert list(sdk.cloud.instances.list(name=name, status="SHUTOFF")) == []
        assert [i.id for i in sdk.cloud.instances.list(uuid=instance.id[:13])] == [instance.id]
        ip = instance.addresses["public"][0].addr
        assert instance.id in [i.id for i in sdk.cloud.instances.list(ip=ip)]
        assert [i.id for i in sdk.cloud.instances.list(name=name, flavor_prefix="g1-standard")] == [instance.id]

    def test_tasks_get_list_and_poll(self, sdk: Gcore):
        name = unique("task")
        ids = sdk.cloud.instances.create(
            flavor="g1-standard-1-2", interfaces=[{"type": "external"}],
            volumes=[{"source": "image", "image_id": UBUNTU, "size": 10}], name=name,
        ).tasks
        task = sdk.cloud.tasks.poll(ids[0])
        assert task.state == "FINISHED" and task.task_type == "create_vm"
        assert task.created_resources and len(task.created_resources.instances or []) == 1
        listed = [t.id for t in sdk.cloud.tasks.list(task_type="create_vm", state=["FINISHED"], limit=1000)]
        assert ids[0] in listed
        acked = sdk.cloud.tasks.acknowledge_one(ids[0])
        assert acked.acknowledged_at is not None
        sdk.cloud.tasks.acknowledge_all(project_id=1, region_id=1)

    def test_errors_surface_as_sdk_exceptions(self, sdk: Gcore):
        with pytest.raises(gcore.NotFoundError):
            sdk.cloud.instances.get(str(uuid.uuid4()))
        with pytest.raises(gcore.BadRequestError):
            sdk.cloud.instances.create(flavor="g1-standard-1-2", interfaces=[{"type": "external"}],
                                       volumes=[{"source": "new-volume", "size": 5}], name="no-boot")

    def test_injected_fault_fails_the_task_and_leaves_nothing(self, sdk: Gcore, server):
        import httpx

        from tests.conftest import ADMIN_TOKEN

        r = httpx.post(f"{server.url}/admin/v1/faults", json={"operation": "create_vm", "mode": "once"},
                       headers={"Authorization": f"APIKey {ADMIN_TOKEN}"})
        assert r.status_code == 200, r.text
        name = unique("fault")
        with pytest.raises(ValueError, match="Injected fault"):
            create(sdk, name)
        assert list(sdk.cloud.instances.list(name=name)) == []
        create(sdk, unique("after-fault"))  # the fault was one-shot
