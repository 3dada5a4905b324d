"""Seed a running moto server with EC2 instances through boto3 (RunInstances batches).

Runs with the Python of benchmarks/.venv-moto (it has boto3; cloudlet's environment does not), so it
imports nothing from cloudlet or the rest of the harness. The dataset mirrors benchmarks/seed.py:
names cycle through the same eight prefixes, one reservation in ten is stopped. Instances come in
reservations of ``--batch`` with one Name per reservation, so ``DescribeInstances`` with
``MaxResults=100/batch`` (moto pages by reservation) returns a page of 100 instances.

Prints one JSON line: {"image_id": ..., "instance_ids": [...], "seconds": ...}.
"""

from __future__ import annotations

import argparse
import json
import time

import boto3  # type: ignore[import-not-found]

NAME_PREFIXES = ("web", "api", "db", "cache", "worker", "batch", "edge", "ml")
STOPPED_EVERY = 10


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    started = time.monotonic()
    ec2 = boto3.client("ec2", endpoint_url=args.endpoint, region_name=args.region,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    image_id = next(i["ImageId"] for i in images if i.get("Platform") != "windows")
    instance_ids: list[str] = []
    to_stop: list[str] = []
    for batch in range(args.count // args.batch):
        name = f"{NAME_PREFIXES[batch % len(NAME_PREFIXES)]}-{batch:06d}"
        reservation = ec2.run_instances(
            ImageId=image_id, MinCount=args.batch, MaxCount=args.batch, InstanceType="t3.micro",
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}],
        )
        ids = [i["InstanceId"] for i in reservation["Instances"]]
        instance_ids.extend(ids)
        if batch % STOPPED_EVERY == STOPPED_EVERY - 1:
            to_stop.extend(ids)
    for start in range(0, len(to_stop), 100):
        ec2.stop_instances(InstanceIds=to_stop[start:start + 100])
    print(json.dumps({"image_id": image_id, "instance_ids": instance_ids,
                      "seconds": round(time.monotonic() - started, 1)}))


if __name__ == "__main__":
    main()
