"""Code shared by the chat and upload Lambdas: settings, identity, key scheme, errors, HTTP glue."""
