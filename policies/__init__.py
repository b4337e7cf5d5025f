"""The CRM platform's policy pack: rules in `policies.rules`, the pack itself in `__main__.py`."""
