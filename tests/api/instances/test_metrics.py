"""POST /v1/instances/{p}/{r}/{id}/metrics (endpoints.md 2.24, behaviour.md 8): simulated, deterministic series."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from gcore import AsyncGcore
from gcore.types.cloud.instances import Metrics, MetricsList

from cloudlet.core.clock import utcnow
from tests.api.instances import test_metadata
from tests.api.instances.test_metadata import new_instance
from tests.conftest import ADMIN_TOKEN
from tests.upstream_schema import check

project_id = test_metadata.project_id  # a fresh project, its instances deleted afterwards


@pytest.fixture
async def sdk(app: Any) -> AsyncIterator[AsyncGcore]:
    """The official SDK against the in-process app, validating responses strictly."""
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://cloudlet.test")
    async with http:
        yield AsyncGcore(api_key=ADMIN_TOKEN, base_url="http://cloudlet.test", http_client=http, max_retries=0,
                         _strict_response_validation=True)


def url(project_id: int, instance_id: str) -> str:
    return f"/cloud/v1/instances/{project_id}/1/{instance_id}/metrics"


async def backdate(runtime: Any, instance_id: str, *, created: dt.timedelta,
                   tasks: dict[str, dt.timedelta] | None = None, updated: dt.timedelta | None = None) -> None:
    """Move the instance's creation (and its tasks' ends) into the past, as if it had lived that long."""
    from cloudlet.models import instances
    from cloudlet.models import tasks as task_table

    now = utcnow()
    async with runtime.db.transaction() as conn:
        await conn.execute(sa.update(instances).where(instances.c.id == instance_id)
                           .values(created_at=now - created, updated_at=now - (updated or created)))
        await conn.execute(sa.update(task_table).where(task_table.c.resource_id == instance_id,
                                                       task_table.c.task_type == "create_vm")
                           .values(created_on=now - created, finished_on=now - created))
        for task_type, ago in (tasks or {}).items():
            await conn.execute(sa.update(task_table).where(task_table.c.resource_id == instance_id,
                                                           task_table.c.task_type == task_type)
                               .values(created_on=now - ago, finished_on=now - ago))


async def metrics(client: httpx.AsyncClient, project_id: int, instance_id: str, interval: int = 1,
                  unit: str = "hour", **params: Any) -> list[dict[str, Any]]:
    r = await client.post(url(project_id, instance_id), json={"time_interval": interval, "time_unit": unit},
                          params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    MetricsList.model_validate(body)
    return body["results"]  # type: ignore[no-any-return]


def parse(t: str) -> dt.datetime:
    assert t.endswith("Z") and len(t) == 20, t
    return dt.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ")


class TestInstanceMetrics:
    async def test_last_hour_of_a_running_instance(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await backdate(runtime, instance_id, created=dt.timedelta(hours=3))
        r = await client.post(url(project_id, instance_id), json={"time_interval": 1, "time_unit": "hour"})
        assert r.status_code == 200, r.text
        body = r.json()
        check("InstanceMetricsListSerializer", body)
        assert body["count"] == len(body["results"]) == 240
        times = [parse(m["time"]) for m in body["results"]]
        assert all((b - a).total_seconds() == 15 for a, b in itertools.pairwise(times))
        assert abs((utcnow() - times[-1]).total_seconds()) < 16
        for item in body["results"]:
            m = Metrics.model_validate(item)
            assert 0 < m.cpu_util <= 100 and 0 < m.memory_util <= 100
            assert m.network_bps_ingress > 0 and m.network_pps_egress > 0
            assert [d.disk_name for d in m.disks] == ["vda"]
            assert m.disks[0].disk_bps_write > 0 and m.disks[0].disk_iops_write > 0
        cpu = [m["cpu_util"] for m in body["results"]]
        assert len(set(cpu)) > 100, "the series should vary, not be a constant"

    @pytest.mark.parametrize(
        "interval, unit, step",
        [(1, "hour", 15), (2, "hour", 20), (6, "hour", 20), (24, "hour", 120), (1, "day", 120), (3, "day", 600),
         (7, "day", 600), (14, "day", 1200), (336, "hour", 1200)],
    )
    async def test_step_follows_the_range(self, client, project_id, runtime, interval, unit, step):
        instance_id = await new_instance(client, project_id)
        await backdate(runtime, instance_id, created=dt.timedelta(days=20))
        results = await metrics(client, project_id, instance_id, interval, unit)
        seconds = interval * (3600 if unit == "hour" else 86400)
        assert len(results) == seconds // step
        a, b = parse(results[0]["time"]), parse(results[1]["time"])
        assert (b - a).total_seconds() == step
        assert a.timestamp() % step == 0

    async def test_same_instance_same_values(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await backdate(runtime, instance_id, created=dt.timedelta(days=2))
        first = {m["time"]: m for m in await metrics(client, project_id, instance_id)}
        second = {m["time"]: m for m in await metrics(client, project_id, instance_id)}
        common = set(first) & set(second)
        assert len(common) >= 230
        assert all(first[t] == second[t] for t in common)
        other_id = await new_instance(client, project_id, name="web-2")
        await backdate(runtime, other_id, created=dt.timedelta(days=2))
        other = {m["time"]: m for m in await metrics(client, project_id, other_id)}
        assert [first[t]["cpu_util"] for t in sorted(common & set(other))] != \
            [other[t]["cpu_util"] for t in sorted(common & set(other))]

    async def test_nothing_before_creation(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await backdate(runtime, instance_id, created=dt.timedelta(minutes=30))
        results = await metrics(client, project_id, instance_id)
        assert 118 <= len(results) <= 120
        created = utcnow() - dt.timedelta(minutes=30)
        assert parse(results[0]["time"]) >= created - dt.timedelta(seconds=1)

    async def test_no_load_while_stopped(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        r = await client.post(f"/v2/instances/{project_id}/1/{instance_id}/action", json={"action": "stop"})
        assert r.status_code == 200, r.text
        await backdate(runtime, instance_id, created=dt.timedelta(hours=2), tasks={"stop_vm": dt.timedelta(minutes=30)},
                       updated=dt.timedelta(minutes=30))
        results = await metrics(client, project_id, instance_id)
        stopped_at = utcnow() - dt.timedelta(minutes=30)
        before = [m for m in results if parse(m["time"]) < stopped_at - dt.timedelta(seconds=15)]
        after = [m for m in results if parse(m["time"]) > stopped_at + dt.timedelta(seconds=15)]
        assert before and after
        assert all(m["cpu_util"] > 0 for m in before)
        for m in after:
            assert m["cpu_util"] == m["memory_util"] == m["network_Bps_ingress"] == m["network_pps_egress"] == 0
            assert all(d["disk_Bps_write"] == d["disk_iops_read"] == 0 for d in m["disks"])

    async def test_every_attached_volume_is_a_disk(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id, volumes=[
            {"source": "image", "image_id": "3a4b3c7e-7a0c-4c51-9f7e-0b6f9d1c0001", "size": 10},
            {"source": "new-volume", "size": 20},
        ])
        await backdate(runtime, instance_id, created=dt.timedelta(hours=2))
        results = await metrics(client, project_id, instance_id)
        assert [d["disk_name"] for d in results[-1]["disks"]] == ["vda", "vdb"]

    async def test_limit_and_offset(self, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await backdate(runtime, instance_id, created=dt.timedelta(days=1))
        r = await client.post(url(project_id, instance_id), json={"time_interval": 1, "time_unit": "day"},
                              params={"limit": 10, "offset": 700})
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["count"] == 720 and len(body["results"]) == 10
        everything = await metrics(client, project_id, instance_id, 1, "day")
        assert [m["time"] for m in body["results"]] == [m["time"] for m in everything[700:710]]

    async def test_python_sdk_strict(self, sdk, client, project_id, runtime):
        instance_id = await new_instance(client, project_id)
        await backdate(runtime, instance_id, created=dt.timedelta(hours=8))
        listed = await sdk.cloud.instances.metrics.list(instance_id, project_id=project_id, region_id=1,
                                                        time_interval=6, time_unit="hour")
        assert listed.count == 1080 and len(listed.results) == 1080
        assert listed.results[0].disks[0].disk_name == "vda"

    @pytest.mark.parametrize(
        "payload",
        [
            {"time_interval": 0, "time_unit": "hour"},
            {"time_interval": -1, "time_unit": "day"},
            {"time_interval": "x", "time_unit": "day"},
            {"time_interval": 1, "time_unit": "week"},
            {"time_interval": 1},
            {"time_unit": "hour"},
            {"time_interval": 15, "time_unit": "day"},
            {"time_interval": 337, "time_unit": "hour"},
        ],
    )
    async def test_bad_body_is_400(self, client, project_id, payload):
        instance_id = await new_instance(client, project_id)
        r = await client.post(url(project_id, instance_id), json=payload)
        assert r.status_code == 400, r.text
        assert r.json()["exception_class"] == "ValidationError"

    async def test_bad_paging_is_400(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        r = await client.post(url(project_id, instance_id), json={"time_interval": 1, "time_unit": "hour"},
                              params={"limit": -1})
        assert r.status_code == 400

    async def test_unknown_instance_is_404(self, client, project_id):
        r = await client.post(url(project_id, "00000000-0000-0000-0000-000000000000"),
                              json={"time_interval": 1, "time_unit": "hour"})
        assert r.status_code == 404
        assert r.json()["exception_class"] == "NotFoundError"

    async def test_instance_of_another_project_is_404(self, client, project_id):
        instance_id = await new_instance(client, project_id)
        other = (await client.post("/cloud/v1/projects", json={"name": "other-metrics"})).json()
        r = await client.post(url(other["id"], instance_id), json={"time_interval": 1, "time_unit": "hour"})
        assert r.status_code == 404


class TestPowerSpans:
    """How the simulated guest's power history is read from its finished tasks."""

    T0 = dt.datetime(2025, 1, 1)

    def at(self, hours: float) -> dt.datetime:
        return self.T0 + dt.timedelta(hours=hours)

    def spans(self, vm_state: str, events: list[tuple[float, str]], updated: float = 10) -> list[tuple[Any, Any]]:
        from cloudlet.guests.service import power_spans

        got = power_spans(created_at=self.T0, vm_state=vm_state, updated_at=self.at(updated),
                          events=[(self.at(h), t) for h, t in events])
        return [(s.start, s.end) for s in got]

    def test_created_stopped_started(self):
        assert self.spans("active", [(0.1, "create_vm"), (2, "stop_vm"), (3, "start_vm")]) == [
            (self.at(0.1), self.at(2)), (self.at(3), None)]

    def test_reboot_starts_a_new_boot(self):
        assert self.spans("active", [(0.1, "create_vm"), (5, "soft_reboot_vm")]) == [
            (self.at(0.1), self.at(5)), (self.at(5), None)]

    def test_history_beyond_retention_starts_with_a_stop(self):
        assert self.spans("stopped", [(4, "stop_vm")]) == [(self.T0, self.at(4))]

    def test_no_history(self):
        assert self.spans("active", []) == [(self.T0, None)]
        assert self.spans("stopped", [], updated=6) == [(self.T0, self.at(6))]
        assert self.spans("building", []) == []

    def test_state_now_wins_over_missing_tasks(self):
        assert self.spans("error", [(0.1, "create_vm")], updated=7) == [(self.at(0.1), self.at(7))]
        assert self.spans("active", [(0.1, "create_vm"), (1, "stop_vm")], updated=8) == [
            (self.at(0.1), self.at(1)), (self.at(8), None)]
