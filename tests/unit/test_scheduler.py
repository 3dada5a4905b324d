"""The scheduler's placement rules, one policy at a time."""

from __future__ import annotations

import pytest

from cloudlet.compute.base import HostInfo, NoValidHost
from cloudlet.instances.scheduler import choose_host

HOSTS = [HostInfo(name=f"h{n}", vcpus=8, ram=16384) for n in (1, 2, 3)]


class TestCapacity:
    def test_least_loaded_host_that_fits(self):
        usage = {"h1": (4, 8192), "h2": (1, 1024), "h3": (6, 12288)}
        assert choose_host(HOSTS, usage, vcpus=2, ram=2048) == "h2"

    def test_hosts_without_room_are_skipped(self):
        usage = {"h1": (8, 1024), "h2": (1, 16000), "h3": (7, 15000)}
        assert choose_host(HOSTS, usage, vcpus=1, ram=1024) == "h3"

    def test_no_room_anywhere(self):
        usage = {h.name: (8, 16384) for h in HOSTS}
        with pytest.raises(NoValidHost, match="No valid host"):
            choose_host(HOSTS, usage, vcpus=1, ram=512)


class TestAffinity:
    def test_first_member_goes_anywhere(self):
        assert choose_host(HOSTS, {}, vcpus=1, ram=512, policy="affinity") in {"h1", "h2", "h3"}

    def test_joins_the_group_host_even_if_busier(self):
        usage = {"h3": (6, 8000)}
        assert choose_host(HOSTS, usage, vcpus=1, ram=512, policy="affinity", group_hosts={"h3"}) == "h3"

    def test_group_host_full_means_no_host(self):
        usage = {"h3": (8, 16384)}
        with pytest.raises(NoValidHost, match="affinity"):
            choose_host(HOSTS, usage, vcpus=1, ram=512, policy="affinity", group_hosts={"h3"})


class TestAntiAffinity:
    def test_avoids_group_hosts(self):
        assert choose_host(HOSTS, {"h3": (7, 0)}, vcpus=1, ram=512, policy="anti-affinity",
                           group_hosts={"h1", "h2"}) == "h3"

    def test_more_members_than_hosts_fails(self):
        with pytest.raises(NoValidHost, match="anti-affinity"):
            choose_host(HOSTS, {}, vcpus=1, ram=512, policy="anti-affinity", group_hosts={"h1", "h2", "h3"})

    def test_free_host_without_room_fails(self):
        with pytest.raises(NoValidHost):
            choose_host(HOSTS, {"h3": (8, 0)}, vcpus=1, ram=512, policy="anti-affinity", group_hosts={"h1", "h2"})


class TestSoftAntiAffinity:
    def test_prefers_hosts_outside_the_group(self):
        usage = {"h1": (0, 0), "h2": (0, 0), "h3": (7, 15000)}
        assert choose_host(HOSTS, usage, vcpus=1, ram=512, policy="soft-anti-affinity",
                           group_hosts={"h1", "h2"}) == "h3"

    def test_falls_back_to_group_hosts(self):
        usage = {"h1": (3, 0), "h2": (1, 0), "h3": (2, 0)}
        assert choose_host(HOSTS, usage, vcpus=1, ram=512, policy="soft-anti-affinity",
                           group_hosts={"h1", "h2", "h3"}) == "h2"

    def test_still_needs_room(self):
        usage = {h.name: (8, 0) for h in HOSTS}
        with pytest.raises(NoValidHost):
            choose_host(HOSTS, usage, vcpus=1, ram=512, policy="soft-anti-affinity", group_hosts=set())
