"""Small helpers for writing CloudFormation intrinsics from builders."""

from __future__ import annotations

import re
from typing import Any

from troposphere import AWSHelperFn


class Intrinsic(AWSHelperFn):
    """A CloudFormation intrinsic function written out as its JSON form."""

    def __init__(self, data: Any) -> None:
        self.data = data


def ref(name: str) -> Intrinsic:
    return Intrinsic({"Ref": name})


def get_att(name: str, attribute: str) -> Intrinsic:
    return Intrinsic({"Fn::GetAtt": [name, attribute]})


def sub(text: str, **variables: Any) -> Intrinsic:
    return Intrinsic({"Fn::Sub": [text, variables] if variables else text})


def pascal(name: str) -> str:
    """'site-cert' or 'db_name' → 'SiteCert' / 'DbName' (for logical ids)."""
    return "".join(part.capitalize() for part in re.split(r"[-_]", name))
