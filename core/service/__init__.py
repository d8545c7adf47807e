"""The local speech service (`voicebank serve`): other programs on this computer speak in the
person's voice over HTTP on 127.0.0.1.

    security.py       the token, loopback-only Host/Origin, limits, the one-service lock
    engine.py         the engine process: loads voices once, keeps them warm, decodes every
                      caller's sentences in one running GPT batch (continuous batching,
                      core.runtime.batching) and vocodes finished ones in a second thread
    engine_client.py  the server's side of it: one owner, a queue limit, restart when it dies
    speech.py         what a request says (core.speak.utterance decides, as on the Speak page)
                      and the audio formats
    app.py            the HTTP endpoints (Starlette, served by uvicorn)
    cli.py            `voicebank serve`; bench.py: `python -m core.service.bench` (and
                      `python -m tools.service_bench`, which starts a service on throw-away models)
"""
