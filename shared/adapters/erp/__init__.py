"""Adapters of the ISP management systems ("ERP de provedor"), one module each, all answering the
billing-system port of `shared.adapters.billing`."""
