"""Adapters of the ISP management systems ("ERPs de provedor") behind the `BillingSystem` port
(`shared.adapters.billing`): one module per system, each with a pure wire module (request bodies,
response parsing) kept apart from the HTTP calls. Adding a system is one new module here and one
simulator under `infra/local/simulators`, plus one line in `shared.adapters.clients.BILLING_SYSTEMS`.
`generic` wraps the SPEC's own CRM contract so it answers the same port."""
