"""Blueprint YAML → reviewable, linted CloudFormation, deployed with change sets."""

__version__ = "0.1.0"
