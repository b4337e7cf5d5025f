"""Reusable Pulumi components of the CRM platform, one concern per module."""
