"""Remote consoles: ``get_console`` URLs, the console page, and the websocket that carries the guest's console."""
