"""The voice bridge: Twilio Media Streams ⇄ OpenAI Realtime, one `CallSession` per call.

- `twilio_codec` / `realtime_codec`: the two wire formats, pure (parse events, build messages);
- `session`: one call's loop (relay, playback tracking, barge-in, tools, transcript, end of call);
- `app`: the websocket server (`/media`, `/health`) with a graceful drain on SIGTERM;
- `settings`: the bridge's own settings (port, limits, voice tuning).
"""
