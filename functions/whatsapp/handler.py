"""Lambda entry points of the WhatsApp worker: outreach (first messages of a campaign) and inbound
(the assistant answering a customer). Each lives in its own module; this file names them for the
deployment (`functions.whatsapp.handler.outreach_handler` / `.inbound_handler`)."""

from functions.whatsapp.inbound import inbound_handler
from functions.whatsapp.outreach import outreach_handler
from shared.core.observability import install_log_masking

install_log_masking()

__all__ = ["inbound_handler", "outreach_handler"]
