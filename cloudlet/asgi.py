"""Import target for ASGI servers (``granian --interface asgi cloudlet.asgi:app``); settings come from env."""

from cloudlet.app import create_app

app = create_app()
