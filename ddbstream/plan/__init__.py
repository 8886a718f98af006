"""Plans: what is deployed compared with what the spec asks for, before anything changes.

- ``model``: resources, changes, the plan and how it reads (Terraform's markers and summary).
- ``desired``: the spec's resources, built with provisioning's own functions.
- ``actual``: the deployed resources, read through the AWS APIs.
- ``diff``: the pure comparison. ``local``: the local target's plan and its apply.
- ``terraform``: a Terraform plan (``show -json``) read into the same model (aws target).
"""

from ddbstream.plan.model import Change, Plan, as_json, render

__all__ = ["Change", "Plan", "as_json", "render"]
