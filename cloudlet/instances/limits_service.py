"""check_limits: which regional quotas a planned create would exceed, without creating anything."""

from __future__ import annotations

from cloudlet.core.db import Conn
from cloudlet.core.errors import NotFoundError, ValidationError
from cloudlet.core.scope import Scope
from cloudlet.flavors import repository as flavor_repository
from cloudlet.images import repository as image_repository
from cloudlet.instances.limits_schemas import CheckLimitsRequest
from cloudlet.quotas import service as quota_service


async def check_limits(conn: Conn, scope: Scope, body: CheckLimitsRequest) -> dict[str, int]:
    """The ``<q>_limit/_requested/_usage`` triples of each exceeded quota; ``{}`` when everything fits.

    ``requested`` is what the create would take (behaviour.md 4.3): a volume without ``size`` takes
    what create would give it (the image's minimum disk or the flavor's disk, whichever is larger)."""
    if body.names is not None and body.name_templates is not None:
        raise ValidationError.for_field("name_templates", "Give either names or name_templates, not both")
    count = len(body.names or body.name_templates or [None])
    flavor = None
    if body.flavor is not None:
        flavor = await flavor_repository.get(conn, scope.region_id, body.flavor)
        if flavor is None:
            raise NotFoundError(f"Flavor {body.flavor} could not be found")
    sizes: list[int] = []
    for v in body.volumes:
        if v.source == "existing-volume":
            continue  # already counted in the usage
        size = v.size
        if size is None:
            size = flavor.disk if flavor is not None else 0
            if v.source == "image" and v.image_id:
                image = await image_repository.get(conn, scope, v.image_id)
                if image is None:
                    raise NotFoundError(f"Image {v.image_id} could not be found")
                size = max(size, image.min_disk)
        sizes.append(size)
    requested = quota_service.instance_request(
        flavor=flavor, count=count, new_volume_sizes=sizes,
        external_interfaces=sum(1 for i in body.interfaces if i.type == "external"),
        new_floating_ips=sum(1 for i in body.interfaces if i.floating_ip is not None and i.floating_ip.source == "new"),
    )
    return await quota_service.exceeded(conn, scope.client_id, scope.region_id, requested, lock=False)
