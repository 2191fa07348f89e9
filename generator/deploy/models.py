"""Plans are data: what the deployer found and decided, as frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field

DATA_TYPES = frozenset({
    "AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable", "AWS::S3::Bucket", "AWS::KMS::Key",
    "AWS::Logs::LogGroup", "AWS::SSM::Parameter", "AWS::RDS::DBInstance", "AWS::RDS::DBCluster",
    "AWS::EFS::FileSystem", "AWS::SecretsManager::Secret", "AWS::SQS::Queue",
    "AWS::Kinesis::Stream", "AWS::OpenSearchService::Domain", "AWS::ECR::Repository",
    "AWS::Backup::BackupVault", "AWS::Cognito::UserPool"})
SECURITY_TYPES = frozenset({"AWS::IAM::Role", "AWS::IAM::Policy", "AWS::IAM::RolePolicy",
                            "AWS::IAM::ManagedPolicy", "AWS::IAM::User", "AWS::IAM::Group",
                            "AWS::S3::BucketPolicy", "AWS::KMS::Key", "AWS::Lambda::Permission",
                            "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy",
                            "AWS::ApiGateway::Account"})
HASH_TAG = "blueprint:hash"


@dataclass(frozen=True)
class StackState:
    """A deployed stack as CloudFormation describes it."""

    name: str
    status: str
    tags: dict = field(default_factory=dict)
    outputs: dict = field(default_factory=dict)

    @property
    def deployed_hash(self) -> str | None:
        return self.tags.get(HASH_TAG)


@dataclass(frozen=True)
class Change:
    """One row of a change set: what happens to one resource."""

    action: str            # Add | Modify | Remove | Import | Dynamic
    logical_id: str
    resource_type: str
    replacement: str       # True | False | Conditional | "" (for Add/Remove)
    properties: tuple[str, ...] = ()

    @property
    def holds_data(self) -> bool:
        return self.resource_type in DATA_TYPES

    @property
    def destroys(self) -> bool:
        """Would this change delete the resource as it is now (and its data)?"""
        return self.action == "Remove" or (self.action == "Modify"
                                           and self.replacement in ("True", "Conditional"))

    @property
    def is_security(self) -> bool:
        if self.resource_type not in SECURITY_TYPES or self.action == "Remove":
            return False
        if self.resource_type == "AWS::KMS::Key":
            return self.action == "Add" or "KeyPolicy" in self.properties
        return True


@dataclass(frozen=True)
class Decision:
    """What to do with one stack before any change set exists."""

    stack: str
    action: str            # skip | create | update | recreate | stop
    reason: str


@dataclass(frozen=True)
class Gate:
    """Whether a change set may be executed, and why not."""

    blocked: tuple[Change, ...]       # data-holding resources replaced or removed
    security: tuple[Change, ...]      # IAM and resource-policy additions or changes

    def blocked_unless_allowed(self, allowed: frozenset[str]) -> tuple[Change, ...]:
        return tuple(c for c in self.blocked if c.logical_id not in allowed)
