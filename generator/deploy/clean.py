"""Clean: delete stacks in reverse dependency order, keeping what holds data.

Buckets a stack deletes are emptied first (every version). Resources with
DeletionPolicy Retain stay, and are listed with the command that deletes each; with
--purge (after an explicit confirmation) they are deleted too.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import yaml

from .cloud import Cloud, DeployError
from .manifest import StackSpec


@dataclass(frozen=True)
class Retained:
    stack: str
    logical_id: str
    resource_type: str
    physical_id: str
    region: str

    @property
    def how_to_delete(self) -> str:
        return self.command()

    def command(self, endpoint: str | None = None) -> str:
        """The command that deletes it; on the local cloud (`endpoint`) it says where,
        or the aws CLI would go to AWS."""
        region = f"--region {self.region}" + (f" --endpoint-url {endpoint}" if endpoint
                                               else "")
        commands = {
            "AWS::DynamoDB::Table": f"aws dynamodb delete-table --table-name "
                                    f"{self.physical_id} {region}",
            "AWS::S3::Bucket": f"aws s3 rb s3://{self.physical_id} --force {region}  "
                               "(versioned: delete every version first)",
            "AWS::KMS::Key": f"aws kms schedule-key-deletion --key-id {self.physical_id} "
                             f"--pending-window-in-days 7 {region}",
            "AWS::Logs::LogGroup": f"aws logs delete-log-group --log-group-name "
                                   f"{self.physical_id} {region}",
            "AWS::SSM::Parameter": f"aws ssm delete-parameter --name {self.physical_id} "
                                   f"{region}",
        }
        return commands.get(self.resource_type, f"delete {self.physical_id} "
                                                f"({self.resource_type}) by hand")


def _retain_policy(template: bytes) -> dict[str, dict]:
    resources = yaml.safe_load(template).get("Resources", {})
    return {k: v for k, v in resources.items() if v.get("DeletionPolicy") in
            ("Retain", "RetainExceptOnCreate", "Snapshot")}


def clean(cloud: Cloud, stacks: list[StackSpec], say) -> list[Retained]:
    """Delete every stack that exists, dependants first; return what was kept."""
    kept: list[Retained] = []
    for spec in reversed(stacks):
        state = cloud.stack(spec.name, spec.region)
        if state is None:
            say(spec.name, "not deployed")
            continue
        retained = _retain_policy(spec.template)
        for resource in cloud.resources(spec.name, spec.region):
            logical, kind = resource["LogicalResourceId"], resource["ResourceType"]
            physical = resource.get("PhysicalResourceId", "")
            if logical in retained:
                kept.append(Retained(spec.name, logical, kind, physical, spec.region))
            elif kind == "AWS::S3::Bucket" and physical:
                count = cloud.empty_bucket(physical, spec.region)
                say(spec.name, f"emptied bucket {physical} ({count} object versions)")
            elif kind == "AWS::KMS::Alias":
                say(spec.name, f"the alias {physical} goes with the stack; its key is kept "
                               "and the next deploy adopts it and names it again")
        cloud.delete_stack(spec.name, spec.region)
        final = cloud.wait_stack(spec.name, spec.region, lambda e: None, set())
        if final != "DELETE_COMPLETE":
            raise DeployError(f"{spec.name} could not be deleted ({final}); see its events: "
                              f"aws cloudformation describe-stack-events --stack-name "
                              f"{spec.name} --region {spec.region}")
        say(spec.name, "deleted")
    return kept


def written_by_steps(stacks: list[StackSpec], outputs: dict[str, dict]) -> list[Retained]:
    """Values after-deploy steps wrote outside any stack (the customers API key
    parameter): deleting the stack leaves them, so they are listed too. `outputs`
    (of the stacks before their deletion) names them where the manifest refers to one."""
    found = []
    for spec in stacks:
        for step in spec.after_deploy:
            for name, body in step.items():
                parameter = body.get("parameter") if name == "store_api_key" else None
                if isinstance(parameter, dict):
                    parameter = outputs.get(parameter["stack"], {}).get(parameter["output"])
                if parameter:
                    found.append(Retained(spec.name, f"after_deploy.{name}",
                                          "AWS::SSM::Parameter", parameter, spec.region))
    return found


def purge(cloud: Cloud, kept: list[Retained], say) -> None:
    """Delete retained data-holding resources (after the caller got consent)."""
    for item in kept:
        if item.resource_type == "AWS::DynamoDB::Table":
            cloud.client("dynamodb", item.region).delete_table(TableName=item.physical_id)
        elif item.resource_type == "AWS::S3::Bucket":
            cloud.empty_bucket(item.physical_id, item.region)
            cloud.client("s3", item.region).delete_bucket(Bucket=item.physical_id)
        elif item.resource_type == "AWS::Logs::LogGroup":
            cloud.client("logs", item.region).delete_log_group(logGroupName=item.physical_id)
        elif item.resource_type == "AWS::KMS::Key":
            cloud.client("kms", item.region).schedule_key_deletion(
                KeyId=item.physical_id, PendingWindowInDays=7)
        elif item.resource_type == "AWS::SSM::Parameter":
            ssm = cloud.client("ssm", item.region)
            with contextlib.suppress(ssm.exceptions.ParameterNotFound):
                ssm.delete_parameter(Name=item.physical_id)
        else:
            say(item.stack, f"kept {item.logical_id}: {item.command(_local(cloud))}")
            continue
        say(item.stack, f"purged {item.logical_id} ({item.physical_id})")


def _local(cloud: Cloud) -> str | None:
    """The local cloud's endpoint, for commands that must go there (None: AWS)."""
    return cloud.target.endpoint if cloud.target.local else None
