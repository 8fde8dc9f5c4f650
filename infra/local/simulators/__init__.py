"""Loopback simulators of the outside services (CRM, Evolution API, Twilio REST, OpenAI), speaking
the real wire formats of SPEC §3. Used by the tests and by the local sandbox."""
