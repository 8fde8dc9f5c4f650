"""Cobrança's domain core: rules, data layer, adapters and the assistant, shared by every deployable."""
