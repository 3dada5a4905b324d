"""The config drive: an ISO 9660 disk labelled ``cidata`` (cloud-init's NoCloud layout).

    meta-data              instance-id, local-hostname, public-keys
    user-data              the API's user_data (base64-decoded), or, when a password is set, a
                           #cloud-config that sets it (Gcore: a password makes user_data ignored)
    cloudlet/hostname      plain copies for guests without cloud-init (the tiny image's /init)
    cloudlet/authorized_keys

Secrets (user data, password) travel only here, never on the kernel command line (visible in ``ps``
on the host) nor in logs. The ISO is a 0600 volume in the host's pool, deleted with the instance.
"""

from __future__ import annotations

import base64
import binascii
import io
import json

from cloudlet.compute.base import InstanceSpec
from cloudlet.compute.libvirt.domain_xml import guest_hostname

__all__ = ["build_iso", "config_files"]


def _user_data(spec: InstanceSpec) -> bytes | None:
    if spec.password:
        # JSON is YAML: no quoting pitfalls whatever the password holds
        config: dict[str, object] = {"ssh_pwauth": True}
        if spec.username:
            config["users"] = ["default", {"name": spec.username, "lock_passwd": False, "plain_text_passwd":
                                           spec.password, "sudo": "ALL=(ALL) NOPASSWD:ALL", "shell": "/bin/bash"}]
        else:
            config["password"] = spec.password
            config["chpasswd"] = {"expire": False}
        return b"#cloud-config\n" + json.dumps(config).encode() + b"\n"
    if spec.user_data:
        try:
            return base64.b64decode(spec.user_data, validate=True)
        except (binascii.Error, ValueError):
            return spec.user_data.encode()
    return None


def config_files(spec: InstanceSpec) -> dict[str, bytes]:
    """The files of an instance's config drive, by path."""
    hostname = guest_hostname(spec.name)
    keys = [spec.ssh_public_key.strip()] if spec.ssh_public_key else []
    meta = {"instance-id": spec.id, "local-hostname": hostname}
    if keys:
        meta["public-keys"] = keys  # type: ignore[assignment]
    files = {
        "meta-data": json.dumps(meta, indent=1).encode() + b"\n",
        "cloudlet/hostname": hostname.encode() + b"\n",
    }
    if keys:
        files["cloudlet/authorized_keys"] = "\n".join(keys).encode() + b"\n"
    user_data = _user_data(spec)
    if user_data is not None:
        files["user-data"] = user_data
    return files


def build_iso(files: dict[str, bytes], *, label: str = "cidata") -> bytes:
    """An ISO 9660 image with Rock Ridge and Joliet names (so Linux sees "meta-data", not "META_DAT")."""
    import pycdlib

    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident=label)
    iso_dirs: dict[str, str] = {"": ""}  # path -> ISO 9660 path (short names; the real ones are in RR/Joliet)
    for n, (path, data) in enumerate(sorted(files.items())):
        parts = path.split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if directory not in iso_dirs:
                iso_dirs[directory] = f"{iso_dirs['/'.join(parts[:depth - 1])]}/D{len(iso_dirs):07d}"
                iso.add_directory(iso_dirs[directory], rr_name=parts[depth - 1], joliet_path="/" + directory)
        parent = iso_dirs["/".join(parts[:-1])]
        iso.add_fp(io.BytesIO(data), len(data), f"{parent}/F{n:07d}.;1", rr_name=parts[-1],
                   joliet_path="/" + path, file_mode=0o100400)
    out = io.BytesIO()
    iso.write_fp(out)
    iso.close()
    return out.getvalue()
