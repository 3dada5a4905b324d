"""Cloudlet networks as libvirt networks: one isolated bridge per cloudlet network per host.

A libvirt network here has no ``<forward>``: guests reach each other and the host's bridge address,
never anything beyond the host (also for the external network "public"). Its dnsmasq hands out
exactly the addresses cloudlet's IPAM chose: one static ``<host mac ip>`` entry per port, added and
removed as ports come and go. IPv4 only: IPv6 addresses of a port are not configured in the guest.

Two cloudlet networks with overlapping subnets cannot share a host (libvirt refuses a network whose
subnet collides with a route it already has).
"""

from __future__ import annotations

import dataclasses
import ipaddress
import xml.etree.ElementTree as ET

from cloudlet.compute.base import NicSpec

__all__ = ["NetworkPlan", "bridge_name", "dhcp_host_xml", "network_name", "network_xml", "plan_for"]

NETWORK_PREFIX = "cloudlet-"
FALLBACK_PREFIXLEN = 24


@dataclasses.dataclass(frozen=True, slots=True)
class NetworkPlan:
    network_id: str
    cidr: str
    bridge_address: str
    mac_address: str
    ip_address: str | None  # the port's IPv4 address (None: the port has none, no DHCP entry)


def network_name(network_id: str) -> str:
    return f"{NETWORK_PREFIX}{network_id}"


def bridge_name(network_id: str) -> str:
    """At most 15 characters (IFNAMSIZ): "clt" and 12 hex digits of the network id."""
    digits = "".join(c for c in network_id.lower() if c in "0123456789abcdef")
    return f"clt{digits[:12] or 'net'}"


def _first_ipv4(addresses: tuple[str, ...]) -> str | None:
    for address in addresses:
        try:
            if ipaddress.ip_address(address).version == 4:
                return address
        except ValueError:
            continue
    return None


def plan_for(nic: NicSpec) -> NetworkPlan:
    """The libvirt network a NIC needs. Without a subnet in the NicSpec, a /24 around the address is assumed."""
    ip = _first_ipv4(nic.ip_addresses)
    if nic.cidr:
        subnet = ipaddress.ip_network(nic.cidr, strict=False)
    elif ip is not None:
        subnet = ipaddress.ip_network(f"{ip}/{FALLBACK_PREFIXLEN}", strict=False)
    else:
        # a port without IPv4: the guest still gets a link on the bridge, with no DHCP answer
        subnet = ipaddress.ip_network("169.254.0.0/16")
    gateway = nic.gateway_ip if nic.gateway_ip else None
    if gateway is None or ipaddress.ip_address(gateway) not in subnet or gateway == ip:
        # no gateway: the bridge takes the last usable address (cloudlet's IPAM hands out from the first)
        last = subnet.broadcast_address - 1
        gateway = str(last if str(last) != ip else last - 1)
    return NetworkPlan(network_id=nic.network_id, cidr=str(subnet), bridge_address=gateway,
                       mac_address=nic.mac_address.lower(), ip_address=ip)


def dhcp_host_xml(mac_address: str, ip_address: str) -> str:
    return ET.tostring(ET.Element("host", mac=mac_address.lower(), ip=ip_address), encoding="unicode")


def network_xml(plan: NetworkPlan) -> str:
    """An isolated network (no <forward>) with DNS off and DHCP for the plan's port only."""
    subnet = ipaddress.ip_network(plan.cidr)
    network = ET.Element("network")
    ET.SubElement(network, "name").text = network_name(plan.network_id)
    ET.SubElement(network, "bridge", name=bridge_name(plan.network_id), stp="off", delay="0")
    ET.SubElement(network, "dns", enable="no")
    ip = ET.SubElement(network, "ip", address=plan.bridge_address, prefix=str(subnet.prefixlen))
    if plan.ip_address is not None:
        dhcp = ET.SubElement(ip, "dhcp")
        dhcp.append(ET.fromstring(dhcp_host_xml(plan.mac_address, plan.ip_address)))
    return ET.tostring(network, encoding="unicode")


def dhcp_hosts(xml: str) -> dict[str, str]:
    """mac -> ip of a network XML's static DHCP entries."""
    return {h.get("mac", "").lower(): h.get("ip", "")
            for h in ET.fromstring(xml).findall("ip/dhcp/host") if h.get("mac")}
