"""Check infra/ against the AWS provider's own schema, offline (cdktf's prebuilt provider)."""
