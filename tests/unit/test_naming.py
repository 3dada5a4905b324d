import pytest

from cloudlet.core.errors import ValidationError
from cloudlet.instances.naming import render


@pytest.mark.parametrize(
    "template, name",
    [
        ("my-vm-{ip_octets}", "my-vm-10-0-5"),
        ("vm-{two_ip_octets}", "vm-0-5"),
        ("vm-{one_ip_octet}", "vm-5"),
        ("{one_ip_octet}-{two_ip_octets}", "5-0-5"),
        ("plain-name", "plain-name"),
    ],
)
def test_render(template, name):
    assert render(template, "192.10.0.5") == name


def test_unknown_placeholder_is_rejected():
    with pytest.raises(ValidationError, match="Unknown placeholder"):
        render("vm-{octets}", "10.0.0.1")


def test_template_needs_an_ipv4_address():
    with pytest.raises(ValidationError, match="IPv4"):
        render("vm-{ip_octets}", None)
    assert render("static", None) == "static"
