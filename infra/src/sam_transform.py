"""Runs the SAM transform offline, as CloudFormation would at deploy time.

Usage: python sam_transform.py TEMPLATE OUTPUT.json

Local CodeUris are replaced by s3:// URIs (what `sam package` would upload), so the
translator needs no build and no AWS account; AWS_DEFAULT_REGION must be set. Errors are
printed one a line on stderr and the exit status is 1.
"""

import json
import sys

from samtranslator.public.exceptions import InvalidDocumentException
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    """Roster names no AWS managed policy by name: any lookup is an error."""

    def load(self):
        return {}


def main():
    source, output = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = "s3://bucket/key"
    for resource in template.get("Resources", {}).values():
        if resource.get("Type") == "AWS::Serverless::Function":
            properties = resource.setdefault("Properties", {})
            if "CodeUri" in properties or "CodeUri" not in function_globals:
                properties["CodeUri"] = "s3://bucket/key"
    try:
        transformed = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as error:
        for cause in error.causes:
            print(cause.message, file=sys.stderr)
        sys.exit(1)
    with open(output, "w", encoding="utf-8") as f:
        json.dump(transformed, f, indent=1, sort_keys=True)


main()
