"""The libvirt compute driver: real QEMU guests (TCG) on one or more libvirt hosts.

Importing this package does not import ``libvirt`` (an optional extra, ``pip install cloudlet[libvirt]``);
``driver.LibvirtDriver`` does, and fails with a clear message when it is missing.
"""
