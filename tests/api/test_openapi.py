"""cloudlet documents itself: /openapi.json and a /docs page that works offline."""

from __future__ import annotations

import re


async def test_openapi_document_lists_the_gcore_paths(client):
    r = await client.get("/openapi.json", headers={"Authorization": ""})
    assert r.status_code == 200
    doc = r.json()
    assert doc["openapi"].startswith("3.")
    for path in ("/v2/instances/{project_id}/{region_id}", "/v1/instances/{project_id}/{region_id}/{instance_id}",
                 "/v1/tasks/{task_id}", "/v1/flavors/{project_id}/{region_id}"):
        assert path in doc["paths"], path


async def test_docs_page_loads_only_local_assets(client):
    page = await client.get("/docs", headers={"Authorization": ""})
    assert page.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert urls and all(u.startswith("/docs/assets/") for u in urls), urls
    for url in urls:
        asset = await client.get(url, headers={"Authorization": ""})
        assert asset.status_code == 200 and len(asset.content) > 1000, url
